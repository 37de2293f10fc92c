import { formatBytes, formatPercent } from '../../format.js';
import { workingSetOf } from '../../kernel/memory-sample.js';
import type { Finding } from '../finding.js';
import { at, type Context, MiB, max, time } from './context.js';
import { firstKillContext } from './kill-context.js';
import { limitPressureFinding } from './limit-pressure.js';

/**
 * The margin over the observed need. One run's peak understates the next (inputs vary), and a working set
 * squeezed to the byte leaves no room for the page cache the job reads through, so it thrashes; a quarter
 * more covers both without reserving memory that sits idle.
 */
const MARGIN = 1.25;
/** When the job was killed at its limit, what it needs is unknown: the next try gets this much more. */
const KILLED_STEP = 1.5;
/** The smallest limit worth recommending (docker refuses under 6 MiB; runtimes need more). */
const FLOOR = 64 * MiB;

/**
 * A recommended limit and reservation from what the job used: the limit from the larger of the peak working
 * set (usage minus inactive file cache, what the kubelet evicts on) and the peak of memory that cannot be
 * reclaimed (anon, shmem, kernel, swap); the reservation from the median working set.
 */
export function rightSizeFinding(ctx: Context): Finding | undefined {
  if (ctx.length < 3 || ctx.peakIndex < 0) return undefined;
  const working = new Float64Array(ctx.length);
  const pinned = new Float64Array(ctx.length);
  for (let i = 0; i < ctx.length; i++) {
    working[i] = workingSetOf(at(ctx.usage, i), at(ctx.inactiveFile, i));
    // Dirty cache cannot be dropped until the disk takes it, so it needs room as much as anon does.
    pinned[i] = at(ctx.pinned, i) + at(ctx.swap, i);
  }
  const workingPeak = max(working);
  const pinnedPeak = max(pinned);
  // A spike between samples shows only in the kernel's high-water mark; its cache share is unknown, so
  // the inactive cache of the fullest sample stands in for it.
  const spike = Math.max(0, ctx.summary.peak.bytes - at(ctx.inactiveFile, ctx.peakIndex));
  const need = Math.max(workingPeak.value, pinnedPeak.value, spike);
  if (need <= 0) return undefined;
  const { limit } = ctx;
  const killed = limit !== null && firstKillContext(ctx)?.atLimit === true;
  // Stalled in reclaim at the limit: the job needed more than it had, whatever the samples add up to.
  const pressure = killed ? undefined : limitPressureFinding(ctx);
  const stalled = limit !== null && pressure?.severity === 'warning';
  const recommended = roundUp(
    Math.max(FLOOR, killed ? limit * KILLED_STEP : stalled ? Math.max(need, limit) * MARGIN : need * MARGIN),
  );
  const reservation = Math.min(recommended, roundUp(Math.max(FLOOR / 2, median(working))));
  const current = limit === null ? 'no limit' : `the current ${formatBytes(limit)}`;
  const dirty = max(ctx.dirty).value;
  const message = killed
    ? `The job was killed at its ${formatBytes(limit)} limit, so what it needs is unknown: try ${formatBytes(recommended)} (${KILLED_STEP}×) and run it under headroom again.`
    : stalled
      ? `The job stalled in reclaim at its ${formatBytes(limit)} limit, so it needs more than that: ${formatBytes(recommended)} leaves a 25% margin${dirty >= 0.25 * limit ? `, or keep the limit and flush as you write (dirty cache reached ${formatBytes(dirty)}; see the page-cache finding)` : ''}, and the median working set suggests reserving ${formatBytes(reservation)}.`
      : `The job needed at most ${formatBytes(need)} (peak working set ${formatBytes(workingPeak.value)}, memory that cannot be reclaimed ${formatBytes(pinnedPeak.value)}); ` +
        `a limit of ${formatBytes(recommended)} leaves a 25% margin${limit === null ? '' : ` (${formatPercent(recommended, limit)} of ${current})`}, and the median working set suggests reserving ${formatBytes(reservation)}.`;
  const docker = `docker run --memory=${dockerSize(recommended)} --memory-swap=${dockerSize(recommended)} --memory-reservation=${dockerSize(reservation)} ...`;
  const compose = [
    'deploy:',
    '  resources:',
    '    limits:',
    `      memory: ${dockerSize(recommended).toUpperCase()}`,
    '    reservations:',
    `      memory: ${dockerSize(reservation).toUpperCase()}`,
  ].join('\n');
  const kubernetes = [
    'resources:',
    '  requests:',
    `    memory: ${kubeSize(reservation)}`,
    '  limits:',
    `    memory: ${kubeSize(recommended)}`,
  ].join('\n');
  return {
    kind: 'right-size',
    severity: 'info',
    message,
    advice: [
      'The limit covers the peak with a 25% margin: one run understates the next, and the page cache the job reads through needs room.',
      '--memory-swap equal to --memory turns swap off, so a job that outgrows its limit fails fast instead of crawling.',
      'Size from several runs with typical and large inputs: headroom run records each.',
    ],
    evidence: {
      fromMs: 0,
      toMs: time(ctx, workingPeak.value >= pinnedPeak.value ? workingPeak.index : pinnedPeak.index),
      series: ['usage', 'inactiveFile', 'anon', 'shmem', 'kernel', 'swap'],
      pids: [],
    },
    figures: {
      recommendedLimitBytes: recommended,
      recommendedReservationBytes: reservation,
      workingSetPeakBytes: workingPeak.value,
      unreclaimablePeakBytes: pinnedPeak.value,
      currentLimitBytes: limit,
    },
    snippets: { docker, compose, kubernetes },
  };
}

/** Whole MiB multiples that read well: 16 MiB steps below 256 MiB, 64 MiB steps above. */
function roundUp(bytes: number): number {
  const step = bytes < 256 * MiB ? 16 * MiB : 64 * MiB;
  return Math.ceil(bytes / step) * step;
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** docker's units: 1536m, or 2g when whole. */
function dockerSize(bytes: number): string {
  const mib = Math.round(bytes / MiB);
  return mib % 1024 === 0 ? `${mib / 1024}g` : `${mib}m`;
}

function kubeSize(bytes: number): string {
  const mib = Math.round(bytes / MiB);
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
