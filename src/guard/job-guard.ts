import fs from 'node:fs';
import { preloadPaths } from '../bundled/bundled-files.js';
import { formatBytes } from '../format.js';
import type { GuardKnob, GuardOrder } from '../record/capture-format.js';
import type { CaptureWriter } from '../record/capture-writer.js';
import { guardLogPath, takeGuardLog } from './guard-log.js';
import { describeKnobs, type GracefulPath, runtimeKnobs } from './knobs.js';
import type { OnLimit } from './watchdog.js';

export interface GuardOptions {
  /** Set runtime knobs from the limit (default true). */
  knobs?: boolean;
  /** Node processes that run at once and share the limit (default 1). */
  nodeProcesses?: number;
  /** The pre-OOM watchdog: what to do at `threshold` (a share of the limit, default 0.95). */
  watch?: { onLimit: OnLimit; threshold?: number };
  /** headroom supervise's --restart-above: a graceful path the knobs must leave room for, as the watch. */
  restartAbove?: { bytes: number } | { share: number };
  /** Told where the knobs sit against the graceful path, when there is one (supervise logs it once). */
  onOrder?: (order: GuardOrder) => void;
}

/** The guard of one run: the job's environment, what was set, and what the job's preloads reported. */
export interface JobGuard {
  env: NodeJS.ProcessEnv;
  knobs: GuardKnob[];
  /** With a graceful path: whether it or a knob acts first. */
  order?: GuardOrder;
  /** Records the knobs and the order in the capture and says them, each in one line. */
  announce(writer: CaptureWriter, say: (line: string) => void): void;
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
  if (limit === null) return { env, knobs: [], announce: () => {}, collect: () => {}, discard: () => {} };
  const set = options?.knobs !== false;
  const request = {
    limit,
    env,
    command,
    nodeProcesses: Math.max(1, options?.nodeProcesses ?? 1),
    pythonPreload: preloadPaths().pythonDir,
    graceful: gracefulPath(options, limit),
    inheritedDataLimit: inheritedDataLimit(),
    set,
  };
  if (!set) {
    // Nothing of headroom's in the job; still worth saying when a setting of the user's pre-empts the watch.
    const { order } = runtimeKnobs({ ...request, guardLog: '' });
    if (order) options?.onOrder?.(order);
    return {
      env,
      knobs: [],
      ...(order ? { order } : {}),
      announce: announcer([], order),
      collect: () => {},
      discard: () => {},
    };
  }
  const guardLog = guardLogPath();
  const { env: guarded, knobs, order } = runtimeKnobs({ ...request, guardLog });
  if (order) options?.onOrder?.(order);
  return {
    env: guarded,
    knobs,
    ...(order ? { order } : {}),
    announce: announcer(knobs, order),
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

function announcer(
  knobs: GuardKnob[],
  order: GuardOrder | undefined,
): (writer: CaptureWriter, say: (line: string) => void) => void {
  return (writer, say) => {
    if (knobs.length === 0 && !order) return;
    writer.event({ kind: 'guard-knobs', timeMs: 0, knobs, ...(order ? { order } : {}) });
    if (knobs.length > 0) say(`guard: ${describeKnobs(knobs)}`);
    if (order) say(`guard: ${order.message}`);
  };
}

/**
 * The graceful path the knobs must leave room for: the highest threshold asked for, so that the knobs sit
 * above every one. A watchdog that only reclaims page cache stops nothing and keeps nothing from a knob.
 */
function gracefulPath(options: GuardOptions | undefined, limit: number): GracefulPath | undefined {
  const paths: GracefulPath[] = [];
  const watch = options?.watch;
  if (watch && watch.onLimit !== 'reclaim') {
    const share = watch.threshold ?? 0.95;
    const bytes = Math.floor(share * limit);
    const action = watch.onLimit === 'term' ? 'SIGTERM' : 'snapshot';
    paths.push({ label: `the watchdog's ${action} at ${percent(share)} (${formatBytes(bytes)})`, bytes });
  }
  const above = options?.restartAbove;
  if (above) {
    paths.push(
      'share' in above
        ? {
            label: `--restart-above ${percent(above.share)} (${formatBytes(Math.floor(above.share * limit))})`,
            bytes: Math.floor(above.share * limit),
          }
        : { label: `--restart-above ${formatBytes(above.bytes)}`, bytes: above.bytes },
    );
  }
  return paths.sort((a, b) => b.bytes - a.bytes)[0];
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

/** headroom's own soft RLIMIT_DATA, which the job inherits; null when unlimited or unreadable. */
function inheritedDataLimit(): number | null {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'latin1')
      .split('\n')
      .find((l) => l.startsWith('Max data size'));
    const soft = line?.slice('Max data size'.length).trim().split(/\s+/)[0];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}
