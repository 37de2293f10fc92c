import { spawnSync } from 'node:child_process';

/**
 * How much of each file is in the page cache, in bytes, counted with mincore(2) by util-linux's fincore
 * (Node has no mincore of its own). Files fincore cannot open (gone, no permission) are left out; an
 * empty map means fincore is not installed or failed.
 */
export function residentBytes(paths: readonly string[], timeoutMs = 3000): Map<string, number> {
  const resident = new Map<string, number>();
  if (paths.length === 0) return resident;
  const result = spawnSync('fincore', ['--json', '--bytes', '--output', 'RES,FILE', '--', ...paths], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // fincore exits 1 when any one file failed, and still reports the others.
  if (result.error || !result.stdout) return resident;
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    return resident;
  }
  const rows = (parsed as { fincore?: unknown }).fincore;
  if (!Array.isArray(rows)) return resident;
  for (const row of rows as Array<{ res?: unknown; file?: unknown }>) {
    // Older util-linux prints the numbers as strings.
    const bytes = typeof row.res === 'string' ? Number(row.res) : row.res;
    if (typeof row.file === 'string' && typeof bytes === 'number' && Number.isFinite(bytes)) {
      resident.set(row.file, bytes);
    }
  }
  return resident;
}
