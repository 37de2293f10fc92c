import os from 'node:os';

/** The status a shell reports: the exit code, or 128 + N for a death by signal N. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (os.constants.signals[signal] ?? 0);
  return code ?? 0;
}
