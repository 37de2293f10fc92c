import { accountsFor } from '../kernel/untorn-sample.js';
import { lastAtOrBefore } from '../last-at-or-before.js';
import { type SummaryProfile, summarizeProfile } from '../profile/profile-summary.js';
import type {
  CaptureHeader,
  CgroupMode,
  GuardAction,
  GuardKnob,
  GuardOrder,
} from '../record/capture-format.js';
import type { Capture, CgroupSeries, ProcessTrack } from '../record/capture-reader.js';
import type { Finding } from './finding.js';
import { agreeWithVerdict } from './findings/agree.js';
import { buildContext } from './findings/context.js';
import { findFindings } from './findings/index.js';
import { decideVerdict, type Verdict } from './verdict.js';

/** What the cgroup's memory was made of, bytes. */
export interface MemoryBreakdown {
  anon: number;
  file: number;
  fileDirty: number;
  fileWriteback: number;
  shmem: number;
  kernel: number;
  swap: number;
}

/** One process the OOM killer took; pid and name are null when the kernel counted a kill we did not see. */
export interface OomKill {
  pid: number | null;
  name: string | null;
  timeMs: number;
}

export interface ProcessSummary {
  pid: number;
  ppid: number;
  name: string;
  argv: string[];
  /** Highest anon + file + shmem resident memory seen. */
  peakRssBytes: number;
  /** Its resident memory at the cgroup's peak; 0 when it was not running then. */
  rssAtPeakBytes: number;
}

/**
 * The outcome of one run in a stable JSON shape (bytes and milliseconds throughout), for the text summary,
 * `headroom stats` and scripts.
 */
export interface Summary {
  /** null when the job died of a signal or the capture has no END record. */
  exitCode: number | null;
  signal: string | null;
  /** The status headroom exited with. */
  status: number | null;
  oomKilled: boolean;
  oomKills: OomKill[];
  /** The limit in force at the peak. */
  limit: { bytes: number | null; source: string };
  peak: {
    /** The larger of the kernel's high-water mark and the highest sample. */
    bytes: number;
    timeMs: number;
    /** From the sample with the highest usage. */
    breakdown: MemoryBreakdown;
    /** That sample's usage; below `bytes` when the kernel saw a spike between samples. */
    sampledBytes: number;
  };
  /** Every process seen, highest peak RSS first. */
  processes: ProcessSummary[];
  limitHits: number;
  durationMs: number;
  truncated: boolean;
  warnings: string[];
  command: string[];
  component: string | null;
  cgroup: { version: 1 | 2; path: string; mode: CgroupMode };
  /** Present for a `headroom attach` capture: the process that was watched. */
  attached?: { pid: number };
  /** Present for a post-mortem of the exporter's flight recorder: whose, and when the kill came. */
  postmortem?: CaptureHeader['postmortem'];
  /** What the guard set before the job started, and what it did or saw (MemoryError instead of SIGKILL). */
  guard: {
    knobs: GuardKnob[];
    /** With a graceful path asked for: whether it or a knob acts first, and why. */
    order?: GuardOrder;
    actions: Array<{ timeMs: number; action: GuardAction; pid: number | null; message: string }>;
  };
  /** The one mechanism that explains the run, in one sentence; the findings follow it. */
  verdict: Verdict;
  /** What filled memory and what to do, most severe first: only those that add to the verdict. */
  findings: Finding[];
  /** The allocation profile at the peak; absent when the run was not profiled. */
  profile?: SummaryProfile;
}

/** What the findings and the verdict are read from. */
export type SummaryBase = Omit<Summary, 'findings' | 'verdict' | 'profile'>;

/**
 * Summarizes a capture, truncated or not.
 *
 * In observe mode headroom shares the cgroup with the job, so the 'self' series (headroom's own resident
 * memory) is subtracted from usage and anon: the job should not be blamed for its observer. Counters
 * (OOM kills, limit hits) are then counted from the first sample, because the cgroup existed, and may
 * have counted, before the run; in own mode the cgroup was made for the job and counts from zero.
 */
export function summarize(capture: Capture): Summary {
  const { header, end, series } = capture;
  const observe = header.cgroup.mode === 'observe';
  const warnings = [...capture.warnings];
  // What headroom noted in the capture as it recorded (a gap in the samples, a post-mortem's caveats).
  for (const event of capture.events) if (event.kind === 'note') warnings.push(event.message);
  if (series.length === 0) warnings.push('no cgroup samples were recorded');

  const peak = findPeak(capture, observe, warnings);
  const processes = capture.processes
    .map((track) => ({
      pid: track.pid,
      ppid: track.ppid,
      name: track.name,
      argv: [...track.argv],
      peakRssBytes: track.peakRss,
      rssAtPeakBytes: rssAt(track, peak.timeMs),
    }))
    .sort((a, b) => b.peakRssBytes - a.peakRssBytes || a.pid - b.pid);
  const oomKills = findOomKills(capture, observe);

  const base: SummaryBase = {
    exitCode: end?.exitCode ?? null,
    signal: end?.signal ?? null,
    status: end?.status ?? null,
    oomKilled: oomKills.length > 0,
    oomKills,
    limit: limitAt(capture, peak.timeMs),
    peak,
    processes,
    limitHits: end ? end.limitHits : counter(series.values.limitHits, series, observe).rise,
    durationMs: end?.durationMs ?? capture.lastTimeMs,
    truncated: capture.truncated,
    warnings,
    command: [...header.command],
    component: header.component ?? null,
    cgroup: { version: header.cgroup.version, path: header.cgroup.path, mode: header.cgroup.mode },
    guard: guardOf(capture),
    ...(header.attached ? { attached: { pid: header.attached.pid } } : {}),
    ...(header.postmortem ? { postmortem: header.postmortem } : {}),
  };
  const profile = summarizeProfile(capture);
  const ctx = buildContext(capture, base);
  const found = findFindings(ctx);
  const verdict = decideVerdict(ctx, found, profile);
  return {
    verdict,
    ...base,
    findings: agreeWithVerdict(verdict, found, base.oomKilled),
    ...(profile ? { profile } : {}),
  };
}

function guardOf(capture: Capture): Summary['guard'] {
  const guard: Summary['guard'] = { knobs: [], actions: [] };
  for (const event of capture.events) {
    if (event.kind === 'guard-knobs') {
      guard.knobs.push(...event.knobs);
      if (event.order) guard.order = event.order;
    }
    if (event.kind === 'guard-action') {
      const { timeMs, action, pid, message } = event;
      guard.actions.push({ timeMs, action, pid, message });
    }
  }
  return guard;
}

function findPeak(capture: Capture, observe: boolean, warnings: string[]): Summary['peak'] {
  const series = capture.series;
  const sampled = highestSample(series, observe);
  const kernel = kernelPeak(capture, observe, sampled?.bytes ?? 0, warnings);
  const sampledBytes = sampled?.bytes ?? 0;
  const breakdown = sampled ? breakdownAt(series, sampled.index, observe) : emptyBreakdown();
  if (kernel && kernel.bytes > sampledBytes) {
    return { bytes: kernel.bytes, timeMs: kernel.timeMs, breakdown, sampledBytes };
  }
  return {
    bytes: sampledBytes,
    timeMs: sampled ? (series.timeMs[sampled.index] ?? 0) : 0,
    breakdown,
    sampledBytes,
  };
}

/** The highest sample, leaving out those torn by a kill unless there is no other. */
function highestSample(series: CgroupSeries, observe: boolean): { index: number; bytes: number } | undefined {
  const usage = series.values.usage;
  let best: { index: number; bytes: number } | undefined;
  let bestTorn: { index: number; bytes: number } | undefined;
  for (let i = 0; i < series.length; i++) {
    const value = usage[i] ?? -1;
    if (value < 0) continue;
    const bytes = value - selfAt(series, i, observe);
    if (tornByKill(series, i)) {
      if (!bestTorn || bytes > bestTorn.bytes) bestTorn = { index: i, bytes };
    } else if (!best || bytes > best.bytes) {
      best = { index: i, bytes };
    }
  }
  return best ?? bestTorn;
}

/** After a sample torn by a kill, usage has fallen below this share of it (see tornByKill). */
const FALLEN_SHARE = 0.75;

/**
 * A sample read across an OOM kill: usage from before the victim's memory was freed, the breakdown from
 * after (256 MiB used, 156 KiB of it anon, seen in the v2 VM's post-mortem). The readers mend what they
 * can (kernel/untorn-sample.ts), but usage can still read high for a moment while memory.stat has
 * already dropped. Such a sample's breakdown falls short of its usage where the sample before it did
 * not, and it is the last one or the next one's usage has fallen by a quarter. A breakdown short of
 * usage for other reasons (socket buffers, say) is short in the samples around it too.
 */
function tornByKill(series: CgroupSeries, index: number): boolean {
  if (index === 0 || whole(series, index) || !whole(series, index - 1)) return false;
  const usage = series.values.usage[index] ?? 0;
  const next = index + 1 < series.length ? (series.values.usage[index + 1] ?? -1) : -1;
  return next < FALLEN_SHARE * usage;
}

/** Whether a sample's breakdown accounts for its usage (kernel/untorn-sample.ts). */
function whole(series: CgroupSeries, index: number): boolean {
  const v = series.values;
  const accounted =
    (v.anon[index] ?? 0) + (v.file[index] ?? 0) + (v.shmem[index] ?? 0) + (v.kernel[index] ?? 0);
  return accountsFor(accounted, v.usage[index] ?? 0);
}

/**
 * The kernel's high-water mark, which catches spikes between samples. In observe mode it only counts when
 * it rose during the run: a container's memory.peak may have been set long before headroom started.
 */
function kernelPeak(
  capture: Capture,
  observe: boolean,
  sampledBytes: number,
  warnings: string[],
): { bytes: number; timeMs: number } | undefined {
  const { series, end } = capture;
  const peakSeries = series.values.peak;
  let first: number | undefined;
  let last: number | undefined;
  for (let i = 0; i < series.length; i++) {
    const value = peakSeries[i] ?? -1;
    if (value < 0) continue;
    first ??= value;
    last = value;
  }
  const final = end?.peakBytes ?? last;
  if (final === undefined || final === null) return undefined;
  let reached: number | undefined;
  for (let i = 0; i < series.length; i++) {
    if ((peakSeries[i] ?? -1) >= final) {
      reached = i;
      break;
    }
  }
  const selfIndex = reached ?? series.length - 1;
  const bytes = final - (selfIndex >= 0 ? selfAt(series, selfIndex, observe) : 0);
  if (observe && (first === undefined || final <= first)) {
    if (bytes > sampledBytes) {
      warnings.push('the cgroup high-water mark was not counted: it may predate this run (observe mode)');
    }
    return undefined;
  }
  // Reached between the last sample and the end: the end is the best time we have.
  const timeMs = reached === undefined ? capture.lastTimeMs : (series.timeMs[reached] ?? 0);
  return { bytes, timeMs };
}

function breakdownAt(series: CgroupSeries, index: number, observe: boolean): MemoryBreakdown {
  const v = series.values;
  const at = (column: Float64Array) => Math.max(0, column[index] ?? 0);
  return {
    anon: Math.max(0, at(v.anon) - selfAt(series, index, observe)),
    file: at(v.file),
    fileDirty: at(v.fileDirty),
    fileWriteback: at(v.fileWriteback),
    shmem: at(v.shmem),
    kernel: at(v.kernel),
    swap: at(v.swap),
  };
}

function emptyBreakdown(): MemoryBreakdown {
  return { anon: 0, file: 0, fileDirty: 0, fileWriteback: 0, shmem: 0, kernel: 0, swap: 0 };
}

function selfAt(series: CgroupSeries, index: number, observe: boolean): number {
  return observe ? Math.max(0, series.values.self[index] ?? 0) : 0;
}

/**
 * How much a counter series rose during the run, and when it reached its final value. Own mode counts
 * from zero so that events before the first sample are not lost.
 */
function counter(
  column: Float64Array,
  series: CgroupSeries,
  observe: boolean,
): { rise: number; reachedMs: number | undefined } {
  let first: number | undefined;
  let last: number | undefined;
  let reachedMs: number | undefined;
  for (let i = 0; i < series.length; i++) {
    const value = column[i] ?? -1;
    if (value < 0) continue;
    first ??= value;
    if (last === undefined || value > last) reachedMs = series.timeMs[i];
    last = value;
  }
  if (last === undefined) return { rise: 0, reachedMs: undefined };
  return { rise: Math.max(0, last - (observe ? (first ?? 0) : 0)), reachedMs };
}

/**
 * Victims from the oom-kill events, plus anonymous entries for kills the counters show but no event
 * named. Exit status 137 alone is not evidence: anything can send SIGKILL.
 */
function findOomKills(capture: Capture, observe: boolean): OomKill[] {
  const kills: OomKill[] = [];
  let fromEvents = 0;
  // A process dies once: a pid named again by a later kill (the recorder matched the same vanished
  // process on two ticks) is a kill whose victim was not seen.
  const named = new Set<number>();
  for (const event of capture.events) {
    if (event.kind !== 'oom-kill') continue;
    for (const victim of event.victims) {
      const again = named.has(victim.pid);
      named.add(victim.pid);
      kills.push(
        again
          ? { pid: null, name: null, timeMs: event.timeMs }
          : { pid: victim.pid, name: victim.name, timeMs: event.timeMs },
      );
    }
    for (let k = event.victims.length; k < event.count; k++) {
      kills.push({ pid: null, name: null, timeMs: event.timeMs });
    }
    fromEvents += Math.max(event.count, event.victims.length);
  }
  const series = counter(capture.series.values.oomKills, capture.series, observe);
  // The END record counts the rise since the first sample, which can miss a kill before it (own mode).
  const total = Math.max(series.rise, capture.end?.oomKills ?? 0);
  for (let k = fromEvents; k < total; k++) {
    kills.push({ pid: null, name: null, timeMs: series.reachedMs ?? capture.lastTimeMs });
  }
  return kills.sort((a, b) => a.timeMs - b.timeMs);
}

/** The header's limit, unless a limit-change event before the peak replaced it. */
function limitAt(capture: Capture, timeMs: number): Summary['limit'] {
  const { bytes, source } = capture.header.limit;
  let current = bytes;
  for (const event of capture.events) {
    if (event.kind === 'limit-change' && event.timeMs <= timeMs) current = event.limit;
  }
  return current === bytes
    ? { bytes, source }
    : { bytes: current, source: `${source}, changed during the run` };
}

function rssAt(track: ProcessTrack, timeMs: number): number {
  // A process seen gone on the tick of the peak (an OOM victim, when the kernel's mark is the peak) held
  // its memory up to that moment.
  if (track.startMs > timeMs || (track.endMs !== null && track.endMs < timeMs)) return 0;
  const { timeMs: times, anon, file, shmem } = track.samples;
  const found = lastAtOrBefore(times, timeMs);
  if (found < 0) return 0;
  return (anon[found] ?? 0) + (file[found] ?? 0) + (shmem[found] ?? 0);
}
