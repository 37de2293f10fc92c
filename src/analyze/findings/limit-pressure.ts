import { formatBytes, formatDuration, formatPercent } from '../../format.js';
import type { Finding } from '../finding.js';
import { at, type Context, counterRise, indexAt, psiPeak } from './context.js';

/** PSI "some" avg10 (percent) from which stalls are worth telling. */
const PSI_SOME_NOTE = 10;
const PSI_SOME_WARN = 20;
const PSI_FULL_WARN = 5;

/**
 * The cgroup at its limit: each hit (v1 memory.failcnt, v2 memory.events max) makes the kernel reclaim
 * before it can allocate, and memory.high throttles. Reclaiming clean cache is cheap; when little is
 * reclaimable, the next step is an OOM kill. PSI says how long tasks stalled waiting for memory.
 */
export function limitPressureFinding(ctx: Context): Finding | undefined {
  const { capture, summary } = ctx;
  const hits = summary.limitHits;
  const highHits = counterRise(ctx, capture.series.values.highHits);
  const psiSome = psiPeak(ctx, capture.series.values.psiSome);
  const psiFull = psiPeak(ctx, capture.series.values.psiFull);
  if (hits === 0 && highHits === 0 && (psiSome === null || psiSome.value < PSI_SOME_NOTE)) return undefined;

  const hitSpan = riseSpan(capture.series.values.limitHits);
  const fromMs = hitSpan?.fromMs ?? psiSome?.timeMs ?? 0;
  const toMs = hitSpan?.toMs ?? fromMs;
  // What the kernel could reclaim when it hit the limit: the fullest sample in the hits' span.
  const index = fullestBetween(ctx, fromMs, toMs);
  const usage = at(ctx.usage, index);
  const cache = Math.max(0, at(ctx.file, index) - at(ctx.dirty, index));
  const reclaimable = usage > 0 ? cache / usage : 0;
  const counter = capture.header.cgroup.version === 1 ? 'memory.failcnt' : 'memory.events max';
  const parts: string[] = [];
  if (hits > 0) {
    parts.push(
      `The cgroup reached its ${formatBytes(ctx.limit)} limit ${hits} time${hits === 1 ? '' : 's'} ${toMs - fromMs < 100 ? `at ${formatDuration(fromMs)}` : `between ${formatDuration(fromMs)} and ${formatDuration(toMs)}`} (${counter}); each time the kernel had to reclaim memory before the job could allocate.`,
    );
    parts.push(
      reclaimable >= 0.5
        ? `Then ${formatPercent(cache, usage)} of usage was clean page cache, which is cheap to drop: the job slowed a little but was not at risk.`
        : `Then only ${formatPercent(cache, usage)} of usage was clean page cache it could drop at once (the rest: anonymous memory, shmem, or dirty cache waiting for the disk), so the job stalled in reclaim${summary.oomKilled ? ' until the OOM killer struck' : ' and came close to an OOM kill'}.`,
    );
  }
  if (highHits > 0) {
    parts.push(
      `memory.high throttled the job ${highHits} time${highHits === 1 ? '' : 's'}: above it the kernel slows allocations down.`,
    );
  }
  if (psiSome !== null && psiSome.value >= PSI_SOME_NOTE) {
    parts.push(
      `Tasks stalled waiting for memory up to ${psiSome.value.toFixed(0)}% of the time (PSI some, 10 s average${psiFull && psiFull.value > 0 ? `; all tasks at once ${psiFull.value.toFixed(0)}%` : ''}).`,
    );
  }
  const stalled =
    (psiSome !== null && psiSome.value >= PSI_SOME_WARN) ||
    (psiFull !== null && psiFull.value >= PSI_FULL_WARN);
  const severe = stalled || (hits > 0 && reclaimable < 0.5) || summary.oomKilled;
  return {
    kind: 'limit-pressure',
    severity: severe ? 'warning' : 'info',
    message: parts.join(' '),
    advice: severe
      ? [
          'See the right-size finding for a limit that holds what the job keeps in memory.',
          'Little reclaimable memory at the limit means the next burst is an OOM kill.',
        ]
      : ['Nothing urgent: reclaiming clean cache at the limit is what the kernel is meant to do.'],
    evidence: { fromMs, toMs, series: ['usage', 'limitHits', 'highHits', 'psiSome', 'psiFull'], pids: [] },
    figures: {
      limitHits: hits,
      highHits,
      psiSomePeak: psiSome?.value ?? null,
      psiFullPeak: psiFull?.value ?? null,
      reclaimableShare: reclaimable,
    },
  };

  /** From the sample where a counter first rose to the one where it last did. */
  function riseSpan(column: Float64Array): { fromMs: number; toMs: number } | undefined {
    let previous: number | undefined;
    let span: { fromMs: number; toMs: number } | undefined;
    for (let i = 0; i < ctx.length; i++) {
      const value = column[i] ?? -1;
      if (value < 0) continue;
      const base = previous ?? (capture.header.cgroup.mode === 'observe' ? value : 0);
      if (value > base) {
        const t = ctx.timeMs[i] ?? 0;
        span = { fromMs: span?.fromMs ?? t, toMs: t };
      }
      previous = value;
    }
    return span;
  }
}

function fullestBetween(ctx: Context, fromMs: number, toMs: number): number {
  const from = Math.max(0, indexAt(ctx, fromMs));
  const to = Math.max(from, indexAt(ctx, toMs));
  let best = from;
  for (let i = from; i <= to; i++) if (at(ctx.usage, i) > at(ctx.usage, best)) best = i;
  return best;
}
