// What a run must show, verdict aside, for its workload to count as doing what it claims: a verdict
// scored against a workload that did something else (a kernel that stopped charging pipes, a file
// already in the cache) would score nothing.
import type { MemoryBreakdown, Summary } from '../../src/analyze/summarize.js';
import type { RunHighs } from './run-highs.js';

/** The summary fields the checks read, all there before the verdict was. */
export type ObservedSummary = Pick<
  Summary,
  'exitCode' | 'signal' | 'status' | 'oomKills' | 'limit' | 'peak' | 'processes' | 'limitHits' | 'durationMs'
> & { guard: Pick<Summary['guard'], 'actions'>; highs: RunHighs };

/** A failed claim in words, or null when the run shows it. */
export type Check = (summary: ObservedSummary) => string | null;

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

export const status =
  (expected: number): Check =>
  (s) =>
    s.status === expected ? null : `exit status ${s.status}, not ${expected}`;

export const oomKilled: Check = (s) => (s.oomKills.length > 0 ? null : 'no OOM kill');

export const notOomKilled: Check = (s) => (s.oomKills.length === 0 ? null : 'an OOM kill');

export const hitLimit: Check = (s) =>
  s.limitHits > 0 || s.oomKills.length > 0 ? null : 'never at the limit';

export const neverAtLimit: Check = (s) => (s.limitHits === 0 ? null : `${s.limitHits} limit hits`);

export const limitOf =
  (bytes: number): Check =>
  (s) =>
    s.limit.bytes === bytes
      ? null
      : `limit ${s.limit.bytes === null ? 'none' : mib(s.limit.bytes)}, not ${mib(bytes)}`;

/** One part of the breakdown at the peak holds at least `share` of the sampled usage. */
export const mostly =
  (part: keyof MemoryBreakdown, share = 0.6): Check =>
  (s) => {
    const held = s.peak.breakdown[part];
    return s.peak.sampledBytes > 0 && held >= share * s.peak.sampledBytes
      ? null
      : `${part} ${mib(held)} of ${mib(s.peak.sampledBytes)} at the peak, under ${share * 100}%`;
  };

/** Dirty and writeback cache together, at their highest in the run. */
export const dirtyAtLeast =
  (bytes: number): Check =>
  (s) =>
    s.highs.dirtyBytes >= bytes
      ? null
      : `dirty and writeback cache at most ${mib(s.highs.dirtyBytes)}, under ${mib(bytes)}`;

export const peakShare =
  (low: number, high: number): Check =>
  (s) => {
    const share = s.limit.bytes ? s.peak.bytes / s.limit.bytes : 0;
    return share >= low && share <= high
      ? null
      : `peak ${(share * 100).toFixed(0)}% of the limit, outside ${low * 100}-${high * 100}%`;
  };

export const lastsAtLeast =
  (ms: number): Check =>
  (s) =>
    s.durationMs >= ms ? null : `ran ${s.durationMs} ms, under ${ms}`;

export const guardCaught =
  (action: string): Check =>
  (s) =>
    s.guard.actions.some((a) => a.action === action) ? null : `the guard recorded no ${action}`;

/** The largest process is a child of the job's top process and held most of the peak. */
export const childHeldMost: Check = (s) => {
  const [largest] = s.processes;
  if (!largest) return 'no processes';
  const pids = new Set(s.processes.map((p) => p.pid));
  if (!pids.has(largest.ppid)) return `the largest process, ${largest.name} (${largest.pid}), is the top one`;
  return largest.peakRssBytes >= 0.6 * s.peak.bytes
    ? null
    : `the largest process held ${mib(largest.peakRssBytes)} of a ${mib(s.peak.bytes)} peak`;
};

/** At least `count` processes, none of which held a third of the peak. */
export const spreadOver =
  (count: number): Check =>
  (s) => {
    if (s.processes.length < count) return `${s.processes.length} processes, not ${count}`;
    const [largest] = s.processes;
    return largest && largest.peakRssBytes < s.peak.bytes / 3
      ? null
      : `${largest?.name} (${largest?.pid}) held ${mib(largest?.peakRssBytes ?? 0)}, a third of the peak or more`;
  };

/** What a run showed, in one line: for the corpus's per-case lines and reports. */
export function observed(s: ObservedSummary): string {
  const b = s.peak.breakdown;
  const ended = s.signal ? `${s.status} (${s.signal})` : String(s.status);
  const kills = s.oomKills.length
    ? `OOM kill ${s.oomKills.map((k) => k.name ?? '?').join(', ')}`
    : 'no OOM kill';
  const limit = s.limit.bytes === null ? 'no limit' : mib(s.limit.bytes);
  const largest = s.processes[0];
  return (
    `exit ${ended}, ${kills}, ${s.limitHits} limit hits, peak ${mib(s.peak.bytes)} of ${limit}: ` +
    `anon ${mib(b.anon)}, file ${mib(b.file)} (dirty ${mib(b.fileDirty + b.fileWriteback)}, ` +
    `${mib(s.highs.dirtyBytes)} at most), ` +
    `shmem ${mib(b.shmem)}, kernel ${mib(b.kernel)}; ${s.processes.length} processes` +
    (largest ? `, largest ${largest.name} ${mib(largest.peakRssBytes)}` : '')
  );
}
