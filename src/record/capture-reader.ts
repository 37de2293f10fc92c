import fs from 'node:fs';
import { ProfileDecoder } from '../profile/profile-decoder.js';
import type { ProcessProfile } from '../profile/profile-model.js';
import {
  type CaptureEvent,
  type CaptureHeader,
  type EndRecord,
  SAMPLE_FIELDS,
  type SampleField,
  UNSCALED_FIELDS,
} from './capture-format.js';
import { readLines } from './capture-lines.js';
import {
  captureError,
  captureReadError,
  decodeEnd,
  decodeEvent,
  decodeHeader,
  isNumber,
  isStringArray,
  numbers,
} from './capture-records.js';
import { programName } from './program-name.js';

const KIB = 1024;
const USAGE = SAMPLE_FIELDS.indexOf('usage');
const PEAK = SAMPLE_FIELDS.indexOf('peak');
/** Past this many, damaged lines are only counted, so a mangled file cannot flood the report. */
const MAX_LINE_WARNINGS = 5;

/**
 * The cgroup samples, one column per field. Typed arrays rather than objects per sample: a 24 h capture at
 * 10 Hz holds 864,000 samples.
 */
export interface CgroupSeries {
  length: number;
  /** ms since header.startMs. */
  timeMs: Float64Array;
  /** Bytes; counters and PSI (UNSCALED_FIELDS) as recorded; -1 = unknown or unlimited. */
  values: Record<SampleField, Float64Array>;
}

/** A process's resident memory over time, in bytes, one column per figure. */
export interface ProcessSamples {
  timeMs: number[];
  anon: number[];
  file: number[];
  shmem: number[];
  swap: number[];
}

export interface PssReading {
  timeMs: number;
  pss: number;
  pssAnon: number;
  pssFile: number;
  pssShmem: number;
}

/** One process lifetime: a pid reused after its "X" record starts a new track. */
export interface ProcessTrack {
  pid: number;
  /** -1 when the start record was lost. */
  ppid: number;
  name: string;
  argv: string[];
  startMs: number;
  endMs: number | null;
  samples: ProcessSamples;
  /** Highest anon + file + shmem seen, bytes. */
  peakRss: number;
  peakRssMs: number | null;
  /** The latest PSS reading, if smaps_rollup was ever read. */
  pss: PssReading | undefined;
}

export interface Capture {
  file: string;
  header: CaptureHeader;
  series: CgroupSeries;
  /** Every process lifetime, in the order first seen. */
  processes: ProcessTrack[];
  /** pid -> its latest track. */
  processByPid: Map<number, ProcessTrack>;
  events: CaptureEvent[];
  /** Allocation profiles, one per profiling session of a process, in the order they started. */
  profiles: ProcessProfile[];
  end: EndRecord | undefined;
  /** Time of the last record read, ms since header.startMs. */
  lastTimeMs: number;
  /** No END record, or the last line was torn. */
  truncated: boolean;
  /** Plain-words notes about damage and missing parts. */
  warnings: string[];
}

/** A capture's state as of its last record, while it is being written. */
export interface LatestState {
  header: CaptureHeader;
  timeMs: number;
  /** False until the first cgroup sample. */
  sampled: boolean;
  /** The last sample: bytes; counters and PSI as recorded; -1 unknown. */
  values: Record<SampleField, number>;
  /** Processes not yet gone. */
  running: ProcessTrack[];
  /** The latest events, oldest first. */
  events: CaptureEvent[];
  end: EndRecord | undefined;
}

/** Reads a capture file, tolerating damage after its header; throws (E_CAPTURE_*, E_NOT_A_CAPTURE) when it is not one. */
export function readCapture(file: string): Capture {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw captureReadError(file, error);
  }
  try {
    const decoder = new CaptureDecoder(file);
    const tail = readLines(fd, file, (line) => decoder.line(line));
    return decoder.finish(tail);
  } finally {
    fs.closeSync(fd);
  }
}

/** Decodes a capture held in memory (tests, stdin). */
export function parseCapture(text: string, file = '<capture>'): Capture {
  const decoder = new CaptureDecoder(file);
  let start = 0;
  let newline = text.indexOf('\n');
  while (newline !== -1) {
    decoder.line(text.slice(start, newline));
    start = newline + 1;
    newline = text.indexOf('\n', start);
  }
  return decoder.finish(start < text.length ? text.slice(start) : undefined);
}

/** Grows in chunks and copies once at the end, so a long series never needs twice its size while growing. */
class ColumnBuilder {
  private done: Float64Array[] = [];
  private current = new Float64Array(256);
  private used = 0;
  length = 0;

  push(value: number): void {
    if (this.used === this.current.length) {
      this.done.push(this.current);
      this.current = new Float64Array(Math.min(this.current.length * 2, 65_536));
      this.used = 0;
    }
    this.current[this.used++] = value;
    this.length++;
  }

  build(): Float64Array {
    const out = new Float64Array(this.length);
    let at = 0;
    for (const chunk of this.done) {
      out.set(chunk, at);
      at += chunk.length;
    }
    out.set(this.current.subarray(0, this.used), at);
    return out;
  }
}

/** Where a damaged line broke the delta chain, and how many samples were dropped since. */
interface SeriesBreak {
  line: number;
  dropped: number;
}

export class CaptureDecoder {
  private header: CaptureHeader | undefined;
  private lineNumber = 0;
  private readonly time = new ColumnBuilder();
  private readonly columns = SAMPLE_FIELDS.map(() => new ColumnBuilder());
  /** The previous sample as written (KiB, counters as they are): deltas apply to this. */
  private base: number[] | undefined;
  private baseTimeMs = 0;
  private seriesBreak: SeriesBreak | undefined;
  private readonly processes: ProcessTrack[] = [];
  private readonly processByPid = new Map<number, ProcessTrack>();
  private readonly events: CaptureEvent[] = [];
  private readonly profiles = new ProfileDecoder();
  private end: EndRecord | undefined;
  private lastTimeMs = 0;
  private torn = false;
  private damagedLines = 0;
  private readonly warnings: string[] = [];
  private readonly orphanPids = new Set<number>();

  constructor(private readonly file: string) {}

  line(text: string | undefined): void {
    this.lineNumber++;
    if (!this.header) {
      this.header = decodeHeader(text, this.file, true);
      return;
    }
    if (text === undefined) {
      this.damaged('is longer than 64 MiB', true);
      return;
    }
    if (text.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      this.damaged('is not valid JSON', true);
      return;
    }
    this.record(record);
  }

  /** The state after the last complete record: for following a capture that is still being written. */
  latest(): LatestState | undefined {
    if (!this.header) return undefined;
    const values = {} as Record<SampleField, number>;
    const base = this.base;
    SAMPLE_FIELDS.forEach((field, i) => {
      let value = base?.[i] ?? -1;
      if (i === PEAK && value >= 0) value += base?.[USAGE] ?? 0;
      values[field] = UNSCALED_FIELDS.has(field) || value < 0 ? value : value * KIB;
    });
    return {
      header: this.header,
      timeMs: this.lastTimeMs,
      sampled: base !== undefined,
      values,
      running: this.processes.filter((track) => track.endMs === null),
      events: this.events.slice(-20),
      end: this.end,
    };
  }

  finish(tail: string | undefined): Capture {
    if (tail !== undefined && tail.trim() !== '') this.tail(tail);
    const header = this.header;
    if (!header) throw captureError(this.file, 'E_NOT_A_CAPTURE', 'empty file, not a headroom capture');
    if (this.seriesBreak && this.seriesBreak.dropped > 0) {
      const { line, dropped } = this.seriesBreak;
      this.warnings.push(
        `${plural(dropped, 'cgroup sample')} after line ${line} skipped: no keyframe followed`,
      );
    }
    if (this.damagedLines > MAX_LINE_WARNINGS) {
      this.warnings.push(`${plural(this.damagedLines - MAX_LINE_WARNINGS, 'more damaged line')} skipped`);
    }
    if (this.orphanPids.size > 0) {
      this.warnings.push(
        `${plural(this.orphanPids.size, 'process')} had memory records but no start record (name unknown)`,
      );
    }
    if (!this.end) {
      this.warnings.push(
        'capture is truncated: it ends without an END record (headroom was killed or is still running); ' +
          `read up to ${seconds(this.lastTimeMs)}`,
      );
    }
    return {
      file: this.file,
      header,
      series: this.buildSeries(),
      processes: this.processes,
      processByPid: this.processByPid,
      events: this.events,
      profiles: this.profiles.profiles,
      end: this.end,
      lastTimeMs: this.lastTimeMs,
      truncated: !this.end || this.torn,
      warnings: this.warnings,
    };
  }

  /**
   * The bytes after the last newline. The writer ends every record with one, so these are a record cut
   * off mid-write, unless they happen to parse whole.
   */
  private tail(text: string): void {
    this.lineNumber++;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      if (!this.header) {
        this.header = decodeHeader(text, this.file, false);
        return;
      }
      this.torn = true;
      this.warnings.push(`last line (${this.lineNumber}) is incomplete (torn write), ignored`);
      return;
    }
    if (!this.header) {
      this.header = decodeHeader(text, this.file, true);
      return;
    }
    this.record(record);
  }

  private record(record: unknown): void {
    if (!Array.isArray(record) || record.length === 0) {
      this.damaged('is not a capture record', true);
      return;
    }
    const tag = record[0];
    if (typeof tag === 'number') {
      this.delta(record);
      return;
    }
    const time = record[1];
    if (!isNumber(time)) {
      if (tag === 'K') this.damaged('is not a valid keyframe', true);
      else this.damaged('has no valid time', false);
      return;
    }
    if (tag === 'K') {
      this.keyframe(record, time);
      return;
    }
    this.lastTimeMs = Math.max(this.lastTimeMs, time);
    switch (tag) {
      case 'P':
        this.processStart(record, time);
        break;
      case 'p':
        this.processMemory(record, time);
        break;
      case 'S':
        this.processPss(record, time);
        break;
      case 'X':
        this.processExit(record, time);
        break;
      case 'E':
        this.event(record, time);
        break;
      case 'END':
        this.endRecord(record);
        break;
      case 'I':
      case 'N':
      case 'A':
      case 'W': {
        const wrong = this.profiles.record(record, time);
        if (wrong) this.damaged(wrong, false);
        break;
      }
      default:
        this.damaged(`has an unknown record type ${JSON.stringify(tag)}`, false);
    }
  }

  private keyframe(record: unknown[], time: number): void {
    const values = numbers(record, 2);
    if (!values) {
      this.damaged('is not a valid keyframe', true);
      return;
    }
    if (this.seriesBreak && this.seriesBreak.dropped > 0) {
      const { line, dropped } = this.seriesBreak;
      this.warnings.push(
        `${plural(dropped, 'cgroup sample')} after line ${line} skipped until the keyframe on line ${this.lineNumber}`,
      );
    }
    this.seriesBreak = undefined;
    this.base = values;
    this.baseTimeMs = time;
    this.pushSample();
  }

  private delta(record: unknown[]): void {
    const deltas = numbers(record, 0);
    if (!deltas) {
      this.damaged('is not a valid cgroup sample', true);
      return;
    }
    const base = this.base;
    if (!base || this.seriesBreak) {
      // Without a trustworthy previous sample a delta means nothing; wait for the next keyframe.
      this.seriesBreak ??= { line: this.lineNumber, dropped: 0 };
      this.seriesBreak.dropped++;
      return;
    }
    this.baseTimeMs += deltas[0] ?? 0;
    for (let i = 0; i < base.length; i++) base[i] = (base[i] ?? 0) + (deltas[i + 1] ?? 0);
    this.pushSample();
  }

  private pushSample(): void {
    const base = this.base ?? [];
    this.time.push(this.baseTimeMs);
    this.lastTimeMs = Math.max(this.lastTimeMs, this.baseTimeMs);
    SAMPLE_FIELDS.forEach((field, i) => {
      let value = base[i] ?? -1;
      // The file holds peak as its distance above usage (see capture-format).
      if (i === PEAK && value >= 0) value += base[USAGE] ?? 0;
      const column = this.columns[i];
      if (!column) return;
      if (UNSCALED_FIELDS.has(field)) column.push(value);
      else column.push(value < 0 ? -1 : value * KIB);
    });
  }

  private processStart(record: unknown[], time: number): void {
    const [, , pid, ppid, name, argv] = record;
    if (!isNumber(pid) || !isNumber(ppid) || typeof name !== 'string' || !isStringArray(argv)) {
      this.damaged('is not a valid process start record', false);
      return;
    }
    const known = this.processByPid.get(pid);
    if (known && known.endMs === null) {
      // Same process after exec: its memory history continues.
      known.name = programName(name, argv);
      known.argv = argv;
      known.ppid = ppid;
      return;
    }
    this.addTrack(pid, ppid, programName(name, argv), argv, time);
  }

  private processMemory(record: unknown[], time: number): void {
    const [, , pid, anon, file, shmem, swap] = record;
    if (!isNumber(pid) || !isNumber(anon) || !isNumber(file) || !isNumber(shmem) || !isNumber(swap)) {
      this.damaged('is not a valid process memory record', false);
      return;
    }
    const track = this.track(pid, time);
    const samples = track.samples;
    samples.timeMs.push(time);
    samples.anon.push(anon * KIB);
    samples.file.push(file * KIB);
    samples.shmem.push(shmem * KIB);
    samples.swap.push(swap * KIB);
    const rss = (anon + file + shmem) * KIB;
    if (track.peakRssMs === null || rss > track.peakRss) {
      track.peakRss = rss;
      track.peakRssMs = time;
    }
  }

  private processPss(record: unknown[], time: number): void {
    const [, , pid, pss, pssAnon, pssFile, pssShmem] = record;
    if (!isNumber(pid) || !isNumber(pss) || !isNumber(pssAnon) || !isNumber(pssFile) || !isNumber(pssShmem)) {
      this.damaged('is not a valid PSS record', false);
      return;
    }
    this.track(pid, time).pss = {
      timeMs: time,
      pss: pss * KIB,
      pssAnon: pssAnon * KIB,
      pssFile: pssFile * KIB,
      pssShmem: pssShmem * KIB,
    };
  }

  private processExit(record: unknown[], time: number): void {
    const pid = record[2];
    if (!isNumber(pid)) {
      this.damaged('is not a valid process exit record', false);
      return;
    }
    const track = this.processByPid.get(pid);
    if (track && track.endMs === null) track.endMs = time;
  }

  /** The track a memory record belongs to; made up when the start record was lost. */
  private track(pid: number, time: number): ProcessTrack {
    const known = this.processByPid.get(pid);
    if (known) return known;
    this.orphanPids.add(pid);
    return this.addTrack(pid, -1, '', [], time);
  }

  private addTrack(pid: number, ppid: number, name: string, argv: string[], time: number): ProcessTrack {
    const track: ProcessTrack = {
      pid,
      ppid,
      name,
      argv,
      startMs: time,
      endMs: null,
      samples: { timeMs: [], anon: [], file: [], shmem: [], swap: [] },
      peakRss: 0,
      peakRssMs: null,
      pss: undefined,
    };
    this.processes.push(track);
    this.processByPid.set(pid, track);
    return track;
  }

  private event(record: unknown[], time: number): void {
    const event = decodeEvent(record[2], record[3], time);
    if (!event) {
      this.damaged('is not a valid event record', false);
      return;
    }
    if (event.kind === 'oom-kill') {
      // The victim is named as the kernel named it; its track knows the program it ran.
      for (const victim of event.victims) {
        const track = this.processByPid.get(victim.pid);
        if (track) victim.name = programName(victim.name, track.argv);
      }
    }
    this.events.push(event);
  }

  private endRecord(record: unknown[]): void {
    const end = decodeEnd(record[2]);
    if (!end) {
      this.damaged('is not a valid END record', false);
      return;
    }
    this.end = end;
  }

  /**
   * A line that cannot be used. When it may have been a cgroup sample, later deltas would be applied to
   * the wrong base, so the series waits for the next keyframe.
   */
  private damaged(what: string, breaksSeries: boolean): void {
    this.damagedLines++;
    if (this.damagedLines <= MAX_LINE_WARNINGS)
      this.warnings.push(`line ${this.lineNumber} ${what}, skipped`);
    if (breaksSeries && this.base && !this.seriesBreak)
      this.seriesBreak = { line: this.lineNumber, dropped: 0 };
  }

  private buildSeries(): CgroupSeries {
    const values = {} as Record<SampleField, Float64Array>;
    SAMPLE_FIELDS.forEach((field, i) => {
      values[field] = this.columns[i]?.build() ?? new Float64Array(0);
    });
    return { length: this.time.length, timeMs: this.time.build(), values };
  }
}

function plural(count: number, noun: string): string {
  if (count === 1) return `1 ${noun}`;
  return `${count} ${noun.endsWith('s') ? `${noun}es` : `${noun}s`}`;
}

/** Plain duration for warnings; record/ sits below report/ and cannot use its formatter. */
function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
