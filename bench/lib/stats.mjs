/** Small statistics and formatting helpers shared by the benchmarks. */

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function mean(values) {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function round(value, digits = 3) {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A number for the table: few significant digits, no exponent for ordinary magnitudes. */
export function formatNumber(value) {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 10) return value.toFixed(2);
  if (abs >= 0.01 || abs === 0) return value.toFixed(3);
  return value.toPrecision(2);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const MIB = 1024 * 1024;

function binomialCdf(k, n) {
  let sum = 0;
  let term = 0.5 ** n; // C(n,0) / 2^n
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * A distribution-free confidence interval for the median (order statistics, binomial), at the highest
 * pair of ranks that still covers `level`; [min, max] when there are too few values for that.
 */
export function medianInterval(values, level = 0.9) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  let k = 1;
  while (k < n / 2 && 1 - 2 * binomialCdf(k, n) >= level) k++;
  const coverage = 1 - 2 * binomialCdf(k - 1, n);
  return { low: sorted[k - 1], high: sorted[n - k], coverage };
}
