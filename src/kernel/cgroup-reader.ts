import fs from 'node:fs';
import { isHeadroomError } from '../errors.js';
import { kernelFileError } from './errors.js';
import { fileIn } from './file-in.js';
import { parseMeminfo } from './host-memory.js';
import { type HostPaths, realHost, resolveHostPath } from './host-paths.js';
import { isRootCgroup, type MemoryCgroup } from './locate.js';
import { type MemorySample, workingSetOf } from './memory-sample.js';
import {
  type FlatKeyed,
  type Pressure,
  parseCount,
  parseLimit,
  parsePressure,
  readFlatKeyed,
} from './parse.js';
import { KeptOpenFile } from './read-file.js';
import { untorn } from './untorn-sample.js';

export interface CgroupReader {
  /**
   * `full` false re-reads only usage and the breakdown and repeats the rest (event counters, limits,
   * high-water mark, kmem, swap, PSI) from the last full read: at 10 Hz every file read is a syscall,
   * and on a quiet job these are most of headroom's own CPU. Callers read in full when usage moves.
   * `usage`, when given, is a readUsage() just taken, not read again.
   */
  read(full?: boolean, usage?: number): MemorySample;
  /** usage alone (v1 usage_in_bytes, v2 memory.current): one read, to decide how much more to read. */
  readUsage(): number;
  close(): void;
}

/**
 * The file holding a cgroup's memory usage in bytes, for readers outside headroom (the job's profilers).
 * The v2 root has none (see V2RootReader).
 */
export const USAGE_FILE: Record<1 | 2, string> = { 1: 'memory.usage_in_bytes', 2: 'memory.current' };

/**
 * Opens the cgroup's files once; each read() re-reads them through the open descriptors. `host` is where
 * /proc is, for the v2 root, whose figures come from there.
 */
export function openCgroupReader(
  cgroup: Pick<MemoryCgroup, 'version' | 'dir'>,
  host: HostPaths = realHost,
): CgroupReader {
  if (cgroup.version === 1) return new V1Reader(cgroup.dir);
  return isRootCgroup(2, cgroup.dir) ? new V2RootReader(cgroup.dir, host) : new V2Reader(cgroup.dir);
}

class Files {
  private readonly open: KeptOpenFile[] = [];
  constructor(private readonly dir: string) {}

  required(name: string): KeptOpenFile {
    const file = new KeptOpenFile(fileIn(this.dir, name));
    this.open.push(file);
    return file;
  }

  optional(name: string): KeptOpenFile | undefined {
    const file = fileIn(this.dir, name);
    if (!fs.existsSync(file)) return undefined;
    return this.required(name);
  }

  /**
   * Like optional, but also undefined when the file exists and refuses reads: PSI files do that with
   * EOPNOTSUPP when PSI is off at boot on kernels that still show them (RHEL 9's 5.14 by default).
   */
  optionalReadable(name: string): KeptOpenFile | undefined {
    const file = this.optional(name);
    if (!file) return undefined;
    try {
      file.read();
      return file;
    } catch (error) {
      if (
        isHeadroomError(error, 'E_KERNEL_FILE') &&
        (error.details.errno === 'EOPNOTSUPP' || error.details.errno === 'ENOTSUP')
      ) {
        file.close();
        return undefined;
      }
      throw error;
    }
  }

  closeAll(): void {
    for (const file of this.open) file.close();
  }
}

function readText(file: KeptOpenFile): string {
  const text = file.read();
  if (text === undefined) throw kernelFileError(file.file, 'cgroup was removed');
  return text;
}

/**
 * A one-number file parsed in place, with no string made: the flight recorder reads usage of every cgroup
 * on the host each second.
 */
function readCount(file: KeptOpenFile): number {
  const count = file.readCount();
  if (count === undefined) throw kernelFileError(file.file, 'cgroup was removed');
  // Not a plain count: parsed again as text for an error that quotes it.
  return Number.isNaN(count) ? parseCount(readText(file), file.file) : count;
}

function get(stat: FlatKeyed, key: string): number {
  return stat.get(key) ?? 0;
}

class V1Reader implements CgroupReader {
  private readonly files: Files;
  private readonly usage: KeptOpenFile;
  private readonly limit: KeptOpenFile;
  private readonly memswLimit: KeptOpenFile | undefined;
  private readonly stat: KeptOpenFile;
  private readonly failcnt: KeptOpenFile;
  private readonly memswFailcnt: KeptOpenFile | undefined;
  private readonly oomControl: KeptOpenFile;
  private readonly maxUsage: KeptOpenFile;
  private readonly kmem: KeptOpenFile | undefined;

  constructor(dir: string) {
    this.files = new Files(dir);
    try {
      this.usage = this.files.required(USAGE_FILE[1]);
      this.limit = this.files.required('memory.limit_in_bytes');
      this.memswLimit = this.files.optional('memory.memsw.limit_in_bytes');
      this.stat = this.files.required('memory.stat');
      this.failcnt = this.files.required('memory.failcnt');
      this.memswFailcnt = this.files.optional('memory.memsw.failcnt');
      this.oomControl = this.files.required('memory.oom_control');
      this.maxUsage = this.files.required('memory.max_usage_in_bytes');
      this.kmem = this.files.optional('memory.kmem.usage_in_bytes');
    } catch (error) {
      // A file missing part way must not leak the descriptors opened before it.
      this.files.closeAll();
      throw error;
    }
  }

  private slow:
    | {
        limit: number | null;
        memsw: number | null;
        kmem: number;
        memswHits: number;
        peak: number;
        oomKills: number;
        underOom: boolean;
        hits: number;
      }
    | undefined;

  readUsage(): number {
    return readCount(this.usage);
  }

  read(full = true, usageNow?: number): MemorySample {
    const stat = readFlatKeyed(readText(this.stat), this.stat.file, full);
    const usage = usageNow ?? parseCount(readText(this.usage), this.usage.file);
    if (full || !this.slow) {
      const oom = readFlatKeyed(readText(this.oomControl), this.oomControl.file, full);
      this.slow = {
        oomKills: oom.get('oom_kill') ?? 0,
        underOom: oom.get('under_oom') === 1,
        hits: parseCount(readText(this.failcnt), this.failcnt.file),
        limit: parseLimit(readText(this.limit), this.limit.file),
        memsw: this.memswLimit ? parseLimit(readText(this.memswLimit), this.memswLimit.file) : null,
        kmem: this.kmem ? parseCount(readText(this.kmem), this.kmem.file) : 0,
        memswHits: this.memswFailcnt ? parseCount(readText(this.memswFailcnt), this.memswFailcnt.file) : 0,
        peak: parseCount(readText(this.maxUsage), this.maxUsage.file),
      };
    }
    const { limit, memsw, kmem, memswHits, peak, oomKills, underOom, hits } = this.slow;
    // total_* are hierarchical: they include any child cgroups the job made.
    const shmem = get(stat, 'total_shmem');
    const activeFile = get(stat, 'total_active_file');
    const inactiveFile = get(stat, 'total_inactive_file');
    const sample: MemorySample = {
      usage,
      limit,
      high: null,
      swapLimit: memsw === null ? null : limit === null ? memsw : Math.max(0, memsw - limit),
      anon: get(stat, 'total_rss'),
      file: Math.max(0, get(stat, 'total_cache') - shmem),
      activeFile,
      inactiveFile,
      fileDirty: get(stat, 'total_dirty'),
      fileWriteback: get(stat, 'total_writeback'),
      shmem,
      kernel: kmem,
      swap: get(stat, 'total_swap'),
      workingSet: workingSetOf(usage, inactiveFile),
      oomKills,
      // With memsw limited to the memory limit, the charge fails on memsw first and only memsw.failcnt
      // counts it (recent kernels, which track failcnt for the memory counter alone, count neither).
      limitHits: hits + memswHits,
      highHits: 0,
      // usage read after the high-water mark may already be above it
      peak: Math.max(peak, usage),
      underOom,
    };
    return usageNow === undefined ? sample : untorn(sample, () => this.readUsage());
  }

  close(): void {
    this.files.closeAll();
  }
}

class V2Reader implements CgroupReader {
  private readonly files: Files;
  private readonly current: KeptOpenFile;
  private readonly max: KeptOpenFile;
  private readonly high: KeptOpenFile | undefined;
  private readonly swapMax: KeptOpenFile | undefined;
  private readonly swapCurrent: KeptOpenFile | undefined;
  private readonly stat: KeptOpenFile;
  private readonly events: KeptOpenFile;
  private readonly peak: KeptOpenFile | undefined;
  private readonly pressure: KeptOpenFile | undefined;

  constructor(dir: string) {
    this.files = new Files(dir);
    try {
      this.current = this.files.required(USAGE_FILE[2]);
      this.max = this.files.required('memory.max');
      this.high = this.files.optional('memory.high');
      this.swapMax = this.files.optional('memory.swap.max');
      this.swapCurrent = this.files.optional('memory.swap.current');
      this.stat = this.files.required('memory.stat');
      this.events = this.files.required('memory.events');
      this.peak = this.files.optional('memory.peak');
      this.pressure = this.files.optionalReadable('memory.pressure');
    } catch (error) {
      // A file missing part way must not leak the descriptors opened before it.
      this.files.closeAll();
      throw error;
    }
  }

  private slow:
    | {
        limit: number | null;
        high: number | null;
        swapLimit: number | null;
        swap: number;
        peak: number | null;
        pressure: Pressure | undefined;
        oomKills: number;
        limitHits: number;
        highHits: number;
      }
    | undefined;

  readUsage(): number {
    return readCount(this.current);
  }

  read(full = true, usageNow?: number): MemorySample {
    const stat = readFlatKeyed(readText(this.stat), this.stat.file, full);
    const usage = usageNow ?? parseCount(readText(this.current), this.current.file);
    if (full || !this.slow) {
      const events = readFlatKeyed(readText(this.events), this.events.file, full);
      this.slow = {
        oomKills: events.get('oom_kill') ?? 0,
        limitHits: events.get('max') ?? 0,
        highHits: events.get('high') ?? 0,
        limit: parseLimit(readText(this.max), this.max.file),
        high: this.high ? parseLimit(readText(this.high), this.high.file) : null,
        swapLimit: this.swapMax ? parseLimit(readText(this.swapMax), this.swapMax.file) : null,
        swap: this.swapCurrent ? parseCount(readText(this.swapCurrent), this.swapCurrent.file) : 0,
        peak: this.peak ? parseCount(readText(this.peak), this.peak.file) : null,
        pressure: this.pressure ? parsePressure(readText(this.pressure), this.pressure.file) : undefined,
      };
    }
    const { limit, high, swapLimit, swap, peak, pressure, oomKills, limitHits, highHits } = this.slow;
    const breakdown = v2Breakdown(stat);
    const sample: MemorySample = {
      usage,
      limit,
      high,
      swapLimit,
      ...breakdown,
      swap,
      workingSet: workingSetOf(usage, breakdown.inactiveFile),
      oomKills,
      limitHits,
      highHits,
      // usage read after the high-water mark may already be above it
      peak: peak === null ? null : Math.max(peak, usage),
      underOom: false,
    };
    if (pressure) sample.pressure = pressure;
    return usageNow === undefined ? sample : untorn(sample, () => this.readUsage());
  }

  close(): void {
    this.files.closeAll();
  }
}

type Breakdown = Pick<
  MemorySample,
  'anon' | 'file' | 'activeFile' | 'inactiveFile' | 'fileDirty' | 'fileWriteback' | 'shmem' | 'kernel'
>;

/** A v2 memory.stat (Documentation/admin-guide/cgroup-v2.rst) in MemorySample's terms. */
function v2Breakdown(stat: FlatKeyed): Breakdown {
  const shmem = get(stat, 'shmem');
  // "kernel" appeared in 5.18; before it, its parts are listed separately. Socket buffers are charged
  // apart from "kernel" (it mirrors v1's kmem counter), so they are added in both cases.
  const kernel =
    (stat.has('kernel')
      ? get(stat, 'kernel')
      : get(stat, 'kernel_stack') +
        get(stat, 'pagetables') +
        get(stat, 'percpu') +
        get(stat, 'vmalloc') +
        get(stat, 'slab_reclaimable') +
        get(stat, 'slab_unreclaimable')) + get(stat, 'sock');
  return {
    anon: get(stat, 'anon'),
    // v2 "file" includes tmpfs and shared memory; we report those as shmem alone.
    file: Math.max(0, get(stat, 'file') - shmem),
    activeFile: get(stat, 'active_file'),
    inactiveFile: get(stat, 'inactive_file'),
    fileDirty: get(stat, 'file_dirty'),
    fileWriteback: get(stat, 'file_writeback'),
    shmem,
    kernel,
  };
}

/**
 * The v2 root cgroup, which has no memory.current, memory.max, memory.events, memory.peak or
 * memory.swap.* ("exists on non-root cgroups", Documentation/admin-guide/cgroup-v2.rst): its subtree is
 * the whole machine, so its figures are the machine's. Usage is MemTotal - MemFree from /proc/meminfo
 * (what free(1) calls used plus buff/cache), there is no limit (the machine's RAM is the ceiling), swap is
 * SwapTotal - SwapFree, and OOM kills are /proc/vmstat's oom_kill, which counts every kill on the machine
 * (4.13+). The breakdown comes from the root's memory.stat where the kernel shows one (5.15+), else from
 * the matching /proc/meminfo fields.
 */
class V2RootReader implements CgroupReader {
  private readonly files: Files;
  private readonly proc: Files;
  private readonly meminfo: KeptOpenFile;
  private readonly vmstat: KeptOpenFile;
  private readonly stat: KeptOpenFile | undefined;
  private readonly pressure: KeptOpenFile | undefined;
  private slow: { oomKills: number; pressure: Pressure | undefined } | undefined;

  constructor(dir: string, host: HostPaths) {
    this.files = new Files(dir);
    this.proc = new Files(resolveHostPath(host, '/proc'));
    try {
      this.meminfo = this.proc.required('meminfo');
      this.vmstat = this.proc.required('vmstat');
      this.stat = this.files.optional('memory.stat');
      this.pressure = this.files.optionalReadable('memory.pressure');
    } catch (error) {
      this.close();
      throw error;
    }
  }

  private readMeminfo(): FlatKeyed {
    return parseMeminfo(readText(this.meminfo), this.meminfo.file);
  }

  readUsage(): number {
    return usedBytes(this.readMeminfo());
  }

  read(full = true, usageNow?: number): MemorySample {
    const info = this.readMeminfo();
    const kib = (key: string): number => get(info, key) * 1024;
    const usage = usageNow ?? usedBytes(info);
    if (full || !this.slow) {
      const vmstat = readFlatKeyed(readText(this.vmstat), this.vmstat.file, full);
      this.slow = {
        oomKills: vmstat.get('oom_kill') ?? 0,
        pressure: this.pressure ? parsePressure(readText(this.pressure), this.pressure.file) : undefined,
      };
    }
    const breakdown: Breakdown = this.stat
      ? v2Breakdown(readFlatKeyed(readText(this.stat), this.stat.file, full))
      : {
          anon: kib('AnonPages'),
          // Cached counts shmem and leaves out Buffers (block device pages, also on the file LRU).
          file: Math.max(0, kib('Cached') + kib('Buffers') - kib('Shmem')),
          activeFile: kib('Active(file)'),
          inactiveFile: kib('Inactive(file)'),
          fileDirty: kib('Dirty'),
          fileWriteback: kib('Writeback'),
          shmem: kib('Shmem'),
          kernel: kib('Slab') + kib('KernelStack') + kib('PageTables') + kib('SecPageTables') + kib('Percpu'),
        };
    const sample: MemorySample = {
      usage,
      limit: null,
      high: null,
      swapLimit: null,
      ...breakdown,
      swap: Math.max(0, kib('SwapTotal') - kib('SwapFree')),
      workingSet: workingSetOf(usage, breakdown.inactiveFile),
      oomKills: this.slow.oomKills,
      limitHits: 0,
      highHits: 0,
      peak: null,
      underOom: false,
    };
    if (this.slow.pressure) sample.pressure = this.slow.pressure;
    return sample;
  }

  close(): void {
    this.files.closeAll();
    this.proc.closeAll();
  }
}

/** Memory in use on the whole machine: everything not free, page cache and kernel included. */
function usedBytes(meminfo: FlatKeyed): number {
  return Math.max(0, get(meminfo, 'MemTotal') - get(meminfo, 'MemFree')) * 1024;
}
