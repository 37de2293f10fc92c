import type { OomKill } from '../summarize.js';
import { at, type Context, indexAt, time } from './context.js';

/** The breakdown before a kill is read from the fullest sample in this window before it. */
export const LOOKBACK_MS = 3000;

export interface KillContext {
  kill: OomKill;
  /** The fullest sample of the seconds before the kill, -1 when there is none. */
  index: number;
  usage: number;
  /** The kill came at this cgroup's own limit, not from an ancestor's or the host's. */
  atLimit: boolean;
}

const firstKills = new WeakMap<Context, KillContext | undefined>();

/**
 * The context of the run's first OOM kill, which the OOM finding, the verdict, right-sizing and the
 * runtime-heap finding all read: worked out once per capture's context.
 */
export function firstKillContext(ctx: Context): KillContext | undefined {
  if (firstKills.has(ctx)) return firstKills.get(ctx);
  const kill = ctx.summary.oomKills[0];
  const found = kill ? { kill, ...killContext(ctx, kill.timeMs) } : undefined;
  firstKills.set(ctx, found);
  return found;
}

/**
 * The cgroup just before a kill: the fullest sample of the last seconds, usage (the kernel's high-water
 * mark when a fast allocator crossed the limit between samples), and whether that was this cgroup's own
 * limit, on memory or, on v1 with a memsw limit, on memory plus swap.
 */
function killContext(ctx: Context, timeMs: number): Omit<KillContext, 'kill'> {
  const index = fullestBefore(ctx, timeMs);
  const usage = Math.max(index >= 0 ? at(ctx.usage, index) : 0, kernelPeakAt(ctx, timeMs));
  const { limit } = ctx;
  const swapLimit = ctx.capture.header.limit.swapBytes;
  const swap = index >= 0 ? at(ctx.swap, index) : 0;
  // The kernel counts headroom's own memory too when it observes the cgroup it runs in, and a limit hit
  // counted in the seconds before the kill says which limit struck even when no sample caught the top.
  const values = ctx.capture.series.values;
  const charged = index >= 0 ? Math.max(usage, values.usage[index] ?? 0) : usage;
  // A post-mortem's samples may stop short of the kill; the kernel's log, where it had it, says whose
  // limit struck.
  const struck = ctx.capture.header.postmortem?.limitStruck;
  const atLimit =
    struck === 'own' ||
    (struck !== 'above' &&
      limit !== null &&
      (charged >= 0.9 * limit ||
        limitHitsRose(ctx, timeMs) ||
        (swapLimit !== null && swap > 0 && charged + swap >= 0.9 * (limit + swapLimit))));
  return { index, usage, atLimit };
}

/** The cgroup's high-water mark as read on the tick that saw the kill; own cgroups only, since a
 * container's mark may predate the run. */
function kernelPeakAt(ctx: Context, timeMs: number): number {
  if (ctx.capture.header.cgroup.mode !== 'own') return 0;
  const index = indexAt(ctx, timeMs);
  return index < 0 ? 0 : Math.max(0, ctx.capture.series.values.peak[index] ?? 0);
}

function limitHitsRose(ctx: Context, timeMs: number): boolean {
  const hits = ctx.capture.series.values.limitHits;
  const last = indexAt(ctx, timeMs);
  let first = last;
  while (first > 0 && time(ctx, first - 1) >= timeMs - LOOKBACK_MS) first--;
  return last > 0 && (hits[last] ?? 0) > (hits[Math.max(0, first - 1)] ?? 0);
}

/** The fullest sample in the seconds before timeMs: what memory was made of as it came to a head. */
export function fullestBefore(ctx: Context, timeMs: number): number {
  const last = indexAt(ctx, timeMs);
  let best = -1;
  for (let i = last; i >= 0 && time(ctx, i) >= timeMs - LOOKBACK_MS; i--) {
    if (best < 0 || at(ctx.usage, i) > at(ctx.usage, best)) best = i;
  }
  return best >= 0 ? best : last;
}
