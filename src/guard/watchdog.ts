import { messageOf } from '../errors.js';
import { formatBytes } from '../format.js';
import {
  type CgroupReader,
  fileIn,
  type MemoryCgroup,
  type MemorySample,
  openCgroupReader,
  ProcessReader,
  readCgroupPids,
  readOwnHigh,
  readOwnLimit,
  reclaimMemory,
  setMemoryHigh,
  setMemoryLimit,
  setOomKillerEnabled,
} from '../kernel/index.js';
import type { GuardAction } from '../record/capture-format.js';
import type { CaptureWriter } from '../record/capture-writer.js';
import { programName } from '../record/program-name.js';

/** What the watchdog does when the job reaches its threshold. */
export type OnLimit = 'snapshot' | 'term' | 'reclaim';

export interface WatchdogOptions {
  cgroup: MemoryCgroup;
  /**
   * The limit that applies, ancestors included (without --memory it is a parent's), as the run read it
   * for its capture: one reading, so the watchdog and the record never disagree.
   */
  limit: number | null;
  /** The cgroup was made for the job: the watchdog may change its controls (and restores them). */
  own: boolean;
  onLimit: OnLimit;
  /** Share of the limit (0..1) at which the watchdog acts. */
  threshold: number;
  /** After SIGTERM, SIGKILL this much later. */
  graceMs: number;
  writer: CaptureWriter;
  startMs: number;
  /** SIGTERM to the job. */
  terminate(): void;
  /** SIGKILL to everything in the job. */
  kill(): void;
  /** Asks the job's allocation profilers for a snapshot (when profiling is on). */
  requestProfile?(): void;
  /** Poll interval; the kernel mechanisms make the exact value matter less. */
  intervalMs?: number;
  /**
   * A process's argv as the capture's process tracker last read it, to name a process whose kernel name
   * is only its main thread's (Node 24's "MainThread"). Not read here: near the limit, a read of
   * /proc/PID/cmdline can wait on the process's memory map while the kernel reclaims.
   */
  argvOf?(pid: number): readonly string[] | undefined;
}

/** Headroom given to a job frozen at its limit so its SIGTERM handler can run. */
const THAW_MIN = 32 * 1024 * 1024;
const THAW_SHARE = 0.05;
/**
 * A job told to stop may still be finishing an allocation and freeze at the limit before its handler
 * runs: it is given room again, this many times at most, and the limit rises by at most a quarter.
 */
const MAX_THAWS = 5;
const MAX_THAW_SHARE = 0.25;
/** Usage below this share of the threshold needs no closer look. */
const CLOSE_LOOK = 0.97;
/** A reclaim or snapshot is repeated at most this often. */
const REPEAT_MS = 1000;

/**
 * Acts before the kernel's OOM killer does. Polls the cgroup's usage every few ms; near the threshold it
 * reads what cannot be reclaimed (anon, shmem, dirty cache) and whether the kernel holds the job at its
 * limit. Where headroom owns the cgroup it also arms the kernel's own mechanisms so that no allocation
 * rate outruns the poll: on v1 the OOM killer is switched off for the cgroup, so a job at the limit waits
 * (under_oom) while the watchdog acts; on v2 memory.high at the threshold throttles the job first.
 * Everything it changed is put back by stop().
 */
export class Watchdog {
  private readonly reader: CgroupReader;
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private oomKillerOff = false;
  private originalLimit: number | null | undefined;
  private originalHigh: number | null | undefined;
  private terminated = false;
  private thaws = 0;
  private raisedTo: number | undefined;
  private lastActionMs = Number.NEGATIVE_INFINITY;
  private limit: number | null = null;

  constructor(private readonly options: WatchdogOptions) {
    this.reader = openCgroupReader(options.cgroup);
  }

  /** Arms the kernel mechanisms and starts polling; returns what was armed, in words. */
  start(): string {
    const { cgroup, own, onLimit, threshold } = this.options;
    this.limit = this.options.limit;
    const armed: string[] = [];
    if (own && this.limit !== null) {
      try {
        if (cgroup.version === 1 && onLimit !== 'reclaim') {
          setOomKillerEnabled(cgroup, false);
          this.oomKillerOff = true;
          armed.push('OOM killer paused for the job (memory.oom_control)');
        } else if (cgroup.version === 2) {
          this.originalHigh = readOwnHigh(cgroup);
          setMemoryHigh(cgroup, Math.floor(threshold * this.limit));
          armed.push(`memory.high at ${Math.round(threshold * 100)}% of the limit`);
        }
      } catch (error) {
        armed.push(`kernel mechanisms unavailable (${messageOf(error)})`);
      }
    }
    const every = this.options.intervalMs ?? 10;
    this.timer = setInterval(() => this.poll(), every);
    const what = onLimit === 'term' ? 'SIGTERM' : onLimit === 'snapshot' ? 'a snapshot' : 'reclaim';
    return `watch: ${what} at ${Math.round(threshold * 100)}% of the limit, polled every ${every} ms${armed.length ? `; ${armed.join('; ')}` : ''}`;
  }

  /**
   * Stops polling and puts back every control it changed. Safe to call again: a restore that failed (a
   * limit cannot be lowered while leftover processes still hold the memory) is tried again, so call
   * close() once the job's processes are gone.
   */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.timer = undefined;
    this.graceTimer = undefined;
    const { cgroup } = this.options;
    // Each restore on its own: one failing must not skip the others.
    if (this.oomKillerOff && attempt(() => setOomKillerEnabled(cgroup, true))) this.oomKillerOff = false;
    const limit = this.originalLimit;
    if (limit === null || (limit !== undefined && attempt(() => setMemoryLimit(cgroup, limit)))) {
      this.originalLimit = undefined;
    }
    this.restoreHigh();
  }

  /** stop(), once more, and the cgroup's files released. */
  close(): void {
    this.stop();
    this.reader.close();
  }

  /** Never throws: an exception in a timer would end headroom with the OOM killer still paused. */
  private poll(): void {
    try {
      this.pollOnce();
    } catch {
      // A cgroup file that vanished or a capture that cannot be written: the next poll tries again, and
      // stop() restores everything whatever happened here.
    }
  }

  private pollOnce(): void {
    const { limit } = this;
    if (limit === null) return;
    let usage: number;
    try {
      usage = this.reader.readUsage();
    } catch {
      return;
    }
    const threshold = this.options.threshold * limit;
    if (usage < CLOSE_LOOK * threshold) return;
    const sample = this.reader.read(true, usage);
    if (this.terminated) {
      if (this.thaws < MAX_THAWS && (sample.underOom || this.nearRaisedLimit(usage))) this.thaw(sample);
      return;
    }
    // What reclaim cannot free: everything but clean page cache (anon, shmem, dirty and writeback
    // cache, and the kernel's own memory, which v2 fills up to the limit as fast as anon).
    const pinned = Math.max(0, usage - Math.max(0, sample.file - sample.fileDirty - sample.fileWriteback));
    const timeMs = Date.now() - this.options.startMs;
    if (this.options.onLimit === 'reclaim') {
      if (usage >= threshold && timeMs - this.lastActionMs >= REPEAT_MS) this.reclaim(sample, timeMs);
      return;
    }
    if (!sample.underOom && pinned < threshold) return;
    if (this.options.onLimit === 'term') this.term(sample, pinned, timeMs);
    else if (timeMs - this.lastActionMs >= REPEAT_MS) this.snapshot(sample, pinned, timeMs);
  }

  private term(sample: MemorySample, pinned: number, timeMs: number): void {
    this.terminated = true;
    // A task waiting at the limit runs no signal handler until it gets its memory: give it a little. v2
    // cannot hold a task at the limit, so the room is given before it gets there: an allocation already
    // under way must complete before the handler can run.
    if (sample.underOom || (this.options.own && this.options.cgroup.version === 2)) this.thaw(sample);
    // On v2 the job is being throttled at memory.high: its shutdown should not be.
    this.restoreHigh();
    this.event(timeMs, 'term', `SIGTERM to the job at ${this.figures(sample, pinned)}`);
    this.options.terminate();
    this.graceTimer = setTimeout(() => {
      this.event(
        Date.now() - this.options.startMs,
        'kill',
        `SIGKILL to the job: still running ${this.options.graceMs} ms after SIGTERM`,
      );
      this.options.kill();
    }, this.options.graceMs);
    this.graceTimer.unref();
  }

  private snapshot(sample: MemorySample, pinned: number, timeMs: number): void {
    this.lastActionMs = timeMs;
    this.options.requestProfile?.();
    this.event(timeMs, 'snapshot', `snapshot at ${this.figures(sample, pinned)}; ${this.processes()}`);
    // Only a record was asked for: from here on the kernel decides, as without the watchdog.
    if (this.oomKillerOff) {
      attempt(() => setOomKillerEnabled(this.options.cgroup, true));
      this.oomKillerOff = false;
    }
    this.restoreHigh();
  }

  private restoreHigh(): void {
    const high = this.originalHigh;
    if (high !== undefined && attempt(() => setMemoryHigh(this.options.cgroup, high)))
      this.originalHigh = undefined;
  }

  private reclaim(sample: MemorySample, timeMs: number): void {
    this.lastActionMs = timeMs;
    const { cgroup } = this.options;
    const clean = Math.max(0, sample.file - sample.fileDirty - sample.fileWriteback);
    if (clean <= 0) return;
    if (cgroup.version === 2) {
      reclaimMemory(cgroup, clean);
    } else {
      // v1 has no reclaim file: a limit lowered below usage makes the kernel reclaim down to it (or refuse
      // with EBUSY), and the limit goes straight back. Only in a cgroup of the job's own, and never below
      // what cannot be reclaimed.
      if (!this.options.own) return;
      const limit = this.limit ?? 0;
      attempt(() => setMemoryLimit(cgroup, sample.usage - clean));
      attempt(() => setMemoryLimit(cgroup, limit));
    }
    const after = this.reader.readUsage();
    this.event(
      timeMs,
      'reclaim',
      `reclaimed ${formatBytes(Math.max(0, sample.usage - after))} of page cache at ${formatBytes(sample.usage)} of the ${formatBytes(this.limit)} limit`,
    );
  }

  /** v2, after SIGTERM: the job is using up the room it was given and will be OOM-killed without more. */
  private nearRaisedLimit(usage: number): boolean {
    return (
      this.options.cgroup.version === 2 && this.raisedTo !== undefined && usage >= CLOSE_LOOK * this.raisedTo
    );
  }

  /** Raises the limit a little (restored by stop) so a frozen job can run its handler. */
  private thaw(sample: MemorySample): void {
    const { cgroup } = this.options;
    const limit = this.limit ?? sample.usage;
    const raised = Math.min(
      Math.floor(limit * (1 + MAX_THAW_SHARE)),
      (this.raisedTo ?? limit) + Math.max(THAW_MIN, Math.floor(THAW_SHARE * limit)),
    );
    this.thaws++;
    if (raised <= (this.raisedTo ?? limit)) return;
    attempt(() => {
      this.originalLimit ??= readOwnLimit(cgroup);
      setMemoryLimit(cgroup, raised);
      this.raisedTo = raised;
    });
  }

  private figures(sample: MemorySample, pinned: number): string {
    return `${formatBytes(sample.usage)} of the ${formatBytes(this.limit)} limit (${formatBytes(pinned)} not reclaimable${sample.underOom ? ', held at the limit by the kernel' : ''})`;
  }

  /** The job's largest processes by anonymous memory, in a few words. */
  private processes(): string {
    const listed: Array<{ pid: number; name: string; anon: number }> = [];
    for (const pid of readCgroupPids(fileIn(this.options.cgroup.dir, 'cgroup.procs'))) {
      try {
        const reader = new ProcessReader(pid);
        const memory = reader.read();
        reader.close();
        if (memory)
          listed.push({
            pid,
            name: programName(memory.name, this.options.argvOf?.(pid) ?? []),
            anon: memory.rssAnon,
          });
      } catch {
        // Gone while we looked.
      }
    }
    listed.sort((a, b) => b.anon - a.anon);
    const top = listed.slice(0, 3).map((p) => `${p.name} (${p.pid}) ${formatBytes(p.anon)} anon`);
    return top.length > 0 ? `largest: ${top.join(', ')}` : 'no process left';
  }

  private event(timeMs: number, action: GuardAction, message: string): void {
    this.options.writer.event({ kind: 'guard-action', timeMs, action, pid: null, message });
    this.options.writer.flush();
  }
}

/** Runs a control write; false when it failed (the cgroup gone, or the kernel refused for now). */
function attempt(action: () => void): boolean {
  try {
    action();
    return true;
  } catch {
    return false;
  }
}
