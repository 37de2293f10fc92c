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
 * A file in a directory of the run's own (mode 0700, made by mkdtemp, so its name cannot be guessed or
 * planted) where the job's preloads append what they did.
 */
export function guardLogPath(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-guard-')), 'guard.jsonl');
}

/**
 * Reads and removes the log. Lines that do not parse are skipped: the job can write anything to a file it
 * was told about, and a guard report is never worth failing a run for.
 */
export function takeGuardLog(file: string): GuardReport[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // Nothing was reported.
  }
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
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
