import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CgroupReader,
  effectiveLimit,
  isRootCgroup,
  locateMemoryCgroup,
  type MemoryCgroup,
  openCgroupReader,
} from '../../src/kernel/index.js';
import {
  type FixtureHost,
  GiB,
  MiB,
  meminfo,
  V1_UNLIMITED,
  v1Tree,
  v2Tree,
  vmstat,
} from '../fixtures/cgroup-tree.js';
import { headroomError } from '../helpers/errors.js';

let fixture: FixtureHost | undefined;
let reader: CgroupReader | undefined;
afterEach(() => {
  reader?.close();
  reader = undefined;
  fixture?.cleanup();
  fixture = undefined;
  vi.restoreAllMocks();
});

function located(f: FixtureHost): MemoryCgroup {
  fixture = f;
  const result = locateMemoryCgroup('self', f.host);
  if (!result.ok) throw new Error(`expected a cgroup, got ${result.code}`);
  return result.cgroup;
}

function open(cgroup: MemoryCgroup): CgroupReader {
  reader = openCgroupReader(cgroup);
  return reader;
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Makes reads of one kernel file fail with an errno, as the kernel does for some files. */
function failReadsOf(fileName: string, code: string): void {
  const readSync = fs.readSync;
  vi.spyOn(fs, 'readSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
    if (fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith(`/${fileName}`)) {
      throw Object.assign(new Error(`${code}: simulated`), { code });
    }
    return (readSync as (fd: number, ...args: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.readSync);
}

const PSI =
  'some avg10=2.50 avg60=1.25 avg300=0.40 total=81234567\nfull avg10=1.00 avg60=0.50 avg300=0.10 total=40000000\n';

describe('v2 reader', () => {
  const stat = {
    anon: 300 * MiB,
    file: 200 * MiB,
    kernel: 12 * MiB,
    kernel_stack: MiB,
    pagetables: 2 * MiB,
    sock: 3 * MiB,
    shmem: 50 * MiB,
    file_mapped: 20 * MiB,
    file_dirty: 8 * MiB,
    file_writeback: 4 * MiB,
    active_file: 120 * MiB,
    inactive_file: 80 * MiB,
    slab_reclaimable: 5 * MiB,
    slab_unreclaimable: 3 * MiB,
  };

  it('reads the full sample', () => {
    const cgroup = located(
      v2Tree(
        {
          '/job': {
            'memory.current': 520 * MiB,
            'memory.max': GiB,
            'memory.high': 900 * MiB,
            'memory.swap.max': 256 * MiB,
            'memory.swap.current': 16 * MiB,
            'memory.peak': 700 * MiB,
            'memory.stat': stat,
            'memory.events': { low: 0, high: 14, max: 9, oom: 3, oom_kill: 2, oom_group_kill: 0 },
            'memory.pressure': PSI,
          },
        },
        { self: '/job' },
      ),
    );
    expect(open(cgroup).read()).toEqual({
      usage: 520 * MiB,
      limit: GiB,
      high: 900 * MiB,
      swapLimit: 256 * MiB,
      anon: 300 * MiB,
      // v2 "file" includes tmpfs/shm; the model keeps shmem apart.
      file: 150 * MiB,
      activeFile: 120 * MiB,
      inactiveFile: 80 * MiB,
      fileDirty: 8 * MiB,
      fileWriteback: 4 * MiB,
      shmem: 50 * MiB,
      // "kernel" leaves out socket buffers, which the model counts as kernel memory.
      kernel: 15 * MiB,
      swap: 16 * MiB,
      workingSet: 440 * MiB,
      oomKills: 2,
      limitHits: 9,
      highHits: 14,
      peak: 700 * MiB,
      underOom: false,
      pressure: {
        some: { avg10: 2.5, avg60: 1.25, avg300: 0.4, total: 81_234_567 },
        full: { avg10: 1, avg60: 0.5, avg300: 0.1, total: 40_000_000 },
      },
    });
  });

  it('"max" limits are null', () => {
    const sample = open(located(v2Tree({ '/job': {} }, { self: '/job' }))).read();
    expect(sample.limit).toBeNull();
    expect(sample.high).toBeNull();
    expect(sample.swapLimit).toBeNull();
  });

  it('before 5.18 (no "kernel" key) sums the parts', () => {
    const { kernel: _, ...older } = stat;
    const f = v2Tree({ '/job': {} }, { self: '/job' });
    // Replaces the whole file: the defaults include "kernel".
    f.write(
      '/sys/fs/cgroup/job/memory.stat',
      Object.entries({ ...older, percpu: MiB / 2, vmalloc: MiB / 4 })
        .map(([k, v]) => `${k} ${v}\n`)
        .join(''),
    );
    const sample = open(located(f)).read();
    // kernel_stack + pagetables + percpu + vmalloc + sock + slab_reclaimable + slab_unreclaimable
    expect(sample.kernel).toBe(MiB + 2 * MiB + MiB / 2 + MiB / 4 + 3 * MiB + 5 * MiB + 3 * MiB);
  });

  it('before 5.19 (no memory.peak) peak is null', () => {
    const sample = open(located(v2Tree({ '/job': { 'memory.peak': null } }, { self: '/job' }))).read();
    expect(sample.peak).toBeNull();
  });

  it('without PSI files or swap files reads no pressure and no swap', () => {
    const cgroup = located(
      v2Tree(
        {
          '/job': {
            'memory.pressure': null,
            'memory.swap.max': null,
            'memory.swap.current': null,
            'memory.high': null,
          },
        },
        { self: '/job' },
      ),
    );
    const sample = open(cgroup).read();
    expect(sample.pressure).toBeUndefined();
    expect(sample.swap).toBe(0);
    expect(sample.swapLimit).toBeNull();
    expect(sample.high).toBeNull();
  });

  it('a kernel booted with psi=0 has memory.pressure but refuses reads (EOPNOTSUPP): no pressure, no error', () => {
    const cgroup = located(v2Tree({ '/job': { 'memory.current': 4096 } }, { self: '/job' }));
    failReadsOf('memory.pressure', 'EOPNOTSUPP');
    const sample = open(cgroup).read();
    expect(sample.usage).toBe(4096);
    expect(sample.pressure).toBeUndefined();
  });

  it('re-reads through the kept-open files', () => {
    const f = v2Tree({ '/job': { 'memory.current': MiB } }, { self: '/job' });
    const r = open(located(f));
    expect(r.read().usage).toBe(MiB);
    f.write('/sys/fs/cgroup/job/memory.current', `${5 * MiB}\n`);
    f.write(
      '/sys/fs/cgroup/job/memory.events',
      'low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n',
    );
    const sample = r.read();
    expect(sample.usage).toBe(5 * MiB);
    expect(sample.oomKills).toBe(1);
    // usage alone, parsed from the bytes: a shorter number than the last read leaves no digits behind
    f.write('/sys/fs/cgroup/job/memory.current', '9\n');
    expect(r.readUsage()).toBe(9);
    f.write('/sys/fs/cgroup/job/memory.current', '123456789012\n');
    expect(r.readUsage()).toBe(123_456_789_012);
  });

  it('workingSet never goes below zero', () => {
    const cgroup = located(
      v2Tree(
        { '/job': { 'memory.current': MiB, 'memory.stat': { inactive_file: 2 * MiB } } },
        { self: '/job' },
      ),
    );
    expect(open(cgroup).read().workingSet).toBe(0);
  });

  it('a missing memory.current is an E_KERNEL_FILE error naming it, and leaks no descriptors', () => {
    const f = v2Tree({ '/job': { 'memory.current': null } }, { self: '/job' });
    const cgroup = located(f);
    const before = openFds();
    expect(() => openCgroupReader(cgroup)).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => openCgroupReader(cgroup)).toThrow(`${f.cgroupDir('/job')}/memory.current: does not exist`);
    expect(openFds()).toBe(before);
  });

  it('a required file missing after the first ones opened leaks no descriptors', () => {
    const cgroup = located(v2Tree({ '/job': { 'memory.events': null } }, { self: '/job' }));
    const before = openFds();
    expect(() => openCgroupReader(cgroup)).toThrow(/memory\.events: does not exist/);
    expect(openFds()).toBe(before);
  });

  it('a memory.stat line without a value is an E_KERNEL_FILE error naming memory.stat', () => {
    const f = v2Tree({ '/job': { 'memory.stat': 'anon 4096\nfile\n' } }, { self: '/job' });
    const r = open(located(f));
    expect(() => r.read()).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => r.read()).toThrow(
      `${f.cgroupDir('/job')}/memory.stat: expected "key value" lines, found "file"`,
    );
  });

  it('a malformed memory.current or memory.max is an E_KERNEL_FILE error naming it', () => {
    const f = v2Tree({ '/a': { 'memory.current': 'lots' }, '/b': { 'memory.max': 'abc' } }, { self: '/a' });
    const a = open(located(f));
    expect(() => a.read()).toThrow(`${f.cgroupDir('/a')}/memory.current: expected a number, found "lots"`);
    expect(() => a.readUsage()).toThrow(
      `${f.cgroupDir('/a')}/memory.current: expected a number, found "lots"`,
    );
    a.close();
    reader = openCgroupReader({ version: 2, dir: f.cgroupDir('/b') });
    expect(() => reader?.read()).toThrow(`${f.cgroupDir('/b')}/memory.max: expected a number, found "abc"`);
  });

  it('a cgroup removed under the reader is an E_KERNEL_FILE error saying so', () => {
    const cgroup = located(v2Tree({ '/job': {} }, { self: '/job' }));
    const r = open(cgroup);
    // kernfs answers reads of a removed cgroup's open files with ENODEV.
    failReadsOf('memory.stat', 'ENODEV');
    expect(() => r.read()).toThrow(/memory\.stat: cgroup was removed/);
  });
});

describe('v1 reader', () => {
  it('uses the hierarchical total_* counters, failcnt, max_usage, memsw, kmem and oom_control', () => {
    const cgroup = located(
      v1Tree(
        {
          '/job': {
            'memory.usage_in_bytes': 600 * MiB,
            'memory.max_usage_in_bytes': 800 * MiB,
            'memory.limit_in_bytes': GiB,
            'memory.memsw.limit_in_bytes': GiB + 256 * MiB,
            'memory.failcnt': 42,
            'memory.kmem.usage_in_bytes': 7 * MiB,
            'memory.oom_control': { oom_kill_disable: 0, under_oom: 0, oom_kill: 3 },
            'memory.stat': {
              // Local counters cover this cgroup alone; children the job made show only in total_*.
              cache: MiB,
              rss: MiB,
              shmem: 0,
              total_cache: 250 * MiB,
              total_rss: 330 * MiB,
              total_shmem: 40 * MiB,
              total_dirty: 6 * MiB,
              total_writeback: 2 * MiB,
              total_swap: 10 * MiB,
              total_active_file: 150 * MiB,
              total_inactive_file: 60 * MiB,
            },
          },
        },
        { self: '/job' },
      ),
    );
    expect(open(cgroup).read()).toEqual({
      usage: 600 * MiB,
      limit: GiB,
      high: null,
      swapLimit: 256 * MiB,
      anon: 330 * MiB,
      file: 210 * MiB,
      activeFile: 150 * MiB,
      inactiveFile: 60 * MiB,
      fileDirty: 6 * MiB,
      fileWriteback: 2 * MiB,
      shmem: 40 * MiB,
      kernel: 7 * MiB,
      swap: 10 * MiB,
      workingSet: 540 * MiB,
      oomKills: 3,
      limitHits: 42,
      highHits: 0,
      peak: 800 * MiB,
      underOom: false,
    });
  });

  it('the unlimited number reads as no limit, and under_oom 1 as underOom', () => {
    const cgroup = located(
      v1Tree(
        {
          '/job': {
            'memory.limit_in_bytes': V1_UNLIMITED,
            'memory.oom_control': { oom_kill_disable: 1, under_oom: 1, oom_kill: 0 },
          },
        },
        { self: '/job' },
      ),
    );
    const sample = open(cgroup).read();
    expect(sample.limit).toBeNull();
    expect(sample.swapLimit).toBeNull();
    expect(sample.underOom).toBe(true);
    expect(sample.oomKills).toBe(0);
  });

  it('without swap accounting or kmem files reads no swap limit and zero kernel', () => {
    const cgroup = located(
      v1Tree(
        { '/job': { 'memory.limit_in_bytes': GiB, 'memory.kmem.usage_in_bytes': null } },
        { self: '/job', swapAccounting: false },
      ),
    );
    const sample = open(cgroup).read();
    expect(sample.limit).toBe(GiB);
    expect(sample.swapLimit).toBeNull();
    expect(sample.kernel).toBe(0);
  });

  it('limit hits include memsw.failcnt: with memsw = memory the charge fails there first', () => {
    const cgroup = located(
      v1Tree(
        {
          '/job': {
            'memory.limit_in_bytes': GiB,
            'memory.memsw.limit_in_bytes': GiB,
            'memory.failcnt': 2,
            'memory.memsw.failcnt': 5,
          },
        },
        { self: '/job' },
      ),
    );
    const sample = open(cgroup).read();
    expect(sample.limitHits).toBe(7);
    expect(sample.swapLimit).toBe(0);
  });

  it('an old kernel without oom_kill in oom_control reads zero kills', () => {
    const cgroup = located(
      v1Tree({ '/job': { 'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n' } }, { self: '/job' }),
    );
    expect(open(cgroup).read().oomKills).toBe(0);
  });

  it('a missing memory.failcnt is an E_KERNEL_FILE error naming it', () => {
    const f = v1Tree({ '/job': { 'memory.failcnt': null } }, { self: '/job' });
    const cgroup = located(f);
    expect(() => openCgroupReader(cgroup)).toThrow(`${f.cgroupDir('/job')}/memory.failcnt: does not exist`);
  });

  it('a malformed memory.oom_control is an E_KERNEL_FILE error naming it', () => {
    const f = v1Tree(
      { '/job': { 'memory.oom_control': 'oom_kill_disable 0\nunder_oom\n' } },
      { self: '/job' },
    );
    const r = open(located(f));
    expect(() => r.read()).toThrow(
      `${f.cgroupDir('/job')}/memory.oom_control: expected "key value" lines, found "under_oom"`,
    );
  });
});

/**
 * The v2 root has none of memory.current, memory.max, memory.events, memory.peak, memory.swap.*
 * (Documentation/admin-guide/cgroup-v2.rst: "exists on non-root cgroups"); its subtree is the machine, so
 * its figures are the machine's, from /proc/meminfo and /proc/vmstat (proc(5)).
 */
describe('v2 root reader', () => {
  const KiB = 1024;
  const info = {
    MemTotal: 16_000_000,
    MemFree: 4_000_000,
    Buffers: 100_000,
    Cached: 5_000_000,
    SReclaimable: 250_000,
    Shmem: 400_000,
    AnonPages: 3_000_000,
    'Active(file)': 2_500_000,
    'Inactive(file)': 2_000_000,
    Dirty: 3_000,
    Writeback: 1_000,
    Slab: 350_000,
    KernelStack: 20_000,
    PageTables: 40_000,
    SecPageTables: 2_000,
    Percpu: 8_000,
    SwapTotal: 1_000_000,
    SwapFree: 750_000,
  };

  function rootFixture(rootFiles: Record<string, null | Record<string, number> | string>): MemoryCgroup {
    const f = v2Tree({ '/': rootFiles }, { self: '/' });
    f.write('/proc/meminfo', meminfo(info));
    f.write('/proc/vmstat', vmstat({ oom_kill: 7 }));
    return located(f);
  }

  function openRoot(cgroup: MemoryCgroup): CgroupReader {
    reader = openCgroupReader(cgroup, (fixture as FixtureHost).host);
    return reader;
  }

  it('at the root: usage MemTotal - MemFree, no limit, swap and OOM kills from /proc; breakdown from the root memory.stat', () => {
    const cgroup = rootFixture({
      'memory.stat': {
        anon: 3 * GiB,
        file: 5 * GiB,
        shmem: GiB,
        kernel: 512 * MiB,
        sock: 8 * MiB,
        active_file: 2 * GiB,
        inactive_file: 2 * GiB,
        file_dirty: 3 * MiB,
        file_writeback: MiB,
      },
      'memory.pressure': PSI,
    });
    expect(cgroup.dir).toBe(cgroup.mountDir);
    expect(cgroup.ancestorsHidden).toBe(false);
    const sample = openRoot(cgroup).read();
    const usage = (16_000_000 - 4_000_000) * KiB;
    expect(sample).toEqual({
      usage,
      limit: null,
      high: null,
      swapLimit: null,
      anon: 3 * GiB,
      file: 4 * GiB,
      activeFile: 2 * GiB,
      inactiveFile: 2 * GiB,
      fileDirty: 3 * MiB,
      fileWriteback: MiB,
      shmem: GiB,
      kernel: 520 * MiB,
      swap: 250_000 * KiB,
      workingSet: usage - 2 * GiB,
      oomKills: 7,
      limitHits: 0,
      highHits: 0,
      peak: null,
      underOom: false,
      pressure: {
        some: { avg10: 2.5, avg60: 1.25, avg300: 0.4, total: 81_234_567 },
        full: { avg10: 1, avg60: 0.5, avg300: 0.1, total: 40_000_000 },
      },
    });
    // free(1): used = total - free - buffers - cache (cache = Cached + SReclaimable), buff/cache the rest:
    // usage is their sum.
    const buffCache = info.Buffers + info.Cached + info.SReclaimable;
    const used = info.MemTotal - info.MemFree - buffCache;
    expect(sample.usage).toBe((used + buffCache) * KiB);
    expect(effectiveLimit(cgroup)).toMatchObject({
      bytes: null,
      source: null,
      swapBytes: null,
      ancestorsHidden: false,
      levels: [{ path: '/', depth: 0, limit: null, high: null, swapFileLimit: null }],
    });
  });

  it('without a root memory.stat (before 5.15), the breakdown comes from /proc/meminfo', () => {
    const sample = openRoot(rootFixture({ 'memory.stat': null })).read();
    expect(sample).toMatchObject({
      usage: 12_000_000 * KiB,
      anon: 3_000_000 * KiB,
      // Cached + Buffers - Shmem: page cache without tmpfs and shared memory, as for any cgroup.
      file: 4_700_000 * KiB,
      activeFile: 2_500_000 * KiB,
      inactiveFile: 2_000_000 * KiB,
      fileDirty: 3_000 * KiB,
      fileWriteback: 1_000 * KiB,
      shmem: 400_000 * KiB,
      // Slab + KernelStack + PageTables + SecPageTables + Percpu: what v2's "kernel" adds up.
      kernel: 420_000 * KiB,
      workingSet: 10_000_000 * KiB,
      oomKills: 7,
    });
  });

  it('a quick read re-reads /proc/meminfo alone; a full one also the OOM kill counter', () => {
    const r = openRoot(rootFixture({}));
    expect(r.read().oomKills).toBe(7);
    const f = fixture as FixtureHost;
    f.write('/proc/meminfo', meminfo({ ...info, MemFree: 3_000_000 }));
    f.write('/proc/vmstat', vmstat({ oom_kill: 8 }));
    expect(r.readUsage()).toBe(13_000_000 * KiB);
    const quick = r.read(false);
    expect(quick.usage).toBe(13_000_000 * KiB);
    expect(quick.oomKills).toBe(7);
    expect(r.read(true).oomKills).toBe(8);
  });

  it('a missing /proc/vmstat is an E_KERNEL_FILE error naming it, and leaks no descriptors', () => {
    const cgroup = rootFixture({});
    const f = fixture as FixtureHost;
    f.remove('/proc/vmstat');
    const before = openFds();
    expect(() => openCgroupReader(cgroup, f.host)).toThrow(`${f.root}/proc/vmstat: does not exist`);
    expect(openFds()).toBe(before);
  });

  it('a namespace root, which has memory.current, is read as a cgroup, not as the machine', () => {
    const cgroup = located(
      v2Tree(
        { '/': { 'memory.current': 64 * MiB, 'memory.max': 128 * MiB } },
        { self: '/', namespaced: true },
      ),
    );
    const sample = open(cgroup).read();
    expect(sample.usage).toBe(64 * MiB);
    expect(sample.limit).toBe(128 * MiB);
  });
});

describe.runIf(process.platform === 'linux')('the real v1 root cgroup', () => {
  it('reads: usage_in_bytes is there, the unlimited limit is none, and nothing is hidden above it', () => {
    const self = locateMemoryCgroup('self');
    if (!self.ok || self.cgroup.version !== 1) return;
    const root: MemoryCgroup = {
      ...self.cgroup,
      path: '/',
      dir: self.cgroup.mountDir,
      ancestorsHidden: false,
    };
    expect(isRootCgroup(1, root.dir)).toBe(true);
    expect(isRootCgroup(1, self.cgroup.dir)).toBe(self.cgroup.dir === self.cgroup.mountDir);
    const sample = open(root).read();
    expect(sample.usage).toBeGreaterThan(0);
    expect(sample.limit).toBeNull();
    expect(sample.anon).toBeGreaterThan(0);
    expect(effectiveLimit(root)).toMatchObject({ bytes: null, source: null, levels: [{ path: '/' }] });
  });
});
