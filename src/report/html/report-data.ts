import path from 'node:path';
import type { Finding } from '../../analyze/finding.js';
import type { OomKill, ProcessSummary, Summary } from '../../analyze/summarize.js';
import type { CaptureHeader } from '../../record/capture-format.js';
import type { Capture, ProcessTrack } from '../../record/capture-reader.js';
import { alignSteps, indexAtOrAfter, MAX_POINTS, minMaxIndices, pick } from './downsample.js';
import { buildFlameData, type FlameData, flameJoinLine } from './flamegraph-data.js';

/** Processes drawn as lines over time. */
export const TOP_PROCESS_LINES = 10;
/** Rows of the process table; the rest are counted. */
export const MAX_PROCESS_ROWS = 200;
/** Limit-hit marks; more events than this are merged into this many. */
const MAX_LIMIT_HIT_MARKS = 2000;

/**
 * Everything the page shows, as plain JSON: bytes and milliseconds since the job started. Series values
 * are null where unknown; the breakdown series are the real (not stacked) values.
 */
export interface ReportData {
  format: 'headroom-report';
  version: 1;
  captureFile: string;
  tool: string;
  startedAt: string;
  command: string[];
  component: string | null;
  host: { hostname: string; kernel: string; memoryBytes: number; swapBytes: number };
  cgroup: { version: 1 | 2; path: string; mode: 'own' | 'observe'; observeReason: string | null };
  limit: {
    bytes: number | null;
    source: string;
    highBytes: number | null;
    swapBytes: number | null;
    requestedMemory: number | null;
  };
  outcome: {
    exitCode: number | null;
    signal: string | null;
    status: number | null;
    durationMs: number;
    truncated: boolean;
    limitHits: number;
    oomKills: OomKill[];
  };
  peak: Summary['peak'];
  verdict: Summary['verdict'];
  findings: Finding[];
  warnings: string[];
  timeline: Timeline;
  processes: { total: number; rows: ProcessSummary[] };
  processLines: ProcessLines;
  /** The allocation profile's flame graph, first at the peak; null: none recorded. */
  profile: FlameData | null;
}

export interface Timeline {
  /** Samples in the capture, before thinning. */
  samples: number;
  timeMs: number[];
  usage: Array<number | null>;
  anon: Array<number | null>;
  /** Clean page cache: file − dirty − writeback. */
  cache: Array<number | null>;
  /** Dirty and under writeback. */
  dirty: Array<number | null>;
  shmem: Array<number | null>;
  kernel: Array<number | null>;
  swap: Array<number | null>;
  /** The limit in force at each point; null: none. */
  limit: Array<number | null>;
  high: Array<number | null>;
  oomKills: Array<{ timeMs: number; victims: Array<{ pid: number; name: string }>; count: number }>;
  limitHits: Array<{ timeMs: number; count: number }>;
}

export interface ProcessLines {
  timeMs: number[];
  series: Array<{ pid: number; name: string; peakRssBytes: number; rss: Array<number | null> }>;
}

export function buildReportData(capture: Capture, summary: Summary): ReportData {
  const { header } = capture;
  return {
    format: 'headroom-report',
    version: 1,
    captureFile: path.basename(capture.file),
    tool: header.tool,
    startedAt: new Date(header.startMs).toISOString(),
    command: [...header.command],
    component: header.component ?? null,
    host: {
      hostname: header.hostname,
      kernel: header.kernel,
      memoryBytes: header.hostMemory.total,
      swapBytes: header.hostMemory.swapTotal,
    },
    cgroup: {
      version: header.cgroup.version,
      path: header.cgroup.path,
      mode: header.cgroup.mode,
      observeReason: header.cgroup.observeReason ?? null,
    },
    limit: {
      bytes: summary.limit.bytes,
      source: summary.limit.source,
      highBytes: header.limit.high,
      swapBytes: header.limit.swapBytes,
      requestedMemory: header.requested.memory,
    },
    outcome: {
      exitCode: summary.exitCode,
      signal: summary.signal,
      status: summary.status,
      durationMs: summary.durationMs,
      truncated: summary.truncated,
      limitHits: summary.limitHits,
      oomKills: summary.oomKills,
    },
    peak: summary.peak,
    verdict: summary.verdict,
    findings: summary.findings,
    warnings: summary.warnings,
    timeline: buildTimeline(capture),
    processes: { total: summary.processes.length, rows: summary.processes.slice(0, MAX_PROCESS_ROWS) },
    processLines: buildProcessLines(capture.processes),
    profile: capture.profiles.length
      ? (buildFlameData(capture, 'peak', { join: flameJoinLine(summary) }) ?? null)
      : null,
  };
}

/**
 * The cgroup series thinned by usage (min and max per bucket), keeping the highest sample and the
 * sample at or after each OOM kill; every series is taken at the same samples so that the stack adds up.
 * In observe mode headroom's own memory is left out of usage and anon, as in the summary.
 */
export function buildTimeline(capture: Capture, maxPoints: number = MAX_POINTS): Timeline {
  const { series, header, events } = capture;
  const v = series.values;
  const observe = header.cgroup.mode === 'observe';
  const usage = observe ? minusSelf(v.usage, v.self, series.length) : v.usage;
  const anon = observe ? minusSelf(v.anon, v.self, series.length) : v.anon;

  const keep: number[] = [];
  let highest = -1;
  for (let i = 0; i < series.length; i++) {
    if ((usage[i] ?? -1) >= 0 && (highest < 0 || (usage[i] ?? 0) > (usage[highest] ?? 0))) highest = i;
  }
  if (highest >= 0) keep.push(highest);
  const oomKills: Timeline['oomKills'] = [];
  const hits: Timeline['limitHits'] = [];
  for (const event of events) {
    if (event.kind === 'oom-kill') {
      oomKills.push({ timeMs: event.timeMs, victims: event.victims, count: event.count });
      const at = indexAtOrAfter(series.timeMs, event.timeMs);
      keep.push(at);
      if (at > 0) keep.push(at - 1);
    } else if (event.kind === 'limit-hit') {
      hits.push({ timeMs: event.timeMs, count: event.count });
    }
  }
  const indices = minMaxIndices(usage, maxPoints, keep);
  const known = (column: ArrayLike<number>) => pick(column, indices).map((x) => (x < 0 ? null : x));
  const fileDirty = pick(v.fileDirty, indices);
  const fileWriteback = pick(v.fileWriteback, indices);
  const file = pick(v.file, indices);
  const dirty = fileDirty.map((d, k) => {
    const w = fileWriteback[k] ?? -1;
    return d < 0 && w < 0 ? null : Math.max(0, d) + Math.max(0, w);
  });
  const cache = file.map((f, k) => (f < 0 ? null : Math.max(0, f - (dirty[k] ?? 0))));
  const timeMs = pick(series.timeMs, indices);
  const limits = limitsAt(header, events, timeMs);
  return {
    samples: series.length,
    timeMs,
    usage: known(usage),
    anon: known(anon),
    cache,
    dirty,
    shmem: known(v.shmem),
    kernel: known(v.kernel),
    swap: known(v.swap),
    limit: limits.limit,
    high: limits.high,
    oomKills,
    limitHits: mergeHits(hits, MAX_LIMIT_HIT_MARKS),
  };
}

function minusSelf(column: Float64Array, self: Float64Array, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const value = column[i] ?? -1;
    out[i] = value < 0 ? value : Math.max(0, value - Math.max(0, self[i] ?? 0));
  }
  return out;
}

/** The limit and high in force at each time, from the header and the limit-change events. */
function limitsAt(
  header: CaptureHeader,
  events: Capture['events'],
  timeMs: readonly number[],
): { limit: Array<number | null>; high: Array<number | null> } {
  const changes = events.filter((event) => event.kind === 'limit-change');
  const limit: Array<number | null> = [];
  const high: Array<number | null> = [];
  let current = { limit: header.limit.bytes, high: header.limit.high };
  let next = 0;
  for (const t of timeMs) {
    for (let change = changes[next]; change && change.timeMs <= t; change = changes[++next]) {
      current = { limit: change.limit, high: change.high };
    }
    limit.push(current.limit);
    high.push(current.high);
  }
  return { limit, high };
}

function mergeHits(hits: Timeline['limitHits'], max: number): Timeline['limitHits'] {
  if (hits.length <= max) return hits;
  const first = hits[0]?.timeMs ?? 0;
  const width = ((hits[hits.length - 1]?.timeMs ?? 0) - first) / max || 1;
  const merged: Timeline['limitHits'] = [];
  for (const hit of hits) {
    const bucketStart = first + Math.floor((hit.timeMs - first) / width) * width;
    const last = merged[merged.length - 1];
    if (last && last.timeMs >= bucketStart) last.count += hit.count;
    else merged.push({ timeMs: hit.timeMs, count: hit.count });
  }
  return merged;
}

/** Resident memory (anon + file + shmem) of the processes with the highest peaks, on one time axis. */
export function buildProcessLines(
  tracks: readonly ProcessTrack[],
  maxPoints: number = MAX_POINTS,
): ProcessLines {
  const top = [...tracks]
    .filter((track) => track.samples.timeMs.length > 0)
    .sort((a, b) => b.peakRss - a.peakRss || a.pid - b.pid)
    .slice(0, TOP_PROCESS_LINES);
  const aligned = alignSteps(
    top.map((track) => {
      const { timeMs, anon, file, shmem } = track.samples;
      return {
        times: timeMs,
        values: timeMs.map((_, k) => (anon[k] ?? 0) + (file[k] ?? 0) + (shmem[k] ?? 0)),
        startMs: Math.min(track.startMs, timeMs[0] ?? track.startMs),
        endMs: track.endMs,
      };
    }),
    maxPoints,
  );
  return {
    timeMs: aligned.times,
    series: top.map((track, i) => ({
      pid: track.pid,
      name: track.name,
      peakRssBytes: track.peakRss,
      rss: aligned.values[i] ?? [],
    })),
  };
}
