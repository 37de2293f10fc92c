import fs from 'node:fs';
import { messageOf } from '../errors.js';
import type { MemoryCgroup } from '../kernel/index.js';
import type { CaptureHeader, EndRecord } from '../record/capture-format.js';
import type { Capture } from '../record/capture-reader.js';
import { CaptureWriter } from '../record/capture-writer.js';
import { Sampler, type SamplerState } from '../record/sampler.js';
import { readBack } from './read-back.js';

/**
 * Something that runs beside the sampler for one capture (a watchdog, the profilers' spool, the live
 * status line, a stop policy). Every step is optional; each is called for every part in list order, and
 * one that throws is warned about once and never keeps the other parts from their turn.
 */
export interface SessionPart {
  /** Named in the warning when one of its steps fails. */
  name: string;
  /** The job runs: the session is about to take its first sample. */
  start?(): void;
  /** After each sample; undefined when the sample could not be taken. */
  tick?(state: SamplerState | undefined): void;
  /** The job has ended: before the final sample. */
  stop?(): void;
  /** After the final sample, with the job's leftovers gone: what the part holds goes into the capture. */
  flush?(): void;
  /** The job never ran: release what the part holds, leaving nothing behind. */
  abandon?(): void;
}

export interface SessionOptions {
  file: string;
  header: CaptureHeader;
  /** Remove a file of that name first (the user named it); otherwise an existing file is an error. */
  replace: boolean;
  cgroup: MemoryCgroup;
  /** headroom shares the cgroup with what it samples: record its own memory so it can be left out. */
  recordSelf: boolean;
  /** headroom's messages; `warn` for its own trouble, told even when the user asked for quiet. */
  say: (line: string) => void;
  warn: (line: string) => void;
}

/** How the capture ends: the job's exit, or none (attach). */
export type SessionEnd = Pick<EndRecord, 'exitCode' | 'signal' | 'status'>;

/**
 * One capture: the writer with its header, the sampler ticking at the header's interval, the parts
 * beside them, the end record, and the capture read back. `run` and `attach` both record through it.
 */
/** A gap between ticks of this long, and this many intervals, is told (see noteGap). */
const GAP_MS = 2000;
const GAP_INTERVALS = 10;

export class CaptureSession {
  readonly writer: CaptureWriter;
  readonly sampler: Sampler;
  readonly startMs: number;
  private readonly parts: SessionPart[] = [];
  private readonly failed = new Set<SessionPart>();
  /** Processes in the cgroup that are not what is sampled: headroom itself and its sentinel. */
  private readonly excludePids = new Set([process.pid]);
  private timers: NodeJS.Timeout[] = [];
  private first: SamplerState | undefined;
  private last: SamplerState | undefined;
  private samplingFailed = false;
  /** When the last tick ran (Date.now()), to tell of a gap in the samples. */
  private lastTickAt: number | undefined;
  private toldGap = false;
  private toldWriteFailure: boolean;

  /**
   * Opens the capture and the cgroup's files. Before anything runs: a cgroup that cannot be sampled
   * must stop headroom before the job starts, not leave the job running unobserved. Throws, leaving no
   * file behind, when either cannot be opened.
   */
  constructor(private readonly options: SessionOptions) {
    this.startMs = options.header.startMs;
    if (options.replace) fs.rmSync(options.file, { force: true });
    this.writer = new CaptureWriter(options.file, options.header);
    this.toldWriteFailure = this.writer.failure !== null;
    if (this.writer.failure !== null)
      options.warn(
        `cannot write the capture ${options.file} (${this.writer.failure}); the job runs unrecorded`,
      );
    try {
      this.sampler = new Sampler({
        cgroup: options.cgroup,
        writer: this.writer,
        startMs: this.startMs,
        excludePids: this.excludePids,
        recordSelf: options.recordSelf,
        intervalMs: options.header.intervalMs,
      });
    } catch (error) {
      this.discardFile();
      throw error;
    }
  }

  add(...parts: SessionPart[]): void {
    this.parts.push(...parts);
  }

  /** A process of headroom's in the sampled cgroup, to be left out of the job's. */
  exclude(pid: number): void {
    this.excludePids.add(pid);
  }

  /** Starts the parts and the sampling: a sample now, one soon after, then one every interval. */
  start(): void {
    this.each('start');
    const intervalMs = this.options.header.intervalMs;
    this.first = this.tick();
    // The first tick comes as the job starts (through the shell that joins, perhaps before it is in its
    // cgroup); a second one soon after catches the job even when it is shorter than the interval.
    this.timers = [
      setTimeout(() => this.tick(), Math.min(20, intervalMs)),
      setInterval(() => this.tick(), intervalMs),
    ];
  }

  /** Stops the parts, then the sampling, with a final sample. */
  stop(): void {
    this.each('stop');
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    this.noteGap();
    try {
      this.last = this.sampler.stop();
    } catch (error) {
      this.options.say(`could not take the final sample: ${messageOf(error)}`);
    }
  }

  /** Flushes the parts into the capture and writes its end record. */
  end(how: SessionEnd): void {
    this.each('flush');
    const durationMs = Date.now() - this.startMs;
    const { first, last } = this;
    this.writer.end(durationMs, {
      ...how,
      durationMs,
      // In observe mode the cgroup's high-water mark predates the job, so it says nothing about it.
      peakBytes: this.options.header.cgroup.mode === 'own' ? (last?.sample.peak ?? null) : null,
      oomKills: (last?.sample.oomKills ?? 0) - (first?.sample.oomKills ?? 0),
      limitHits: (last?.sample.limitHits ?? 0) - (first?.sample.limitHits ?? 0),
    });
  }

  /** The capture as written, read back (see readBack), and the file closed. */
  async readBack(): Promise<Capture | null> {
    const recorded = await readBack(this.writer, this.options.warn);
    this.writer.close();
    return recorded;
  }

  close(): void {
    this.writer.close();
  }

  /**
   * Nothing ran: the parts release what they hold, and no half-made capture is left (unless kept: a job
   * that could not be started leaves its header, as it always has).
   */
  abandon(options: { keepCapture?: boolean } = {}): void {
    this.each('abandon');
    if (options.keepCapture) this.writer.close();
    else this.discardFile();
  }

  private discardFile(): void {
    this.writer.close();
    fs.rmSync(this.writer.file, { force: true });
  }

  private tick(): SamplerState | undefined {
    this.noteGap();
    let state: SamplerState | undefined;
    try {
      state = this.sampler.tick();
    } catch (error) {
      // A cgroup that vanished or a file turned unreadable is told once, not every tick.
      if (!this.samplingFailed) this.options.say(`sampling failed: ${messageOf(error)}`);
      this.samplingFailed = true;
    }
    if (this.writer.failure !== null && !this.toldWriteFailure) {
      this.toldWriteFailure = true;
      this.options.warn(
        `the capture stopped being written (${this.writer.failure}); the job runs on, unrecorded from here`,
      );
    }
    this.each('tick', state);
    return state;
  }

  /**
   * Ticks that came far too late leave a hole in the timeline: headroom was stopped (SIGSTOP, a frozen
   * container) or starved of CPU. The capture says so where the hole is, and so does stderr, once.
   */
  private noteGap(): void {
    const now = Date.now();
    const since = this.lastTickAt;
    this.lastTickAt = now;
    if (since === undefined) return;
    const gapMs = now - since;
    if (gapMs < Math.max(GAP_MS, GAP_INTERVALS * this.options.header.intervalMs)) return;
    const message = `no samples for ${(gapMs / 1000).toFixed(1)} s: headroom itself was stopped or had no CPU`;
    this.writer.event({ kind: 'note', timeMs: now - this.startMs, message });
    if (!this.toldGap) this.options.warn(`${message}; the job ran on, unwatched`);
    this.toldGap = true;
  }

  private each(step: 'start' | 'stop' | 'flush' | 'abandon'): void;
  private each(step: 'tick', state: SamplerState | undefined): void;
  private each(step: keyof Omit<SessionPart, 'name'>, state?: SamplerState): void {
    for (const part of this.parts) {
      try {
        if (step === 'tick') part.tick?.(state);
        else part[step]?.();
      } catch (error) {
        // headroom's own trouble never reaches the job: the other parts go on, and so does the job.
        if (!this.failed.has(part)) this.options.warn(`${part.name} failed: ${messageOf(error)}`);
        this.failed.add(part);
      }
    }
  }
}
