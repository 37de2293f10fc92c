import {
  AncestorLimitHits,
  type CgroupReader,
  fileIn,
  LastPidReader,
  type MemoryCgroup,
  type MemorySample,
  openCgroupReader,
  ProcessReader,
  readCgroupPids,
} from '../kernel/index.js';
import type { CaptureWriter, SampleValues } from './capture-writer.js';
import { FileTracker } from './file-tracker.js';
import { ProcessTracker, type Vanished } from './process-tracker.js';

export interface SamplerOptions {
  cgroup: MemoryCgroup;
  writer: CaptureWriter;
  /** Wall-clock ms that record times count from (the capture header's startMs). */
  startMs: number;
  /** Processes in the cgroup that are not the job's: headroom itself and its sentinel. */
  excludePids: ReadonlySet<number>;
  /** headroom shares the cgroup with the job: record its own memory so it can be left out. */
  recordSelf: boolean;
  /** The sampling interval, so that quiet processes are still read about once a second. */
  intervalMs?: number;
  /** Share of wall time that PSS reads may take (smaps_rollup walks every mapping). */
  pssBudget?: number;
  now?: () => number;
}

/** What the live view and the final summary need without re-reading the capture. */
export interface SamplerState {
  timeMs: number;
  sample: MemorySample;
  processCount: number;
  maxUsage: number;
}

/** An OOM kill whose victim may not have been reaped yet when the counter rose. */
interface PendingOom {
  timeMs: number;
  count: number;
  victims: Vanished[];
  ticksLeft: number;
}

const LIMIT_HIT_QUIET_MS = 1000;
const RECENTLY_GONE_MS = 2000;
const FLUSH_MS = 500;
/** A change in cgroup usage this large means some process moved: read them all. */
const SWEEP_FLOOR = 1024 * 1024;
/** Limits, the high-water mark and the process list are read at least this often. */
const FULL_READ_MS = 1000;
/**
 * The process list is read again at least every this many full reads. New processes show up through the
 * last pid and exits through each process's own reads, so this is only a safety net.
 */
const RELIST_EVERY_FULL = 5;
/** While the cgroup holds still, each process is still read this often. */
const QUIET_PROCESS_MS = 1000;

/**
 * Reads the cgroup and each of its processes once per tick and appends what changed to the capture.
 * All reads go through kept-open descriptors; nothing here allocates per process beyond the parsed record.
 */
export class Sampler {
  private readonly reader: CgroupReader;
  private readonly ancestorHits: AncestorLimitHits;
  private ancestorHitCount = 0;
  private readonly procsFile: string;
  private readonly processes: ProcessTracker;
  private readonly files: FileTracker;
  private readonly self: ProcessReader | undefined;
  private readonly now: () => number;
  /** A full read every this many ticks (about once a second). */
  private readonly everyFull: number;
  private previous: MemorySample | undefined;
  private pendingOom: PendingOom | undefined;
  private recentlyGone: Array<Vanished & { timeMs: number }> = [];
  private lastLimitHitMs = Number.NEGATIVE_INFINITY;
  private maxUsage = 0;
  private ticks = 0;
  private flushedMs = Number.NEGATIVE_INFINITY;
  private readonly lastPid = new LastPidReader();
  private seenLastPid: number | undefined;
  /** Usage when every process was last read; a move of SWEEP_FLOOR from it reads them all again. */
  private sweptUsage = Number.NEGATIVE_INFINITY;
  state: SamplerState | undefined;

  constructor(private readonly options: SamplerOptions) {
    this.reader = openCgroupReader(options.cgroup);
    this.ancestorHits = new AncestorLimitHits(options.cgroup);
    this.procsFile = fileIn(options.cgroup.dir, 'cgroup.procs');
    this.self = options.recordSelf ? new ProcessReader(process.pid) : undefined;
    const intervalMs = options.intervalMs ?? 100;
    this.everyFull = Math.max(1, Math.round(FULL_READ_MS / intervalMs));
    const quietEvery = Math.max(1, Math.round(QUIET_PROCESS_MS / intervalMs));
    this.processes = new ProcessTracker(options.writer, options.excludePids, options.pssBudget, quietEvery);
    this.files = new FileTracker(options.writer);
    this.now = options.now ?? Date.now;
  }

  /** A process of the job's argv as last read (see ProcessTracker.argvOf). */
  argvOf(pid: number): readonly string[] | undefined {
    return this.processes.argvOf(pid);
  }

  /**
   * One sample. Most ticks re-read only what moves fast; every second (and at the end) a full read also
   * takes the limits and the high-water mark, and so does a tick where usage moved. The process list is
   * read again only when a process may have started (the namespace's last pid moved), when usage moved,
   * or every RELIST_EVERY_FULL full reads.
   */
  tick(full = false): SamplerState {
    const timeMs = this.now() - this.options.startMs;
    full ||= this.ticks % this.everyFull === 0;
    this.ticks++;
    // A move in usage (an OOM kill frees the victim's memory at once) makes this a full read too, so
    // that the event counters are read on the tick the victim vanishes.
    const usage = this.reader.readUsage();
    const sweep = Math.abs(usage - this.sweptUsage) >= SWEEP_FLOOR;
    const sample = this.reader.read(full || sweep, usage);
    // A limit set above the job's cgroup counts its hits there, not in the job's own counters.
    if (full || sweep) this.ancestorHitCount = this.ancestorHits.read();
    sample.limitHits += this.ancestorHitCount;
    const writer = this.options.writer;
    const self = this.self?.readResident();
    // Anonymous memory only: headroom's file pages (the node binary) are shared and mostly charged elsewhere.
    const selfBytes = self ? self.resident - self.shared : 0;
    writer.sample(timeMs, sampleValuesOf(sample, selfBytes));
    if (sample.usage - selfBytes > this.maxUsage) this.maxUsage = sample.usage - selfBytes;

    if (sweep) this.sweptUsage = sample.usage;
    // A new process can only be in the list if a pid was handed out since the last listing.
    const lastPid = this.lastPid.read();
    const vanished: Vanished[] = [];
    const relist = this.ticks % (this.everyFull * RELIST_EVERY_FULL) === 1;
    if (relist || sweep || lastPid === undefined || lastPid !== this.seenLastPid) {
      vanished.push(...this.processes.sync(timeMs, readCgroupPids(this.procsFile)));
      this.seenLastPid = lastPid;
    }
    vanished.push(...this.processes.sample(timeMs, sweep));
    const eventful = this.recordEvents(timeMs, sample, vanished);
    if (full || sweep) {
      const atLimit = sample.limit !== null && sample.usage >= 0.9 * sample.limit;
      this.files.maybeScan(timeMs, sample.file + sample.shmem, atLimit, () => this.processes.pids());
    }
    // Written through twice a second, and at once when something happened: the capture must survive
    // headroom being killed, but a write per tick is a syscall per tick.
    if (eventful || timeMs - this.flushedMs >= FLUSH_MS) {
      writer.flush();
      this.flushedMs = timeMs;
    }
    this.previous = sample;
    this.state = { timeMs, sample, processCount: this.processes.count, maxUsage: this.maxUsage };
    return this.state;
  }

  /** Final tick: resolves an OOM kill still waiting for its victim, then releases every descriptor. */
  stop(): SamplerState {
    const state = this.tick(true);
    if (this.pendingOom) this.emitOom(this.pendingOom);
    this.pendingOom = undefined;
    this.files.finish(state.timeMs);
    this.options.writer.flush();
    this.processes.close();
    this.reader.close();
    this.self?.close();
    this.lastPid.close();
    return state;
  }

  /** Writes the tick's events; true when there were any worth flushing at once. */
  private recordEvents(timeMs: number, sample: MemorySample, vanished: Vanished[]): boolean {
    const writer = this.options.writer;
    const previous = this.previous;
    // Quiet ticks read the OOM counter only once a second, so the victim may have vanished a little
    // before the counter is seen to rise: keep the last few seconds of exits at hand.
    for (const gone of vanished) this.recentlyGone.push({ ...gone, timeMs });
    this.recentlyGone = this.recentlyGone.filter((gone) => timeMs - gone.timeMs <= RECENTLY_GONE_MS);
    if (this.pendingOom) {
      this.pendingOom.victims.push(...vanished);
      this.pendingOom.ticksLeft--;
      if (this.pendingOom.victims.length >= this.pendingOom.count || this.pendingOom.ticksLeft <= 0) {
        this.emitOom(this.pendingOom);
        this.pendingOom = undefined;
      }
    }
    if (!previous) return false;
    const kills = sample.oomKills - previous.oomKills;
    let eventful = vanished.length > 0;
    if (kills > 0) {
      eventful = true;
      // The kernel does not say whom it killed; the victim is a process that vanished as the counter
      // rose, the largest first (the OOM killer ranks by rss + swap + page tables).
      const pending: PendingOom = { timeMs, count: kills, victims: this.recentlyGone, ticksLeft: 10 };
      this.recentlyGone = [];
      if (pending.victims.length >= kills) this.emitOom(pending);
      else this.pendingOom = pending;
    }
    const hits = sample.limitHits - previous.limitHits;
    if (hits > 0) {
      eventful = true;
      if (timeMs - this.lastLimitHitMs >= LIMIT_HIT_QUIET_MS) {
        writer.event({ kind: 'limit-hit', timeMs, count: hits, total: sample.limitHits });
      }
      this.lastLimitHitMs = timeMs;
    }
    if (sample.limit !== previous.limit || sample.high !== previous.high) {
      writer.event({ kind: 'limit-change', timeMs, limit: sample.limit, high: sample.high });
      eventful = true;
    }
    return eventful;
  }

  private emitOom(pending: PendingOom): void {
    const victims = pending.victims
      .sort((a, b) => b.size - a.size)
      .slice(0, pending.count)
      .map(({ pid, name }) => ({ pid, name }));
    this.options.writer.event({ kind: 'oom-kill', timeMs: pending.timeMs, count: pending.count, victims });
  }
}

/** A reading as the capture records it; `self` is headroom's own memory when it shares the cgroup. */
export function sampleValuesOf(sample: MemorySample, self = 0): SampleValues {
  return {
    usage: sample.usage,
    anon: sample.anon,
    file: sample.file,
    activeFile: sample.activeFile,
    inactiveFile: sample.inactiveFile,
    fileDirty: sample.fileDirty,
    fileWriteback: sample.fileWriteback,
    shmem: sample.shmem,
    kernel: sample.kernel,
    swap: sample.swap,
    peak: sample.peak ?? -1,
    oomKills: sample.oomKills,
    limitHits: sample.limitHits,
    highHits: sample.highHits,
    psiSome: sample.pressure ? Math.round(sample.pressure.some.avg10 * 100) : -1,
    psiFull: sample.pressure?.full ? Math.round(sample.pressure.full.avg10 * 100) : -1,
    self,
  };
}
