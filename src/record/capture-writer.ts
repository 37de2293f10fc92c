import fs from 'node:fs';
import { describeErrno, type ProcessMemory, type ProcessPss } from '../kernel/index.js';
import {
  type CaptureEvent,
  type CaptureHeader,
  type EndRecord,
  KEYFRAME_EVERY,
  SAMPLE_FIELDS,
  type SampleField,
  UNSCALED_FIELDS,
} from './capture-format.js';

export type SampleValues = Record<SampleField, number>;

const KIB = 1024;
const USAGE = SAMPLE_FIELDS.indexOf('usage');
const PEAK = SAMPLE_FIELDS.indexOf('peak');

/**
 * Appends capture records. Each call writes straight through to the file (no buffering in the process),
 * so whatever kills headroom, the file holds every record written before it.
 *
 * A write that fails (the disk filled up) never throws: the capture is headroom's, the job is the
 * user's, and losing the record must not stop or fail the job. The writer stops, keeps what it wrote,
 * and says why in `failure`.
 */
export class CaptureWriter {
  private readonly fd: number;
  /** Why writing stopped, or null while it works. */
  failure: string | null = null;
  private lastSampleMs = 0;
  private previous: number[] | undefined;
  private samplesSinceKeyframe = 0;
  private pending = '';
  bytesWritten = 0;

  constructor(
    readonly file: string,
    header: CaptureHeader,
  ) {
    this.fd = fs.openSync(file, 'wx');
    this.pending = `${JSON.stringify(header)}\n`;
    this.flush();
  }

  /** Queues a cgroup sample; values in bytes (counters and PSI as they are). */
  sample(timeMs: number, values: SampleValues): void {
    const scaled = SAMPLE_FIELDS.map((field) => {
      const value = values[field];
      return value < 0 || UNSCALED_FIELDS.has(field) ? value : Math.round(value / KIB);
    });
    // peak is written as its distance above usage: while usage climbs to a new high both move together,
    // and the delta of their difference stays 0 instead of repeating usage's large delta.
    const usage = scaled[USAGE] as number;
    const peak = scaled[PEAK] as number;
    if (peak >= 0) scaled[PEAK] = Math.max(0, peak - usage);
    const previous = this.previous;
    if (!previous || this.samplesSinceKeyframe >= KEYFRAME_EVERY) {
      this.line(['K', timeMs, ...scaled]);
      this.samplesSinceKeyframe = 0;
    } else {
      const deltas = scaled.map((value, i) => value - (previous[i] ?? 0));
      this.line([timeMs - this.lastSampleMs, ...deltas]);
    }
    this.samplesSinceKeyframe++;
    this.previous = scaled;
    this.lastSampleMs = timeMs;
  }

  processStart(timeMs: number, pid: number, ppid: number, name: string, argv: string[]): void {
    this.line(['P', timeMs, pid, ppid, name, argv]);
  }

  processMemory(timeMs: number, memory: ProcessMemory): void {
    this.line([
      'p',
      timeMs,
      memory.pid,
      kib(memory.rssAnon),
      kib(memory.rssFile),
      kib(memory.rssShmem),
      kib(memory.swap),
    ]);
  }

  processPss(timeMs: number, pid: number, pss: ProcessPss): void {
    this.line(['S', timeMs, pid, kib(pss.pss), kib(pss.pssAnon), kib(pss.pssFile), kib(pss.pssShmem)]);
  }

  processExit(timeMs: number, pid: number): void {
    this.line(['X', timeMs, pid]);
  }

  event(event: CaptureEvent): void {
    const { kind, timeMs, ...data } = event;
    this.line(['E', timeMs, kind, data]);
  }

  /** A profile record from a profiler's spool line ["I"|"N"|"A"|"W", t, ...]: the pid goes in third. */
  profile(pid: number, spoolRecord: readonly unknown[]): void {
    const [tag, timeMs, ...rest] = spoolRecord;
    this.line([tag, timeMs, pid, ...rest]);
  }

  /** A profile record already in capture form, as text without its newline (see SpoolCollector). */
  profileLine(text: string): void {
    this.pending += `${text}\n`;
  }

  end(timeMs: number, record: EndRecord): void {
    this.line(['END', timeMs, record]);
    this.flush();
  }

  /** Writes queued records; the sampler calls this once per tick. */
  flush(): void {
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    if (this.failure !== null) return;
    const buffer = Buffer.from(text);
    let offset = 0;
    try {
      while (offset < buffer.length) offset += fs.writeSync(this.fd, buffer, offset);
    } catch (error) {
      this.failure = describeErrno(error);
    }
    this.bytesWritten += offset;
  }

  /**
   * A path that reads the file through this writer's own descriptor: it still works after someone
   * deleted the file's name (a tmp cleaner), until close().
   */
  get openPath(): string {
    return `/proc/self/fd/${this.fd}`;
  }

  /** Whether the file's name still leads to the file this writer writes. */
  stillNamed(): boolean {
    try {
      const named = fs.statSync(this.file);
      const open = fs.fstatSync(this.fd);
      return named.ino === open.ino && named.dev === open.dev;
    } catch {
      return false;
    }
  }

  close(): void {
    this.flush();
    try {
      fs.closeSync(this.fd);
    } catch (error) {
      this.failure ??= describeErrno(error);
    }
  }

  private line(record: unknown[]): void {
    this.pending += `${JSON.stringify(record)}\n`;
  }
}

function kib(bytes: number): number {
  return Math.round(bytes / KIB);
}
