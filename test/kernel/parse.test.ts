import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/errors.js';
import {
  lookupFlatKeyed,
  parseCount,
  parseFlatKeyed,
  parseLimit,
  parsePressure,
  readFlatKeyed,
} from '../../src/kernel/index.js';
import { headroomError } from '../helpers/errors.js';

/** Runs fn and returns what it threw, so tests can assert on the error's type and message together. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('parseLimit', () => {
  it('reads bytes, v2 "max" and the v1 unlimited number', () => {
    expect(parseLimit('536870912\n', 'memory.max')).toBe(536_870_912);
    expect(parseLimit('max\n', 'memory.max')).toBeNull();
    expect(parseLimit('9223372036854771712\n', 'memory.limit_in_bytes')).toBeNull();
    // 64 KiB pages round the v1 value down further; it is still "none".
    expect(parseLimit('9223372036854710272\n', 'memory.limit_in_bytes')).toBeNull();
    expect(parseLimit('0\n', 'memory.max')).toBe(0);
  });

  it('rejects garbage with an error naming the file', () => {
    const error = thrown(() => parseLimit('abc\n', '/sys/fs/cgroup/x/memory.max'));
    expect(error).toBeInstanceOf(HeadroomError);
    expect(error).toMatchObject({
      code: 'E_KERNEL_FILE',
      message: '/sys/fs/cgroup/x/memory.max: expected a number, found "abc"',
      details: { path: '/sys/fs/cgroup/x/memory.max' },
    });
    expect(() => parseLimit('', 'memory.max')).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => parseLimit('-1', 'memory.max')).toThrow(/memory\.max: expected a number/);
  });
});

describe('parseCount', () => {
  it('reads a counter and refuses "max"', () => {
    expect(parseCount('123456789\n', 'memory.current')).toBe(123_456_789);
    expect(() => parseCount('max\n', 'memory.current')).toThrow(
      /memory\.current: expected a number, found "max"/,
    );
  });

  it('shortens a long bad value in the message', () => {
    const error = thrown(() => parseCount('x'.repeat(200), 'memory.current')) as HeadroomError;
    expect(error.message).toBe(`memory.current: expected a number, found "${'x'.repeat(57)}..."`);
  });
});

describe('parseFlatKeyed', () => {
  it('reads memory.events and memory.oom_control', () => {
    const events = parseFlatKeyed(
      'low 0\nhigh 12\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n',
      'memory.events',
    );
    expect(Object.fromEntries(events)).toEqual({
      low: 0,
      high: 12,
      max: 7,
      oom: 2,
      oom_kill: 1,
      oom_group_kill: 0,
    });
    const oom = parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n', 'memory.oom_control');
    expect(oom.get('oom_kill')).toBe(3);
    expect(oom.get('under_oom')).toBe(0);
  });

  it('keeps 64-bit v1 values close enough to compare with 2^62', () => {
    const stat = parseFlatKeyed('hierarchical_memory_limit 9223372036854771712\n', 'memory.stat');
    expect(stat.get('hierarchical_memory_limit')).toBeGreaterThan(2 ** 62);
  });

  it('accepts a file without a final newline and an empty file', () => {
    expect(parseFlatKeyed('anon 4096', 'memory.stat').get('anon')).toBe(4096);
    expect(parseFlatKeyed('', 'memory.stat').size).toBe(0);
  });

  it('rejects a line without a value, naming the file and the line', () => {
    const error = thrown(() =>
      parseFlatKeyed('anon 4096\nfile\nshmem 0\n', '/cg/memory.stat'),
    ) as HeadroomError;
    expect(error).toMatchObject({ code: 'E_KERNEL_FILE', details: { path: '/cg/memory.stat' } });
    expect(error.message).toBe('/cg/memory.stat: expected "key value" lines, found "file"');
  });

  it('rejects a key followed by a space but no value', () => {
    expect(() => parseFlatKeyed('anon \nfile 0\n', '/cg/memory.stat')).toThrow(
      headroomError('E_KERNEL_FILE'),
    );
    expect(() => parseFlatKeyed('anon \nfile 0\n', '/cg/memory.stat')).toThrow(
      /\/cg\/memory\.stat: bad value in line "anon "/,
    );
  });

  it('rejects a non-numeric value', () => {
    expect(() => parseFlatKeyed('anon lots\n', '/cg/memory.stat')).toThrow(
      /\/cg\/memory\.stat: bad value in line "anon lots"/,
    );
  });
});

describe('parsePressure', () => {
  it('reads "some" and "full" lines', () => {
    const text =
      'some avg10=1.53 avg60=0.87 avg300=0.22 total=3518120\nfull avg10=0.40 avg60=0.11 avg300=0.02 total=902311\n';
    expect(parsePressure(text, 'memory.pressure')).toEqual({
      some: { avg10: 1.53, avg60: 0.87, avg300: 0.22, total: 3_518_120 },
      full: { avg10: 0.4, avg60: 0.11, avg300: 0.02, total: 902_311 },
    });
  });

  it('allows a file with "some" alone (system-wide cpu.pressure on old kernels)', () => {
    expect(parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', 'cpu.pressure')).toEqual({
      some: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
    });
  });

  it('rejects a malformed or missing "some" line', () => {
    expect(() =>
      parsePressure('some avg10=x avg60=0.00 avg300=0.00 total=0\n', '/cg/memory.pressure'),
    ).toThrow(/\/cg\/memory\.pressure: bad PSI line/);
    expect(() =>
      parsePressure('full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', '/cg/memory.pressure'),
    ).toThrow('/cg/memory.pressure: no "some" line');
    expect(() => parsePressure('', '/cg/memory.pressure')).toThrow(headroomError('E_KERNEL_FILE'));
  });
});

describe('lookupFlatKeyed (the fast path of a cgroup read)', () => {
  const stat = 'cache 8192\nrss 4096\ntotal_cache 12288\ntotal_rss 4096\ntotal_dirty 0\n';

  it('finds the same values as parseFlatKeyed, at the start of the text and after it', () => {
    const full = parseFlatKeyed(stat, 'memory.stat');
    const fast = lookupFlatKeyed(stat, 'memory.stat');
    for (const key of ['cache', 'rss', 'total_cache', 'total_rss', 'total_dirty']) {
      expect(fast.get(key)).toBe(full.get(key));
      expect(fast.has(key)).toBe(true);
    }
    // "rss" must not match inside "total_rss", nor "cache" inside "total_cache".
    expect(lookupFlatKeyed('total_rss 7\n', 'memory.stat').get('rss')).toBeUndefined();
    expect(fast.get('swap')).toBeUndefined();
    expect(fast.has('swap')).toBe(false);
  });

  it('a looked-up value that is not a number is an E_KERNEL_FILE error naming the file', () => {
    expect(() => lookupFlatKeyed('anon 12x\n', 'memory.stat').get('anon')).toThrow(
      'memory.stat: bad value for "anon"',
    );
    expect(() => lookupFlatKeyed('anon \nfile 1\n', 'memory.stat').get('anon')).toThrow(
      headroomError('E_KERNEL_FILE'),
    );
  });

  it('readFlatKeyed checks every line on full reads only', () => {
    expect(() => readFlatKeyed('anon 1\nfile\n', 'memory.stat', true)).toThrow(
      headroomError('E_KERNEL_FILE'),
    );
    expect(readFlatKeyed('anon 1\nfile\n', 'memory.stat', false).get('anon')).toBe(1);
  });
});
