/**
 * Thinning long series for display without losing their extremes. A 24-hour capture at 10 Hz holds
 * 864,000 samples; a chart a few thousand pixels wide shows a few thousand. Averaging would flatten the
 * one-sample spike that is the peak, so each bucket keeps its lowest and its highest sample instead.
 */

/** Most points a report series holds. */
export const MAX_POINTS = 4000;

/**
 * Indices into `values` to keep: the lowest and the highest sample of each bucket, in time order, plus
 * every index in `keep`, at most about `maxPoints` in all (`keep` comes on top when it is long).
 * Negative values (unknown) are neither minimum nor maximum; a bucket of only unknowns keeps its first.
 */
export function minMaxIndices(
  values: ArrayLike<number>,
  maxPoints: number = MAX_POINTS,
  keep: readonly number[] = [],
): number[] {
  const length = values.length;
  const forced = [...new Set(keep.filter((index) => index >= 0 && index < length))];
  if (length <= Math.max(maxPoints, 2)) return range(length);
  const buckets = Math.max(1, Math.floor((maxPoints - forced.length) / 2));
  const size = length / buckets;
  const picked = new Uint8Array(length);
  for (const index of forced) picked[index] = 1;
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = b === buckets - 1 ? length : Math.floor((b + 1) * size);
    let low = -1;
    let high = -1;
    for (let i = from; i < to; i++) {
      const value = values[i] ?? -1;
      if (value < 0) continue;
      if (low < 0 || value < (values[low] ?? 0)) low = i;
      if (high < 0 || value > (values[high] ?? 0)) high = i;
    }
    if (low < 0) {
      if (from < to) picked[from] = 1;
      continue;
    }
    picked[low] = 1;
    picked[high] = 1;
  }
  const indices: number[] = [];
  for (let i = 0; i < length; i++) if (picked[i]) indices.push(i);
  return indices;
}

/** values[indices[k]] for each k, as a plain array (JSON). */
export function pick(values: ArrayLike<number>, indices: readonly number[]): number[] {
  const out = new Array<number>(indices.length);
  for (let k = 0; k < indices.length; k++) out[k] = values[indices[k] ?? 0] ?? -1;
  return out;
}

/** The first index whose time is at or after `timeMs` (the last one when none is); -1 when empty. */
export function indexAtOrAfter(timeMs: ArrayLike<number>, at: number): number {
  const length = timeMs.length;
  if (length === 0) return -1;
  let low = 0;
  let high = length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((timeMs[mid] ?? 0) < at) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A stepwise series: values[k] holds from times[k] until the next sample. */
export interface StepSeries {
  times: readonly number[];
  values: readonly number[];
  startMs: number;
  /** When it stopped (the process exited); null when it ran to the end. */
  endMs: number | null;
}

/**
 * Puts several stepwise series on one shared time axis of at most about `maxPoints` points, null where
 * a series did not exist. When the series' own times fit, they are the axis; otherwise the time range is
 * cut into buckets of two points each, and every series gives each bucket its lowest and highest value
 * there (in the order they happened), so no series loses its peak; times shift by less than a bucket.
 */
export function alignSteps(
  series: readonly StepSeries[],
  maxPoints: number = MAX_POINTS,
): { times: number[]; values: Array<Array<number | null>> } {
  const all = new Set<number>();
  for (const s of series) {
    all.add(s.startMs);
    for (const t of s.times) all.add(t);
    if (s.endMs !== null) all.add(s.endMs);
  }
  const union = [...all].sort((a, b) => a - b);
  if (union.length <= maxPoints) {
    return { times: union, values: series.map((s) => stepAt(s, union)) };
  }
  const first = union[0] ?? 0;
  const last = union[union.length - 1] ?? 0;
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const width = (last - first) / buckets;
  const times: number[] = [];
  for (let b = 0; b < buckets; b++) times.push(first + b * width, first + (b + 0.5) * width);
  return { times, values: series.map((s) => bucketExtremes(s, first, width, buckets)) };
}

function stepAt(s: StepSeries, grid: readonly number[]): Array<number | null> {
  const out: Array<number | null> = [];
  let k = -1;
  for (const t of grid) {
    while (k + 1 < s.times.length && (s.times[k + 1] ?? 0) <= t) k++;
    // Drawn up to its exit: the last reading holds until then.
    const alive = t >= s.startMs && (s.endMs === null || t <= s.endMs);
    out.push(alive && k >= 0 ? (s.values[k] ?? null) : null);
  }
  return out;
}

function bucketExtremes(s: StepSeries, first: number, width: number, buckets: number): Array<number | null> {
  const out: Array<number | null> = [];
  let k = -1; // the last sample before the current bucket
  for (let b = 0; b < buckets; b++) {
    const from = first + b * width;
    const to = b === buckets - 1 ? Number.POSITIVE_INFINITY : first + (b + 1) * width;
    const alive = s.startMs < to && (s.endMs === null || s.endMs > from);
    // The value carried into the bucket counts as its first.
    let low: number | null = k >= 0 && alive ? (s.values[k] ?? null) : null;
    let high = low;
    let lowAt = from;
    let highAt = from;
    while (k + 1 < s.times.length && (s.times[k + 1] ?? 0) < to) {
      k++;
      const value = s.values[k] ?? null;
      const at = s.times[k] ?? from;
      if (value === null) continue;
      if (low === null || value < low) {
        low = value;
        lowAt = at;
      }
      if (high === null || value > high) {
        high = value;
        highAt = at;
      }
    }
    if (!alive || low === null || high === null) out.push(null, null);
    else if (lowAt <= highAt) out.push(low, high);
    else out.push(high, low);
  }
  return out;
}

function range(length: number): number[] {
  const out = new Array<number>(length);
  for (let i = 0; i < length; i++) out[i] = i;
  return out;
}
