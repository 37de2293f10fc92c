import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createChildCgroup,
  locateMemoryCgroup,
  type MemoryCgroup,
  removeCgroup,
  withSwapDefault,
  writeCgroupFile,
} from '../../src/kernel/index.js';
import { type FixtureHost, MiB, v1Tree, v2Tree } from '../fixtures/cgroup-tree.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  fixture?.cleanup();
  fixture = undefined;
});

function located(f: FixtureHost): MemoryCgroup {
  fixture = f;
  const result = locateMemoryCgroup('self', f.host);
  if (!result.ok) throw new Error(`expected a cgroup, got ${result.code}`);
  return result.cgroup;
}

function read(file: string): string {
  return fs.readFileSync(file, 'latin1');
}

describe('createChildCgroup', () => {
  it('refuses on a read-only mount with a reason, without throwing or creating anything', () => {
    const parent = located(v2Tree({ '/c1': {} }, { self: '/c1', readOnly: true }));
    const result = createChildCgroup(parent, 'job', { memory: 64 * MiB });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/read-only/);
    expect(fs.existsSync(path.join(parent.dir, 'job'))).toBe(false);
  });

  it('refuses a read-only v1 mount too', () => {
    const parent = located(v1Tree({}, { self: '/docker/abc', mountRoot: '/docker/abc', readOnly: true }));
    const result = createChildCgroup(parent, 'job', {});
    expect(result).toEqual({
      ok: false,
      reason: `the cgroup hierarchy at ${parent.mountDir} is mounted read-only`,
    });
  });

  it('v2: enables memory for children, then writes memory.max and memory.swap.max (swap = memorySwap - memory)', () => {
    const parent = located(v2Tree({ '/user.slice/headroom': {} }, { self: '/user.slice/headroom' }));
    const result = createChildCgroup(parent, 'job-1', { memory: 64 * MiB, memorySwap: 96 * MiB });
    if (!result.ok) throw new Error(result.reason);
    expect(result.cgroup).toEqual({
      ...parent,
      path: '/user.slice/headroom/job-1',
      dir: path.join(parent.dir, 'job-1'),
      readOnly: false,
    });
    expect(read(path.join(parent.dir, 'cgroup.subtree_control'))).toBe('+memory');
    expect(read(path.join(result.cgroup.dir, 'memory.max'))).toBe(String(64 * MiB));
    expect(read(path.join(result.cgroup.dir, 'memory.swap.max'))).toBe(String(32 * MiB));
  });

  it('v2: unlimited swap is "max"; no limits writes nothing', () => {
    const parent = located(v2Tree({ '/p': { 'cgroup.subtree_control': 'cpu memory' } }, { self: '/p' }));
    const unlimited = createChildCgroup(parent, 'a', { memory: 64 * MiB, memorySwap: null });
    if (!unlimited.ok) throw new Error(unlimited.reason);
    expect(read(path.join(unlimited.cgroup.dir, 'memory.swap.max'))).toBe('max');
    // Already delegated: the parent's file is left alone.
    expect(read(path.join(parent.dir, 'cgroup.subtree_control'))).toBe('cpu memory\n');
    const bare = createChildCgroup(parent, 'b', {});
    if (!bare.ok) throw new Error(bare.reason);
    expect(fs.readdirSync(bare.cgroup.dir)).toEqual([]);
  });

  it('v2: a parent holding processes cannot delegate (EBUSY) and the reason says why', () => {
    const parent = located(v2Tree({ '/app': {} }, { self: '/app' }));
    const writeFileSync = fs.writeFileSync;
    vi.spyOn(fs, 'writeFileSync').mockImplementation(((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (String(file).endsWith('cgroup.subtree_control')) {
        throw Object.assign(new Error('EBUSY: resource busy'), { code: 'EBUSY' });
      }
      return (writeFileSync as (file: fs.PathOrFileDescriptor, ...args: unknown[]) => void)(file, ...rest);
    }) as typeof fs.writeFileSync);
    const result = createChildCgroup(parent, 'job', { memory: 64 * MiB });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(
        `cannot enable the memory controller for children of ${parent.dir}: it holds processes (cgroup v2 "no internal processes" rule)`,
      );
    }
    expect(fs.existsSync(path.join(parent.dir, 'job'))).toBe(false);
  });

  it('an existing name fails with a reason naming the directory', () => {
    const parent = located(
      v2Tree({ '/p': { 'cgroup.subtree_control': 'memory' }, '/p/job': {} }, { self: '/p' }),
    );
    const result = createChildCgroup(parent, 'job', {});
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.reason).toMatch(new RegExp(`^cannot create ${path.join(parent.dir, 'job')}: `));
  });

  it('v1: writes memory.limit_in_bytes', () => {
    const parent = located(v1Tree({ '/batch': {} }, { self: '/batch' }));
    const result = createChildCgroup(parent, 'job', { memory: 64 * MiB });
    if (!result.ok) throw new Error(result.reason);
    expect(result.cgroup.path).toBe('/batch/job');
    expect(result.cgroup.version).toBe(1);
    expect(read(path.join(result.cgroup.dir, 'memory.limit_in_bytes'))).toBe('67108864');
  });

  it('v1 without swap accounting refuses a swap limit and removes the half-made cgroup', () => {
    const parent = located(v1Tree({ '/batch': {} }, { self: '/batch', swapAccounting: false }));
    const result = createChildCgroup(parent, 'job', { memory: 64 * MiB, memorySwap: 128 * MiB });
    expect(result).toEqual({
      ok: false,
      reason: 'this kernel has no swap accounting (memory.memsw.*), so --memory-swap cannot be applied',
    });
    expect(fs.existsSync(path.join(parent.dir, 'job'))).toBe(false);
  });

  it('v1 without swap accounting accepts "unlimited swap", which is what it has anyway', () => {
    const parent = located(v1Tree({ '/batch': {} }, { self: '/batch', swapAccounting: false }));
    const result = createChildCgroup(parent, 'job', { memory: 64 * MiB, memorySwap: null });
    expect(result.ok).toBe(true);
  });
});

describe('writeCgroupFile and removeCgroup', () => {
  it('a failed write names the file and the value', () => {
    const cgroup = located(v2Tree({ '/p': {} }, { self: '/p' }));
    const missing = { dir: path.join(cgroup.dir, 'gone') };
    expect(() => writeCgroupFile(missing, 'memory.max', '1024')).toThrow(
      `cannot write 1024 to ${path.join(missing.dir, 'memory.max')}: does not exist`,
    );
  });

  it('an absent cgroup counts as removed; a directory that cannot be removed is false, quickly', () => {
    const cgroup = located(v2Tree({ '/p': {} }, { self: '/p' }));
    expect(removeCgroup(path.join(cgroup.dir, 'never-made'))).toBe(true);
    // A plain directory with files gives ENOTEMPTY, which no retry fixes.
    const started = Date.now();
    expect(removeCgroup(cgroup.dir)).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('withSwapDefault', () => {
  it("gives swap docker's default with --memory alone, and keeps what was asked otherwise", () => {
    expect(withSwapDefault({ memory: 64 * MiB })).toEqual({ memory: 64 * MiB, memorySwap: 128 * MiB });
    expect(withSwapDefault({ memory: 64 * MiB, memorySwap: 64 * MiB })).toEqual({
      memory: 64 * MiB,
      memorySwap: 64 * MiB,
    });
    expect(withSwapDefault({ memory: 64 * MiB, memorySwap: null })).toEqual({
      memory: 64 * MiB,
      memorySwap: null,
    });
    expect(withSwapDefault({})).toEqual({});
  });
});
