import path from 'node:path';
import { lastAtOrBefore } from '../../last-at-or-before.js';
import type { FileRecord, TmpfsRecord } from '../../record/capture-format.js';
import type { Capture, ProcessTrack } from '../../record/capture-reader.js';
import type { SummaryBase } from '../summarize.js';

export const MiB = 1024 * 1024;

/**
 * The series every finding reads, once: bytes, with unknown samples as 0 and, in observe mode, headroom's
 * own memory taken out of usage and anon.
 */
export interface Context {
  capture: Capture;
  summary: SummaryBase;
  length: number;
  timeMs: Float64Array;
  usage: Float64Array;
  anon: Float64Array;
  file: Float64Array;
  /** Dirty plus writeback: cache that must reach the disk before it can be dropped. */
  dirty: Float64Array;
  inactiveFile: Float64Array;
  shmem: Float64Array;
  kernel: Float64Array;
  swap: Float64Array;
  /** What the kernel cannot simply drop: anon + shmem + kernel + dirty cache. */
  pinned: Float64Array;
  /** The limit in force at the peak, null when none. */
  limit: number | null;
  /** Index of the sample with the highest usage, -1 when there are none. */
  peakIndex: number;
  /** The "files" event written at the end, if any. */
  files: FileRecord[];
  tmpfs: TmpfsRecord[];
}

export function buildContext(capture: Capture, summary: SummaryBase): Context {
  const { series } = capture;
  const n = series.length;
  const v = series.values;
  const observe = capture.header.cgroup.mode === 'observe';
  const column = (source: Float64Array, minus?: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const self = minus && observe ? Math.max(0, minus[i] ?? 0) : 0;
      out[i] = Math.max(0, (source[i] ?? 0) - self);
    }
    return out;
  };
  const dirty = column(v.fileDirty);
  const writeback = column(v.fileWriteback);
  for (let i = 0; i < n; i++) dirty[i] = (dirty[i] ?? 0) + (writeback[i] ?? 0);
  const usage = column(v.usage, v.self);
  const anon = column(v.anon, v.self);
  const shmem = column(v.shmem);
  const kernel = column(v.kernel);
  const pinned = new Float64Array(n);
  for (let i = 0; i < n; i++)
    pinned[i] = (anon[i] ?? 0) + (shmem[i] ?? 0) + (kernel[i] ?? 0) + (dirty[i] ?? 0);
  let peakIndex = -1;
  for (let i = 0; i < n; i++) if (peakIndex < 0 || (usage[i] ?? 0) > (usage[peakIndex] ?? 0)) peakIndex = i;
  const filesEvent = capture.events.filter((event) => event.kind === 'files').pop();
  return {
    capture,
    summary,
    length: n,
    timeMs: series.timeMs,
    usage,
    anon,
    file: column(v.file),
    dirty,
    inactiveFile: column(v.inactiveFile),
    shmem,
    kernel,
    swap: column(v.swap),
    pinned,
    limit: summary.limit.bytes,
    peakIndex,
    files: filesEvent?.kind === 'files' ? filesEvent.files : [],
    tmpfs: filesEvent?.kind === 'files' ? filesEvent.tmpfs : [],
  };
}

export function at(column: Float64Array, index: number): number {
  return column[index] ?? 0;
}

export function max(column: Float64Array): { value: number; index: number } {
  let best = { value: 0, index: -1 };
  for (let i = 0; i < column.length; i++) {
    const value = column[i] ?? 0;
    if (best.index < 0 || value > best.value) best = { value, index: i };
  }
  return best;
}

/** Index of the last sample at or before timeMs, -1 when none. */
export function indexAt(ctx: Context, timeMs: number): number {
  return lastAtOrBefore(ctx.timeMs, timeMs);
}

export function time(ctx: Context, index: number): number {
  return ctx.timeMs[index] ?? 0;
}

/** A process's anonymous memory at timeMs: its last reading at or before then, 0 if not running. */
export function anonAt(track: ProcessTrack, timeMs: number): number {
  if (track.startMs > timeMs || (track.endMs !== null && track.endMs < timeMs)) return 0;
  const found = lastAtOrBefore(track.samples.timeMs, timeMs);
  return found < 0 ? 0 : (track.samples.anon[found] ?? 0);
}

/** The process holding the most anonymous memory at timeMs. */
export function largestAnonAt(
  ctx: Context,
  timeMs: number,
): { track: ProcessTrack; bytes: number } | undefined {
  let best: { track: ProcessTrack; bytes: number } | undefined;
  for (const track of ctx.capture.processes) {
    const bytes = anonAt(track, timeMs);
    if (bytes > 0 && (!best || bytes > best.bytes)) best = { track, bytes };
  }
  return best;
}

/** "node (123)": a process as the messages name it. */
export function processName(track: { pid: number; name: string }): string {
  return `${track.name} (${track.pid})`;
}

/** How much a counter series rose during the run; observe mode counts from the first sample, as the
 * cgroup may have counted before the run. */
export function counterRise(ctx: Context, column: Float64Array): number {
  let first: number | undefined;
  let last = 0;
  for (let i = 0; i < ctx.length; i++) {
    const value = column[i] ?? -1;
    if (value < 0) continue;
    first ??= value;
    last = value;
  }
  const observe = ctx.capture.header.cgroup.mode === 'observe';
  return first === undefined ? 0 : Math.max(0, last - (observe ? first : 0));
}

export function isNode(track: ProcessTrack): boolean {
  return track.name === 'node' || path.basename(track.argv[0] ?? '') === 'node';
}

/** The highest reading of a PSI series (stored as percent × 100, -1 when unreadable), in percent. */
export function psiPeak(ctx: Context, column: Float64Array): { value: number; timeMs: number } | null {
  let best: { value: number; timeMs: number } | null = null;
  for (let i = 0; i < ctx.length; i++) {
    const value = column[i] ?? -1;
    if (value >= 0 && (!best || value / 100 > best.value))
      best = { value: value / 100, timeMs: ctx.timeMs[i] ?? 0 };
  }
  return best;
}
