import { describe, expect, it } from 'vitest';
import { alignSteps, indexAtOrAfter, minMaxIndices, pick } from '../../../src/report/html/downsample.js';

function noisy(length: number, seed = 7): Float64Array {
  const values = new Float64Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    values[i] = 1000 + Math.round((state / 2147483648) * 100);
  }
  return values;
}

describe('minMaxIndices', () => {
  it('keeps everything when the series is short', () => {
    expect(minMaxIndices([5, 1, 3], 10)).toEqual([0, 1, 2]);
  });

  it('keeps the lowest and highest sample of every bucket, in time order, within the budget', () => {
    const values = noisy(864_000);
    values[123_457] = 99_999; // a one-sample spike
    values[700_001] = 1; // a one-sample dip
    const indices = minMaxIndices(values, 4000);
    expect(indices.length).toBeLessThanOrEqual(4000);
    expect(indices.length).toBeGreaterThan(3900);
    expect(indices).toContain(123_457);
    expect(indices).toContain(700_001);
    for (let k = 1; k < indices.length; k++) expect(indices[k]).toBeGreaterThan(indices[k - 1] ?? -1);
    const kept = pick(values, indices);
    expect(Math.max(...kept)).toBe(99_999);
    expect(Math.min(...kept)).toBe(1);
  });

  it('every bucket keeps its own extremes', () => {
    const values = noisy(10_000, 3);
    const indices = new Set(minMaxIndices(values, 100));
    const size = 10_000 / 50;
    for (let b = 0; b < 50; b++) {
      const bucket = Array.from(values.subarray(b * size, (b + 1) * size));
      const max = Math.max(...bucket);
      const min = Math.min(...bucket);
      expect(bucket.some((v, i) => v === max && indices.has(b * size + i))).toBe(true);
      expect(bucket.some((v, i) => v === min && indices.has(b * size + i))).toBe(true);
    }
  });

  it('adds the indices it must keep, and ignores unknown (-1) values', () => {
    const values = noisy(50_000);
    values[10] = -1;
    values[20] = -1;
    const indices = minMaxIndices(values, 1000, [31_337, 49_999]);
    expect(indices).toContain(31_337);
    expect(indices).toContain(49_999);
    expect(indices.length).toBeLessThanOrEqual(1000);
    expect(indices).not.toContain(10);
  });
});

describe('indexAtOrAfter', () => {
  it('finds the first sample at or after a time', () => {
    const times = [0, 100, 200, 300];
    expect(indexAtOrAfter(times, 150)).toBe(2);
    expect(indexAtOrAfter(times, 200)).toBe(2);
    expect(indexAtOrAfter(times, 999)).toBe(3);
    expect(indexAtOrAfter([], 5)).toBe(-1);
  });
});

describe('alignSteps', () => {
  it('puts stepwise series on their own times when they fit, held to their exit, null where they did not exist', () => {
    const aligned = alignSteps([
      { times: [0, 20], values: [1, 2], startMs: 0, endMs: 30 },
      { times: [10], values: [5], startMs: 10, endMs: null },
    ]);
    expect(aligned.times).toEqual([0, 10, 20, 30]);
    expect(aligned.values).toEqual([
      [1, 1, 2, 2],
      [null, 5, 5, 5],
    ]);
  });

  it('keeps every series peak when it thins them', () => {
    const times = Array.from({ length: 100_000 }, (_, i) => i * 10);
    const a = times.map((_, i) => (i === 54_321 ? 10_000 : i % 7));
    const b = times.map((_, i) => (i === 3 ? 777 : 100 + (i % 3)));
    const aligned = alignSteps(
      [
        { times, values: a, startMs: 0, endMs: null },
        { times: times.slice(0, 60_000), values: b.slice(0, 60_000), startMs: 0, endMs: 600_000 },
      ],
      4000,
    );
    expect(aligned.times.length).toBeLessThanOrEqual(4000);
    const [lineA, lineB] = aligned.values;
    expect(Math.max(...(lineA ?? []).map((v) => v ?? 0))).toBe(10_000);
    expect(Math.max(...(lineB ?? []).map((v) => v ?? 0))).toBe(777);
    // After b ended it is not drawn.
    expect(lineB?.slice(-10)).toEqual(new Array(10).fill(null));
  });
});
