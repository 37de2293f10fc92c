import path from 'node:path';
import {
  type CgroupReader,
  type MemoryCgroup,
  type MemorySample,
  openCgroupReader,
  ProcessReader,
  readCgroupPids,
} from '../kernel/index.js';
import type { CaptureWriter, SampleValues } from './capture-writer.js';
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

/**
 * Reads the cgroup and each of its processes once per tick and appends what changed to the capture.
 * All reads go through kept-open descriptors; nothing here allocates per process beyond the parsed record.
 */
export class Sampler {
  private readonly reader: CgroupReader;
  private readonly procsFile: string;
  private readonly processes: ProcessTracker;
  private readonly self: ProcessReader | undefined;
  private readonly now: () => number;
  private previous: MemorySample | undefined;
  private pendingOom: PendingOom | undefined;
  private lastLimitHitMs = Number.NEGATIVE_INFINITY;
  private maxUsage = 0;
  state: SamplerState | undefined;

  constructor(private readonly options: SamplerOptions) {
    this.reader = openCgroupReader(options.cgroup);
    this.procsFile = path.join(options.cgroup.dir, 'cgroup.procs');
    this.self = options.recordSelf ? new ProcessReader(process.pid) : undefined;
    this.processes = new ProcessTracker(options.writer, options.excludePids, options.pssBudget);
    this.now = options.now ?? Date.now;
  }

  tick(): SamplerState {
    const timeMs = this.now() - this.options.startMs;
    const sample = this.reader.read();
    const writer = this.options.writer;
    const self = this.self?.readResident();
    // Anonymous memory only: headroom's file pages (the node binary) are shared and mostly charged elsewhere.
    const selfBytes = self ? self.resident - self.shared : 0;
    writer.sample(timeMs, toValues(sample, selfBytes));
    if (sample.usage - selfBytes > this.maxUsage) this.maxUsage = sample.usage - selfBytes;

    const vanished = this.processes.sample(timeMs, readCgroupPids(this.procsFile));
    this.recordEvents(timeMs, sample, vanished);
    writer.flush();
    this.previous = sample;
    this.state = { timeMs, sample, processCount: this.processes.count, maxUsage: this.maxUsage };
    return this.state;
  }

  /** Final tick: resolves an OOM kill still waiting for its victim, then releases every descriptor. */
  stop(): SamplerState {
    const state = this.tick();
    if (this.pendingOom) this.emitOom(this.pendingOom);
    this.pendingOom = undefined;
    this.options.writer.flush();
    this.processes.close();
    this.reader.close();
    this.self?.close();
    return state;
  }

  private recordEvents(timeMs: number, sample: MemorySample, vanished: Vanished[]): void {
    const writer = this.options.writer;
    const previous = this.previous;
    if (this.pendingOom) {
      this.pendingOom.victims.push(...vanished);
      this.pendingOom.ticksLeft--;
      if (this.pendingOom.victims.length >= this.pendingOom.count || this.pendingOom.ticksLeft <= 0) {
        this.emitOom(this.pendingOom);
        this.pendingOom = undefined;
      }
    }
    if (!previous) return;
    const kills = sample.oomKills - previous.oomKills;
    if (kills > 0) {
      // The kernel does not say whom it killed; the victim is the process that vanished as the counter
      // rose, the largest first (the OOM killer ranks by rss + swap + page tables).
      const pending: PendingOom = { timeMs, count: kills, victims: [...vanished], ticksLeft: 10 };
      if (pending.victims.length >= kills) this.emitOom(pending);
      else this.pendingOom = pending;
    }
    const hits = sample.limitHits - previous.limitHits;
    if (hits > 0) {
      if (timeMs - this.lastLimitHitMs >= LIMIT_HIT_QUIET_MS) {
        writer.event({ kind: 'limit-hit', timeMs, count: hits, total: sample.limitHits });
      }
      this.lastLimitHitMs = timeMs;
    }
    if (sample.limit !== previous.limit || sample.high !== previous.high) {
      writer.event({ kind: 'limit-change', timeMs, limit: sample.limit, high: sample.high });
    }
  }

  private emitOom(pending: PendingOom): void {
    const victims = pending.victims
      .sort((a, b) => b.size - a.size)
      .slice(0, pending.count)
      .map(({ pid, name }) => ({ pid, name }));
    this.options.writer.event({ kind: 'oom-kill', timeMs: pending.timeMs, count: pending.count, victims });
  }
}

function toValues(sample: MemorySample, self: number): SampleValues {
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
