import { afterEach, describe, expect, it } from 'vitest';
import { readHostMemory } from '../../src/kernel/index.js';
import { type FixtureHost, fixtureHost, meminfo } from '../fixtures/cgroup-tree.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

describe('readHostMemory', () => {
  it('reads MemTotal, MemAvailable and swap from /proc/meminfo in bytes', () => {
    fixture = fixtureHost();
    fixture.write(
      '/proc/meminfo',
      meminfo({ MemTotal: 8_000_000, MemAvailable: 5_000_000, SwapTotal: 1_000_000, SwapFree: 250_000 }),
    );
    expect(readHostMemory(fixture.host)).toEqual({
      total: 8_000_000 * 1024,
      available: 5_000_000 * 1024,
      swapTotal: 1_000_000 * 1024,
      swapFree: 250_000 * 1024,
    });
  });

  it('a missing /proc/meminfo is an error naming it', () => {
    const f = fixtureHost();
    fixture = f;
    f.remove('/proc/meminfo');
    expect(() => readHostMemory(f.host)).toThrow(`${f.root}/proc/meminfo: does not exist`);
  });

  it('a line it reads with no number is an error naming the file', () => {
    const f = fixtureHost();
    fixture = f;
    f.write('/proc/meminfo', 'MemTotal:       8000000 kB\nMemAvailable:   kB\n');
    expect(() => readHostMemory(f.host)).toThrow(`${f.root}/proc/meminfo: bad value for "MemAvailable"`);
  });

  it('a figure followed by anything but its unit is an error, as the whole-file parse had it', () => {
    const f = fixtureHost();
    fixture = f;
    for (const value of ['12abc kB', '1.5 kB']) {
      f.write('/proc/meminfo', `MemTotal:       ${value}\n`);
      expect(() => readHostMemory(f.host)).toThrow(`${f.root}/proc/meminfo: bad value for "MemTotal"`);
    }
    f.write('/proc/meminfo', 'MemTotal: 7');
    expect(readHostMemory(f.host).total).toBe(7 * 1024);
  });

  it('a line that is not there counts as 0, whichever line comes first', () => {
    const f = fixtureHost();
    fixture = f;
    f.write('/proc/meminfo', 'SwapFree:  12 kB\nMemTotal:\t 3 kB\n');
    expect(readHostMemory(f.host)).toEqual({
      total: 3 * 1024,
      available: 0,
      swapTotal: 0,
      swapFree: 12 * 1024,
    });
  });

  it('reads the real machine', () => {
    const memory = readHostMemory();
    expect(memory.total).toBeGreaterThan(64 * 1024 * 1024);
    expect(memory.available).toBeGreaterThan(0);
    expect(memory.available).toBeLessThanOrEqual(memory.total);
    expect(memory.swapFree).toBeLessThanOrEqual(memory.swapTotal);
  });
});
