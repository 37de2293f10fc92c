import { formatBytes, formatDuration } from '../../format.js';
import type { Finding } from '../finding.js';
import { at, type Context, max, time } from './context.js';

/**
 * Whether the job could swap and what that meant. Told when it did swap, or when it was OOM-killed or ran
 * at its limit, where swap decides between slowing down and dying.
 */
/** Below this, swap is the host's housekeeping (kswapd moving a few idle pages), not the job's doing. */
export const MIN_SWAP = 16 * 1024 * 1024;

/** The most swap used, counted from the first sample in observe mode: swap from before the run is not the job's. */
export function swapRise(ctx: Context): { value: number; index: number } {
  const peak = max(ctx.swap);
  const base = ctx.capture.header.cgroup.mode === 'observe' ? at(ctx.swap, 0) : 0;
  return { value: Math.max(0, peak.value - base), index: peak.index };
}

export function swapFinding(ctx: Context): Finding | undefined {
  const { header } = ctx.capture;
  const swapped = swapRise(ctx);
  const hostSwap = header.hostMemory.swapTotal;
  const swapLimit = header.limit.swapBytes;
  const asked = header.requested.memorySwap !== undefined;
  const pressed = ctx.summary.oomKilled || ctx.summary.limitHits > 0;
  const did = swapped.value >= MIN_SWAP;
  // With no swap on the host there is nothing to decide: the kill or the stall tells the rest.
  if (!did && (!pressed || header.hostMemory.swapTotal === 0)) return undefined;
  if (ctx.limit === null && !did) return undefined;

  const limit = formatBytes(ctx.limit);
  let message: string;
  if (did) {
    message = `The job swapped out up to ${formatBytes(swapped.value)} at ${formatDuration(time(ctx, swapped.index))}. Swapped memory is not counted in usage, but every access to it waits for the disk: near its limit the job slows down instead of failing.`;
  } else if (swapLimit === 0) {
    const why =
      header.cgroup.mode === 'own' && asked
        ? ' (--memory-swap equal to --memory)'
        : ' (its cgroup allows no swap)';
    message = `Swap was off for this job${why}: at the ${limit} limit, memory that cannot be reclaimed (anonymous memory, shmem) means an OOM kill. It fails fast and predictably instead of slowing down.`;
  } else if (swapLimit === null) {
    message = `The job could use all of the host's ${formatBytes(hostSwap)} of swap beyond its ${limit} limit: near the limit it slows down rather than being killed, and it can slow down every other workload on the host.`;
  } else {
    message = `The job could swap out up to ${formatBytes(swapLimit)} beyond its ${limit} limit (docker's default lets --memory-swap be twice --memory): near the limit it slows down before it is killed.`;
  }
  return {
    kind: 'swap',
    severity: did ? 'warning' : 'info',
    message,
    advice: did
      ? [
          'Give the job enough memory that it never swaps, and set --memory-swap equal to --memory so it fails fast instead of crawling.',
        ]
      : [
          'Set --memory-swap equal to --memory (Kubernetes does not swap by default) for predictable failures; allow swap only for jobs that can afford to slow down.',
        ],
    evidence: {
      fromMs: 0,
      toMs: ctx.capture.lastTimeMs,
      series: ['swap'],
      pids: [],
    },
    figures: { swapPeakBytes: swapped.value, swapLimitBytes: swapLimit, hostSwapBytes: hostSwap },
  };
}
