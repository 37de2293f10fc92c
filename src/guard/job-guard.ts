import path from 'node:path';
import { packageRoot } from '../package-root.js';
import type { GuardKnob } from '../record/capture-format.js';
import type { CaptureWriter } from '../record/capture-writer.js';
import { guardLogPath, takeGuardLog } from './guard-log.js';
import { runtimeKnobs } from './knobs.js';
import type { OnLimit } from './watchdog.js';

export interface GuardOptions {
  /** Set runtime knobs from the limit (default true). */
  knobs?: boolean;
  /** Node processes that run at once and share the limit (default 1). */
  nodeProcesses?: number;
  /** The pre-OOM watchdog: what to do at `threshold` (a share of the limit, default 0.95). */
  watch?: { onLimit: OnLimit; threshold?: number };
}

/** The guard of one run: the job's environment, what was set, and what the job's preloads reported. */
export interface JobGuard {
  env: NodeJS.ProcessEnv;
  knobs: GuardKnob[];
  /** Appends the preloads' reports to the capture as guard-action events and removes their log. */
  collect(writer: CaptureWriter, startMs: number, nowMs: number): void;
  /** Removes the log unread, when the job never ran. */
  discard(): void;
}

export function prepareGuard(
  options: GuardOptions | undefined,
  limit: number | null,
  env: NodeJS.ProcessEnv,
  command: readonly string[],
): JobGuard {
  if (options?.knobs === false || limit === null) {
    return { env, knobs: [], collect: () => {}, discard: () => {} };
  }
  const guardLog = guardLogPath();
  const { env: guarded, knobs } = runtimeKnobs({
    limit,
    env,
    command,
    nodeProcesses: Math.max(1, options?.nodeProcesses ?? 1),
    pythonPreload: path.join(packageRoot(), 'preload', 'python'),
    guardLog,
  });
  return {
    env: guarded,
    knobs,
    discard() {
      takeGuardLog(guardLog);
    },
    collect(writer, startMs, nowMs) {
      for (const report of takeGuardLog(guardLog)) {
        const rlimit =
          report.rlimit === null
            ? ''
            : ` under the guard's RLIMIT_DATA of ${Math.round(report.rlimit / 2 ** 20)} MiB`;
        writer.event({
          kind: 'guard-action',
          timeMs: report.timeMs === null ? nowMs : Math.max(0, Math.round(report.timeMs - startMs)),
          action: 'memory-error',
          pid: report.pid,
          message: `MemoryError in ${report.runtime} (${report.pid})${report.where ? ` at ${report.where}` : ''}${rlimit}`,
        });
      }
    },
  };
}
