import { formatBytes, formatDuration } from '../format.js';
import type { Capture } from '../record/capture-reader.js';
import { sanitizeForTerminal } from '../terminal-text.js';
import { profileAt, topSites } from './profile-at.js';
import type { ProfileMode, ProfileRuntime } from './profile-format.js';
import type { ProcessProfile } from './profile-model.js';
import { formatShare, plural, type SiteRow, siteRow } from './profile-table.js';

/** One profiling session of one process. */
export interface ProcessProfileStats {
  pid: number;
  /** As the sampler saw it, else as the profiler did. */
  command: string[];
  runtime: ProfileRuntime;
  mode: ProfileMode;
  /** Node: bytes between samples; Python growth: ms between samples. */
  interval: number;
  version: string | null;
  /** ms since the capture's start. */
  startMs: number;
  snapshots: number;
  /** Bytes and count of its snapshot that applies at the peak; 0 when none does. */
  bytesAtPeak: number;
  countAtPeak: number;
  /** Its largest snapshot. */
  maxBytes: number;
  maxBytesMs: number | null;
  notes: number;
}

/** `headroom stats --json`: stable, bytes and ms throughout. */
export interface ProfileStats {
  peakMs: number;
  totalBytesAtPeak: number;
  totalCountAtPeak: number;
  processes: ProcessProfileStats[];
  /** At the peak, over all processes. */
  topBySize: SiteRow[];
  topByCount: SiteRow[];
  /** What the profilers said (a refused snapshot, a failed start), in time order. */
  notes: Array<{ pid: number; timeMs: number; message: string }>;
}

export function profileStats(capture: Capture, limit = 5): ProfileStats {
  const view = profileAt(capture, 'peak');
  const atPeak = new Map(view.parts.map((part) => [part.profile, part.snapshot]));
  const processes = capture.profiles.map((profile) => {
    const snapshot = atPeak.get(profile);
    const largest = largestSnapshot(profile);
    return {
      pid: profile.pid,
      command: commandOf(capture, profile),
      runtime: profile.info.runtime,
      mode: profile.info.mode,
      interval: profile.info.interval,
      version: profile.info.version ?? null,
      startMs: profile.startMs,
      snapshots: profile.snapshots.length,
      bytesAtPeak: snapshot?.totalBytes ?? 0,
      countAtPeak: snapshot ? snapshot.counts.reduce((sum, count) => sum + count, 0) : 0,
      maxBytes: largest?.totalBytes ?? 0,
      maxBytesMs: largest?.timeMs ?? null,
      notes: profile.notes.length,
    };
  });
  const notes = capture.profiles
    .flatMap((profile) => profile.notes.map((note) => ({ pid: profile.pid, ...note })))
    .sort((a, b) => a.timeMs - b.timeMs);
  const totalCount = view.tree.count;
  return {
    peakMs: view.timeMs,
    totalBytesAtPeak: view.totalBytes,
    totalCountAtPeak: totalCount,
    processes,
    topBySize: topSites(view, 'bytes', limit).map((site) => siteRow(site, view.totalBytes, 'size')),
    topByCount: topSites(view, 'count', limit).map((site) => siteRow(site, totalCount, 'count')),
    notes,
  };
}

const MAX_NOTES = 10;

export function renderProfileStats(stats: ProfileStats): string {
  const lines = [
    `allocation profile: ${plural(stats.processes.length, 'profiled process')}; at peak ` +
      `(${formatDuration(stats.peakMs)}) ${formatBytes(stats.totalBytesAtPeak)}, count ${stats.totalCountAtPeak}`,
    '',
    'processes',
  ];
  const rows = stats.processes.map((p) => [
    String(p.pid),
    `${p.runtime} ${p.mode}`,
    intervalText(p),
    String(p.snapshots),
    formatBytes(p.bytesAtPeak),
    p.maxBytesMs === null ? '-' : `${formatBytes(p.maxBytes)} at ${formatDuration(p.maxBytesMs)}`,
    sanitizeForTerminal(commandText(p.command)),
  ]);
  lines.push(
    ...table(['pid', 'profiler', 'interval', 'snapshots', 'at peak', 'largest', 'command'], rows, 'rlrrrrl'),
  );
  for (const [title, sites, key] of [
    ['top sites by size, at peak', stats.topBySize, 'bytes'],
    ['top sites by count, at peak', stats.topByCount, 'count'],
  ] as const) {
    lines.push('', title);
    if (sites.length === 0) {
      lines.push('  (none)');
      continue;
    }
    const siteRows = sites.map((site) => [
      key === 'bytes' ? formatBytes(site.bytes) : String(site.count),
      formatShare(site.share),
      sanitizeForTerminal(site.label),
    ]);
    lines.push(...table([key, 'share', 'site'], siteRows, 'rrl'));
  }
  if (stats.notes.length > 0) {
    lines.push('', 'notes from the profilers');
    for (const note of stats.notes.slice(0, MAX_NOTES)) {
      lines.push(`  ${formatDuration(note.timeMs)}  pid ${note.pid}: ${sanitizeForTerminal(note.message)}`);
    }
    if (stats.notes.length > MAX_NOTES)
      lines.push(`  ... ${plural(stats.notes.length - MAX_NOTES, 'more note')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Aligned columns, each right- ("r") or left-aligned ("l"); the last column is not padded. */
function table(head: string[], rows: string[][], align: string): string[] {
  const widths = head.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const format = (row: string[]) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1) return cell;
        const width = widths[i] as number;
        return align[i] === 'r' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [`  ${format(head)}`, ...rows.map((row) => `  ${format(row)}`)];
}

function intervalText(p: ProcessProfileStats): string {
  if (p.mode === 'sampling') return `${formatBytes(p.interval)}`;
  if (p.mode === 'growth') return `${p.interval} ms`;
  return 'exact';
}

function commandOf(capture: Capture, profile: ProcessProfile): string[] {
  const track = capture.processes.find(
    (t) =>
      t.pid === profile.pid &&
      t.startMs <= profile.startMs &&
      (t.endMs === null || t.endMs >= profile.startMs),
  );
  return track?.argv.length ? [...track.argv] : [...profile.info.argv];
}

function commandText(argv: readonly string[]): string {
  const text = argv.join(' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function largestSnapshot(profile: ProcessProfile) {
  let best: ProcessProfile['snapshots'][number] | undefined;
  for (const snapshot of profile.snapshots)
    if (!best || snapshot.totalBytes > best.totalBytes) best = snapshot;
  return best;
}
