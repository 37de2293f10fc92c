import { afterEach, describe, expect, it } from 'vitest';
import {
  describeLimitSource,
  effectiveLimit,
  locateMemoryCgroup,
  type MemoryCgroup,
} from '../../src/kernel/index.js';
import { type FixtureHost, GiB, MiB, V1_UNLIMITED, v1Tree, v2Tree } from '../fixtures/cgroup-tree.js';
import { headroomError } from '../helpers/errors.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

function located(f: FixtureHost): MemoryCgroup {
  fixture = f;
  const result = locateMemoryCgroup('self', f.host);
  if (!result.ok) throw new Error(`expected a cgroup, got ${result.code}`);
  return result.cgroup;
}

describe('effectiveLimit on cgroup v2', () => {
  it('picks a parent limit lower than the leaf, with its depth and path', () => {
    const cgroup = located(
      v2Tree(
        {
          '/kubepods': { 'memory.max': 8 * GiB },
          '/kubepods/pod1': { 'memory.max': 512 * MiB },
          '/kubepods/pod1/c1': { 'memory.max': GiB },
        },
        { self: '/kubepods/pod1/c1' },
      ),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(512 * MiB);
    expect(limit.source).toEqual({ version: 2, path: '/kubepods/pod1', depth: 1, file: 'memory.max' });
    expect(describeLimitSource(limit.source)).toBe('memory.max of /kubepods/pod1 (parent, cgroup v2)');
    expect(limit.levels.map((l) => [l.path, l.depth, l.limit])).toEqual([
      ['/kubepods/pod1/c1', 0, GiB],
      ['/kubepods/pod1', 1, 512 * MiB],
      ['/kubepods', 2, 8 * GiB],
      ['/', 3, null],
    ]);
    expect(limit.ancestorsHidden).toBe(false);
  });

  it('a leaf limit lower than its ancestors is its own', () => {
    const cgroup = located(
      v2Tree({ '/a': { 'memory.max': GiB }, '/a/b': { 'memory.max': 100 * MiB } }, { self: '/a/b' }),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(100 * MiB);
    expect(limit.source).toEqual({ version: 2, path: '/a/b', depth: 0, file: 'memory.max' });
    expect(describeLimitSource(limit.source)).toBe('memory.max of /a/b (this cgroup, cgroup v2)');
  });

  it('"max" everywhere is no limit', () => {
    const limit = effectiveLimit(located(v2Tree({ '/a/b/c': {} }, { self: '/a/b/c' })));
    expect(limit.bytes).toBeNull();
    expect(limit.source).toBeNull();
    expect(limit.high).toBeNull();
    expect(limit.swapBytes).toBeNull();
    expect(describeLimitSource(limit.source)).toBe('no limit set');
  });

  it('memory.high and memory.swap.max are the lowest over the ancestors', () => {
    const cgroup = located(
      v2Tree(
        {
          '/a': { 'memory.high': 300 * MiB, 'memory.swap.max': 0 },
          '/a/b': { 'memory.high': 600 * MiB, 'memory.swap.max': 'max' },
          '/a/b/c': { 'memory.max': 400 * MiB, 'memory.swap.max': 64 * MiB },
        },
        { self: '/a/b/c' },
      ),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(400 * MiB);
    expect(limit.high).toBe(300 * MiB);
    expect(limit.swapBytes).toBe(0);
  });

  it('an ancestor above a bind mount is hidden and says so', () => {
    const cgroup = located(
      v2Tree(
        { '/': { 'memory.max': 2 * GiB }, '/c1': { 'memory.max': 'max' } },
        { self: '/kubepods/pod1/c1', mountRoot: '/kubepods/pod1' },
      ),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(2 * GiB);
    expect(limit.source).toEqual({ version: 2, path: '/kubepods/pod1', depth: 1, file: 'memory.max' });
    expect(limit.levels.map((l) => l.path)).toEqual(['/kubepods/pod1/c1', '/kubepods/pod1']);
    expect(limit.ancestorsHidden).toBe(true);
  });

  it('inside a cgroup namespace reads the namespace root and stops there', () => {
    const cgroup = located(v2Tree({ '/': { 'memory.max': 256 * MiB } }, { self: '/', namespaced: true }));
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(256 * MiB);
    expect(limit.levels).toHaveLength(1);
    expect(limit.source).toEqual({ version: 2, path: '/', depth: 0, file: 'memory.max' });
    expect(limit.ancestorsHidden).toBe(true);
  });

  it('a malformed memory.max is an E_KERNEL_FILE error naming the file', () => {
    const f = v2Tree({ '/a': { 'memory.max': 'abc' }, '/a/b': {} }, { self: '/a/b' });
    const cgroup = located(f);
    expect(() => effectiveLimit(cgroup)).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => effectiveLimit(cgroup)).toThrow(
      `${f.cgroupDir('/a')}/memory.max: expected a number, found "abc"`,
    );
  });
});

describe('effectiveLimit on cgroup v1', () => {
  it('the unlimited number everywhere is no limit', () => {
    const limit = effectiveLimit(located(v1Tree({ '/user.slice': {} }, { self: '/user.slice' })));
    expect(limit.bytes).toBeNull();
    expect(limit.source).toBeNull();
    expect(limit.swapBytes).toBeNull();
    expect(limit.high).toBeNull();
  });

  it('a visible parent limit is found by walking up', () => {
    const cgroup = located(
      v1Tree({ '/batch': { 'memory.limit_in_bytes': GiB }, '/batch/job': {} }, { self: '/batch/job' }),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(GiB);
    expect(limit.source).toEqual({ version: 1, path: '/batch', depth: 1, file: 'memory.limit_in_bytes' });
  });

  it('hierarchical_memory_limit lower than anything visible comes from an ancestor above the mount', () => {
    const cgroup = located(
      v1Tree(
        {
          '/': {
            'memory.limit_in_bytes': V1_UNLIMITED,
            'memory.stat': { hierarchical_memory_limit: 768 * MiB, hierarchical_memsw_limit: GiB },
          },
        },
        { self: '/docker/abc', mountRoot: '/docker/abc', readOnly: true },
      ),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(768 * MiB);
    expect(limit.source).toEqual({
      version: 1,
      path: undefined,
      depth: undefined,
      file: 'hierarchical_memory_limit',
    });
    expect(describeLimitSource(limit.source)).toBe(
      'hierarchical_memory_limit (an ancestor above the visible hierarchy, cgroup v1)',
    );
    expect(limit.swapBytes).toBe(256 * MiB);
    expect(limit.ancestorsHidden).toBe(true);
  });

  it('memsw gives the swap on top of the memory limit', () => {
    const cgroup = located(
      v1Tree(
        { '/job': { 'memory.limit_in_bytes': 512 * MiB, 'memory.memsw.limit_in_bytes': 640 * MiB } },
        { self: '/job' },
      ),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(512 * MiB);
    expect(limit.source?.path).toBe('/job');
    expect(limit.swapBytes).toBe(128 * MiB);
    expect(limit.levels[0]).toEqual({
      path: '/job',
      depth: 0,
      limit: 512 * MiB,
      high: null,
      swapFileLimit: 640 * MiB,
    });
  });

  it('equal memory and memsw limits mean no swap', () => {
    const cgroup = located(
      v1Tree(
        { '/job': { 'memory.limit_in_bytes': 512 * MiB, 'memory.memsw.limit_in_bytes': 512 * MiB } },
        { self: '/job' },
      ),
    );
    expect(effectiveLimit(cgroup).swapBytes).toBe(0);
  });

  it('without swap accounting there is no swap figure', () => {
    const cgroup = located(
      v1Tree({ '/job': { 'memory.limit_in_bytes': 512 * MiB } }, { self: '/job', swapAccounting: false }),
    );
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(512 * MiB);
    expect(limit.swapBytes).toBeNull();
  });

  it('a missing memory.stat is an E_KERNEL_FILE error naming it', () => {
    const f = v1Tree({ '/job': { 'memory.stat': null } }, { self: '/job' });
    const cgroup = located(f);
    expect(() => effectiveLimit(cgroup)).toThrow(`${f.cgroupDir('/job')}/memory.stat: does not exist`);
  });
});
