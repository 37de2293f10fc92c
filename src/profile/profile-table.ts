import { formatBytes } from '../format.js';
import { sanitizeForTerminal } from '../terminal-text.js';
import { type ProfileView, type Site, topSites } from './profile-at.js';
import type { ProfileRuntime } from './profile-format.js';

/** How sites are ranked: by the bytes they hold or by how many allocations (samples, steps) they hold. */
export type SiteOrder = 'size' | 'count';

/** One allocation site in the stable JSON of `headroom table --json`, `stats --json` and `summary --json`. */
export interface SiteRow {
  /** "load_everything (app/etl.py:12)". */
  label: string;
  /** The function, "" when anonymous. */
  name: string;
  file: string;
  /** 1-based; 0 when unknown. */
  line: number;
  bytes: number;
  count: number;
  /** Fraction (0..1) of all profiled bytes, or of all counts when ranked by count. */
  share: number;
  pids: number[];
  runtime: ProfileRuntime;
}

export interface SiteTable {
  /** The snapshots' time asked for, ms since the capture's start. */
  timeMs: number;
  by: SiteOrder;
  /** Every profiled byte and count at the time, over all processes. */
  totalBytes: number;
  totalCount: number;
  processes: number;
  sites: SiteRow[];
  /** Sites left out by the limit. */
  more: number;
}

/** The view's allocation sites, largest first; limit 0 keeps them all. */
export function siteTable(view: ProfileView, by: SiteOrder = 'size', limit = 20): SiteTable {
  const all = topSites(view, by === 'size' ? 'bytes' : 'count', Number.POSITIVE_INFINITY);
  const totalCount = view.tree.count;
  const shown = limit > 0 ? all.slice(0, limit) : all;
  const whole = by === 'size' ? view.totalBytes : totalCount;
  return {
    timeMs: view.timeMs,
    by,
    totalBytes: view.totalBytes,
    totalCount,
    processes: view.parts.length,
    sites: shown.map((site) => siteRow(site, whole, by)),
    more: all.length - shown.length,
  };
}

export function siteRow(site: Site, whole: number, by: SiteOrder): SiteRow {
  const part = by === 'size' ? site.bytes : site.count;
  return {
    label: site.label,
    name: site.frame.name,
    file: site.frame.file,
    line: site.frame.line,
    bytes: site.bytes,
    count: site.count,
    share: whole > 0 ? part / whole : 0,
    pids: [...site.pids].sort((a, b) => a - b),
    runtime: site.runtime,
  };
}

/**
 * The table as aligned text for a terminal, under a line saying what it covers ("at peak (2.00s)" is
 * `when`). Labels come from the job's code and paths, so they are sanitized.
 */
export function renderSiteTable(table: SiteTable, when: string): string {
  const lines = [
    `allocation sites ${when}, by ${table.by}: ${formatBytes(table.totalBytes)}, count ${table.totalCount}, ` +
      `in ${plural(table.processes, 'process')}`,
  ];
  if (table.sites.length === 0) {
    lines.push('  (no memory held by profiled code at this time)');
    return `${lines.join('\n')}\n`;
  }
  const rows = table.sites.map((site) => [
    formatBytes(site.bytes),
    String(site.count),
    formatShare(site.share),
    sanitizeForTerminal(site.label),
    pidList(site.pids),
  ]);
  const head = ['bytes', 'count', 'share', 'site', 'pids'];
  const widths = head.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] as string).length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, i) =>
        i < 3 ? cell.padStart(widths[i] as number) : i === 3 ? cell.padEnd(widths[i] as number) : cell,
      )
      .join('  ')
      .trimEnd();
  lines.push(`  ${format(head)}`);
  for (const row of rows) lines.push(`  ${format(row)}`);
  if (table.more > 0) lines.push(`  ... ${plural(table.more, 'more site')} (-n 0 shows all)`);
  return `${lines.join('\n')}\n`;
}

/** 0.7664 -> "76.6%". */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** "202", "101,202", "1,2,3 +4". */
export function pidList(pids: readonly number[]): string {
  const shown = pids.slice(0, 3).join(',');
  return pids.length > 3 ? `${shown} +${pids.length - 3}` : shown;
}

export function plural(count: number, noun: string): string {
  if (count === 1) return `1 ${noun}`;
  return `${count} ${noun.endsWith('s') ? `${noun}es` : `${noun}s`}`;
}
