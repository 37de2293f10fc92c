import path from 'node:path';
import { formatBytes, formatDuration } from '../format.js';
import type { GuardOptions } from '../guard/job-guard.js';
import { linearFit } from '../linear-fit.js';
import type { Capture } from '../record/capture-reader.js';
import type { SamplerState } from '../record/sampler.js';
import { type RunOptions, type RunResult, run } from './run.js';

export interface SuperviseOptions extends Omit<RunOptions, 'output' | 'stopWhen'> {
  /** Restart when the working set crosses this many bytes, or this share (0..1) of the limit. */
  restartAbove?: { bytes: number } | { share: number };
  /** Restart when the working set's trend reaches the limit within this many ms. */
  restartBeforeMs?: number;
  /** Restarts allowed before supervise gives up (default 10). */
  maxRestarts?: number;
  /** Wait before the first restart; doubles after each generation that ran less than a minute. */
  backoffMs?: number;
  /** One line per restart and at the end. */
  log: (line: string) => void;
}

export interface Generation {
  capture: string;
  status: number;
  /** Why it was restarted: a memory reason, or its exit. */
  reason: string;
  durationMs: number;
}

const MAX_BACKOFF_MS = 30_000;
/** A generation that lived this long resets the backoff. */
const STEADY_MS = 60_000;
/** The trend is read over this much of the latest history. */
const TREND_WINDOW_MS = 60_000;
/** …and only once it spans this long, so start-up does not read as a leak. */
const TREND_MIN_MS = 5_000;

/**
 * Keeps a long-running service alive the way pm2's max-memory-restart does, but counting what the kernel
 * counts (the cgroup's working set, page cache that can be dropped left out): each generation runs under
 * `headroom run`, with a capture of its own, and is restarted gracefully (SIGTERM, grace, SIGKILL) when
 * it crosses `restartAbove` or its trend reaches the limit within `restartBeforeMs`, and after a crash.
 * A service that exits 0 ends supervision with 0. Giving up after `maxRestarts` resolves with the last
 * generation's status, or 1 when that was 0.
 */
export async function supervise(
  options: SuperviseOptions,
): Promise<{ status: number; generations: Generation[] }> {
  const maxRestarts = options.maxRestarts ?? 10;
  let backoffMs = options.backoffMs ?? 1000;
  const generations: Generation[] = [];
  // A stop signal to supervise is forwarded to the service by run; it also means: no more restarts.
  let stopping: string | undefined;
  const stop = (signal: NodeJS.Signals) => {
    stopping = signal;
  };
  // Each generation runs quiet: where the knobs sit against --restart-above is said here, once.
  let orderSaid = false;
  const guard: GuardOptions = {
    ...options.guard,
    ...(options.restartAbove ? { restartAbove: options.restartAbove } : {}),
    onOrder: (order) => {
      if (!orderSaid) options.log(`guard: ${order.message}`);
      orderSaid = true;
    },
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const signal of signals) process.on(signal, stop);
  try {
    return await generationsUntilDone();
  } finally {
    for (const signal of signals) process.off(signal, stop);
  }

  async function generationsUntilDone(): Promise<{ status: number; generations: Generation[] }> {
    for (let restarts = 0; ; restarts++) {
      const started = Date.now();
      const result: RunResult = await run({ ...options, guard, stopWhen: restartPolicy(options) });
      const durationMs = Date.now() - started;
      const reason = result.stoppedBecause ?? (await exitReason(result));
      generations.push({ capture: result.capture, status: result.status, reason, durationMs });
      const generation = generations.length;
      const capture = path.relative(options.cwd ?? process.cwd(), result.capture) || result.capture;
      if (stopping) {
        options.log(
          `generation ${generation} ended after ${stopping} to supervise (${reason}); supervision ends`,
        );
        return { status: result.status, generations };
      }
      if (!result.stoppedBecause && result.status === 0) {
        options.log(
          `generation ${generation} exited 0 after ${formatDuration(durationMs)}; supervision ends`,
        );
        return { status: 0, generations };
      }
      if (restarts >= maxRestarts) {
        options.log(
          `generation ${generation} stopped (${reason}); gave up after ${maxRestarts} restart${maxRestarts === 1 ? '' : 's'} (--max-restarts); capture ${capture}`,
        );
        // Giving up is a failure even when the last generation stopped gracefully.
        return { status: result.status === 0 ? 1 : result.status, generations };
      }
      if (durationMs >= STEADY_MS) backoffMs = options.backoffMs ?? 1000;
      options.log(
        `generation ${generation} stopped after ${formatDuration(durationMs)}: ${reason}; restart ${restarts + 1}/${maxRestarts} in ${formatDuration(backoffMs)}; capture ${capture}`,
      );
      await sleepUnless(backoffMs, () => stopping !== undefined);
      if (stopping) {
        options.log(`${stopping} to supervise during the backoff; supervision ends`);
        return { status: result.status, generations };
      }
      if (durationMs < STEADY_MS) backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    }
  }
}

/** Sleeps ms, or less when `stop` turns true (looked at every 50 ms). */
async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - Date.now())));
  }
}

async function exitReason(result: RunResult): Promise<string> {
  if (result.recorded && (await oomKilled(result.recorded))) return 'OOM-killed';
  return result.signal ? `killed by ${result.signal}` : `exited ${result.exitCode}`;
}

/** The stopWhen of one generation: threshold and trend on the working set. */
function restartPolicy(options: SuperviseOptions): (state: SamplerState) => string | undefined {
  const history: Array<{ t: number; value: number }> = [];
  return (state) => {
    const { sample, timeMs } = state;
    const { workingSet } = sample;
    const limit = sample.limit;
    const above = options.restartAbove;
    if (above) {
      const bytes = 'bytes' in above ? above.bytes : limit === null ? null : above.share * limit;
      if (bytes !== null && workingSet >= bytes) {
        return `working set ${formatBytes(workingSet)} over --restart-above ${formatBytes(bytes)} (anon ${formatBytes(sample.anon)}, page cache ${formatBytes(sample.file)})`;
      }
    }
    if (options.restartBeforeMs === undefined || limit === null) return undefined;
    history.push({ t: timeMs, value: workingSet });
    while (history.length > 0 && (history[0]?.t ?? 0) < timeMs - TREND_WINDOW_MS) history.shift();
    const span = timeMs - (history[0]?.t ?? timeMs);
    if (span < TREND_MIN_MS) return undefined;
    const fit = linearFit(history);
    if (fit.slope <= 0 || fit.r2 < 0.8) return undefined;
    const toLimitMs = (limit - workingSet) / fit.slope;
    if (toLimitMs > options.restartBeforeMs) return undefined;
    return `working set ${formatBytes(workingSet)} growing ${formatBytes(fit.slope * 60_000)}/min would reach the ${formatBytes(limit)} limit in ${formatDuration(Math.max(0, toLimitMs))} (--restart-before ${formatDuration(options.restartBeforeMs)})`;
  };
}

/** Whether the generation's capture counts an OOM kill, as its summary would. */
async function oomKilled(recorded: Capture): Promise<boolean> {
  try {
    // Loaded only after a generation ended, as run loads the capture reader.
    const { summarize } = await import('../analyze/summarize.js');
    return summarize(recorded).oomKilled;
  } catch {
    return false;
  }
}
