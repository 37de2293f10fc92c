import { formatBytes, formatDuration } from '../format.js';
import type { CgroupRow } from '../serve/cgroup-table.js';
import { sanitizeForTerminal } from '../terminal-text.js';

export const SORT_KEYS = ['usage', 'wset', 'anon', 'share', 'left', 'name'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface TopViewOptions {
  sort: SortKey;
  /** Tree: each cgroup under its parent, indented; flat: one list by the sort key. */
  tree: boolean;
  width: number;
  height: number;
  /** Shown in the header. */
  topPath: string;
  intervalMs: number;
}

const NUMBER = 8;
const COLUMNS: Array<[string, (row: CgroupRow) => string]> = [
  ['LIMIT', (row) => bytes(row.limit)],
  ['USAGE', (row) => bytes(row.usage)],
  ['WSET', (row) => bytes(row.workingSet)],
  ['ANON', (row) => bytes(row.anon)],
  ['CACHE', (row) => bytes(row.file)],
  ['DIRTY', (row) => bytes(row.fileDirty + row.fileWriteback)],
  ['SHMEM', (row) => bytes(row.shmem)],
  ['PSI', (row) => (row.psiSome === null ? '-' : `${Math.round(row.psiSome * 100)}%`)],
  ['OOM', (row) => String(row.oomKills)],
  ['TREND', (row) => (row.growthPerSecond === null ? '-' : `${signed(row.growthPerSecond * 60)}/m`)],
  ['LEFT', (row) => (row.secondsUntilLimit === null ? '-' : formatDuration(row.secondsUntilLimit * 1000))],
];

/**
 * The screen of `headroom top`: a header, a column header and a row per cgroup, each line cut to the
 * terminal's width and the list to its height. Names come from cgroup paths anyone can create, so they
 * pass the terminal sanitizer.
 */
export function renderTop(
  rows: readonly CgroupRow[],
  options: TopViewOptions,
  /** Told the paths of the rows shown, top first. */
  shown?: (paths: string[]) => void,
): string[] {
  const ordered = order(rows, options);
  const nameWidth = Math.max(12, options.width - COLUMNS.length * (NUMBER + 1));
  const header = `headroom top  ${rows.length} cgroups below ${sanitizeForTerminal(options.topPath)}  sort: ${options.sort} [s]  ${options.tree ? 'tree' : 'flat'} [t]  quit [q]  every ${formatDuration(options.intervalMs)}`;
  const lines = [
    cut(header, options.width),
    cut(
      `${'NAME'.padEnd(nameWidth)}${COLUMNS.map(([title]) => ` ${title.padStart(NUMBER)}`).join('')}`,
      options.width,
    ),
  ];
  const visible = ordered.slice(0, Math.max(0, options.height - lines.length));
  shown?.(visible.map((row) => row.path));
  for (const row of visible) {
    const indent = options.tree ? '  '.repeat(Math.min(row.depth, 8)) : '';
    // In the tree the indent already says where a plain cgroup sits: its last component is enough.
    const label =
      options.tree && row.kind === 'cgroup' ? row.path.slice(row.path.lastIndexOf('/') + 1) || '/' : row.name;
    const name = cut(`${indent}${sanitizeForTerminal(label)}`, nameWidth).padEnd(nameWidth);
    lines.push(
      cut(`${name}${COLUMNS.map(([, cell]) => ` ${cell(row).padStart(NUMBER)}`).join('')}`, options.width),
    );
  }
  return lines;
}

function order(rows: readonly CgroupRow[], options: TopViewOptions): CgroupRow[] {
  const byKey = [...rows].sort((a, b) => compare(a, b, options.sort));
  if (!options.tree) return byKey;
  // Parents before children; siblings in sort order.
  const rank = new Map(byKey.map((row, index) => [row.path, index]));
  const children = new Map<string, CgroupRow[]>();
  const paths = new Set(rows.map((row) => row.path));
  const roots: CgroupRow[] = [];
  for (const row of byKey) {
    const parent = row.path.slice(0, row.path.lastIndexOf('/')) || '/';
    if (row.path !== '/' && paths.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(row);
      children.set(parent, list);
    } else {
      roots.push(row);
    }
  }
  const out: CgroupRow[] = [];
  const visit = (row: CgroupRow) => {
    out.push(row);
    for (const child of (children.get(row.path) ?? []).sort(
      (a, b) => (rank.get(a.path) ?? 0) - (rank.get(b.path) ?? 0),
    )) {
      visit(child);
    }
  };
  for (const root of roots) visit(root);
  return out;
}

function compare(a: CgroupRow, b: CgroupRow, key: SortKey): number {
  switch (key) {
    case 'name':
      return a.name.localeCompare(b.name);
    case 'wset':
      return b.workingSet - a.workingSet;
    case 'anon':
      return b.anon - a.anon;
    case 'share':
      return share(b) - share(a);
    case 'left':
      return (
        (a.secondsUntilLimit ?? Number.POSITIVE_INFINITY) - (b.secondsUntilLimit ?? Number.POSITIVE_INFINITY)
      );
    default:
      return b.usage - a.usage;
  }
}

function share(row: CgroupRow): number {
  return row.limit ? row.workingSet / row.limit : 0;
}

function bytes(value: number | null): string {
  return value === null ? '-' : formatBytes(value).replace(' ', '');
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : '-'}${bytes(Math.abs(value))}`;
}

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}
