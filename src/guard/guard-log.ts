import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What a preload inside the job reports: one JSON object per line. */
export interface GuardReport {
  action: 'memory-error';
  pid: number;
  runtime: string;
  /** file:line where the allocation failed, when known. */
  where: string | null;
  /** The rlimit in force, bytes. */
  rlimit: number | null;
  /** Wall-clock ms since the epoch. */
  timeMs: number | null;
}

/**
 * A file of the run's own in the temp directory, where the job's preloads append what they did. Named
 * without node:crypto, whose start-up alone costs headroom megabytes of resident memory.
 */
export function guardLogPath(): string {
  const unique = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  return path.join(os.tmpdir(), `headroom-guard-${unique}.jsonl`);
}

/**
 * Reads and removes the log. Lines that do not parse are skipped: the job can write anything to a file it
 * was told about, and a guard report is never worth failing a run for.
 */
export function takeGuardLog(file: string): GuardReport[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  fs.rmSync(file, { force: true });
  const reports: GuardReport[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (value.action !== 'memory-error' || typeof value.pid !== 'number') continue;
      reports.push({
        action: 'memory-error',
        pid: value.pid,
        runtime: typeof value.runtime === 'string' ? value.runtime : 'unknown',
        where: typeof value.where === 'string' ? value.where : null,
        rlimit: typeof value.rlimit === 'number' ? value.rlimit : null,
        timeMs: typeof value.t === 'number' ? value.t : null,
      });
    } catch {
      // Not a report.
    }
  }
  return reports;
}
