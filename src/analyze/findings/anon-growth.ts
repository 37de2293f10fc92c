import { formatBytes, formatDuration } from '../../format.js';
import { linearFit, type Point } from '../../linear-fit.js';
import type { Finding } from '../finding.js';
import { anonAt, at, type Context, MiB, max, processName, time } from './context.js';

/** Growth must span this long to be a trend rather than a burst. */
const MIN_SPAN_MS = 5000;
const MAX_WINDOWS = 12;
const MIN_RISE = 32 * MiB;
/** How well the floor must fit a straight line. */
const MIN_R2 = 0.8;
/** The anon peak counts as the end of the climb when it falls in the last tenth of the run. */
const END_SHARE = 0.9;
const KILL_AFTER_PEAK_MS = 5000;
/** A forecast reaching the limit within this long is a warning. */
const WARN_WITHIN_MS = 60 * 60_000;

/**
 * Anonymous memory whose floor rises steadily. Each window's minimum is the floor: a sawtooth that returns
 * to its base has a flat floor and is not growth, while a leak lifts the floor with it.
 */
export function anonGrowthFinding(ctx: Context): Finding | undefined {
  const peak = max(ctx.anon);
  if (peak.index < 0) return undefined;
  const end = climbEnd(ctx, peak.index);
  const span = time(ctx, end) - time(ctx, 0);
  if (span < MIN_SPAN_MS || end < 2 * MAX_WINDOWS) return undefined;
  const floors = windowFloors(ctx, end);
  const fit = linearFit(floors);
  const first = floors[0];
  const last = floors[floors.length - 1];
  if (!first || !last || fit.slope <= 0 || fit.r2 < MIN_R2) return undefined;
  const rise = last.value - first.value;
  if (rise < Math.max(MIN_RISE, 0.2 * peak.value)) return undefined;

  const perMinute = fit.slope * 60_000;
  const { limit } = ctx;
  const endMs = time(ctx, end);
  // Clean cache gives way as anon grows: the room left is what the kernel cannot drop.
  const pinnedAtEnd = at(ctx.pinned, end);
  const killed = ctx.summary.oomKilled;
  const toLimitMs = limit !== null && !killed ? Math.max(0, (limit - pinnedAtEnd) / fit.slope) : null;
  const grower = largestGrower(ctx, time(ctx, 0), endMs);
  const forecast = killed
    ? ' It grew until the OOM killer stopped it.'
    : toLimitMs !== null && limit !== null
      ? ` At this rate memory the kernel cannot reclaim fills the ${formatBytes(limit)} limit ${formatDuration(toLimitMs)} after ${formatDuration(endMs)}.`
      : ' There is no limit: on a host it grows until the host runs out.';
  const message =
    `Anonymous memory grew steadily by ${formatBytes(rise)} over ${formatDuration(span)}, ` +
    `${formatBytes(perMinute)}/min (its floor fits a straight line, R² ${fit.r2.toFixed(2)})` +
    `${grower ? `, most of it in ${processName(grower.track)} (+${formatBytes(grower.rise)})` : ''}.${forecast}`;
  return {
    kind: 'anon-growth',
    severity: killed || (toLimitMs !== null && toLimitMs <= WARN_WITHIN_MS) ? 'warning' : 'info',
    message,
    advice: [
      'If the job loads its input whole, process it in chunks or stream it (pandas read_csv(chunksize=...), iterators instead of lists).',
      'If it should not grow, it is a leak: compare allocation profiles at two points in time (headroom profiling, tracemalloc snapshots, a Node heap snapshot).',
      'Release references to large objects as soon as each step ends; caches need a bound.',
    ],
    evidence: { fromMs: time(ctx, 0), toMs: endMs, series: ['anon'], pids: grower ? [grower.track.pid] : [] },
    figures: {
      riseBytes: rise,
      bytesPerMinute: perMinute,
      r2: fit.r2,
      spanMs: span,
      timeToLimitMs: toLimitMs,
      limitBytes: limit,
    },
  };
}

/**
 * Where the climb to judge ends: at the anon peak when the run ended or was OOM-killed soon after it (the
 * exit or the kill frees the memory), otherwise at the end of the run, so that memory that rose and then
 * went back down for good is not called growth.
 */
function climbEnd(ctx: Context, peakIndex: number): number {
  const last = ctx.length - 1;
  const peakMs = time(ctx, peakIndex);
  const nearEnd = peakMs >= time(ctx, 0) + END_SHARE * (time(ctx, last) - time(ctx, 0));
  const killedAfter = ctx.summary.oomKills.some(
    (kill) => kill.timeMs >= peakMs && kill.timeMs - peakMs <= KILL_AFTER_PEAK_MS,
  );
  return nearEnd || killedAfter ? peakIndex : last;
}

function windowFloors(ctx: Context, end: number): Point[] {
  const windows = MAX_WINDOWS;
  const floors: Point[] = [];
  for (let w = 0; w < windows; w++) {
    const from = Math.floor((w * (end + 1)) / windows);
    const to = Math.floor(((w + 1) * (end + 1)) / windows);
    let low: Point | undefined;
    for (let i = from; i < to; i++) {
      const value = at(ctx.anon, i);
      if (!low || value < low.value) low = { t: time(ctx, i), value };
    }
    if (low) floors.push(low);
  }
  return floors;
}

function largestGrower(
  ctx: Context,
  fromMs: number,
  toMs: number,
): { track: Context['capture']['processes'][number]; rise: number } | undefined {
  let best: { track: Context['capture']['processes'][number]; rise: number } | undefined;
  for (const track of ctx.capture.processes) {
    const startValue = track.startMs <= fromMs ? anonAt(track, fromMs) : (track.samples.anon[0] ?? 0);
    const rise = anonAt(track, toMs) - startValue;
    if (rise > 0 && (!best || rise > best.rise)) best = { track, rise };
  }
  return best;
}
