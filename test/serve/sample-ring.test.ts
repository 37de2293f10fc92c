import { describe, expect, it } from 'vitest';
import { SampleRing } from '../../src/serve/sample-ring.js';
import { sampleValues } from '../fixtures/captures.js';

const MiB = 1024 * 1024;

describe('SampleRing', () => {
  it('keeps the last samples at the coarse rate, oldest first, and exact to the KiB', () => {
    const ring = new SampleRing({ coarseCapacity: 3, coarseEveryMs: 1000 });
    expect(ring.samples()).toEqual([]);
    expect(ring.lastMs).toBeUndefined();
    for (let t = 0; t <= 5000; t += 500)
      ring.push(t, sampleValues({ usage: 100 * MiB + t * 1024 + 7, oomKills: t }));
    const kept = ring.samples();
    expect(kept.map((s) => s.timeMs)).toEqual([3000, 4000, 5000]);
    expect(kept.map((s) => s.values.oomKills)).toEqual([3000, 4000, 5000]);
    expect(Math.round((kept[2]?.values.usage ?? 0) / 1024)).toBe(
      Math.round((100 * MiB + 5000 * 1024 + 7) / 1024),
    );
    expect(kept[0]?.values.psiSome).toBe(-1);
    expect(ring.lastMs).toBe(5000);
  });

  it('while fine, keeps every sample of the last stretch after the coarse ones before it', () => {
    const ring = new SampleRing({ coarseCapacity: 10, coarseEveryMs: 1000, fineCapacity: 4 });
    for (let t = 0; t < 3000; t += 100) ring.push(t, sampleValues({ usage: t }));
    ring.setFine(true);
    expect(ring.isFine).toBe(true);
    for (let t = 3000; t <= 4000; t += 100) ring.push(t, sampleValues({ usage: t }));
    expect(ring.samples().map((s) => s.timeMs)).toEqual([0, 1000, 2000, 3000, 3700, 3800, 3900, 4000]);
    expect(ring.lastMs).toBe(4000);
    const fineBytes = ring.bytes;
    ring.setFine(false);
    expect(ring.bytes).toBeLessThan(fineBytes);
    expect(ring.bytes).toBe(SampleRing.bytesFor({ coarseCapacity: 10, fineCapacity: 4 }).coarse);
    expect(ring.samples().map((s) => s.timeMs)).toEqual([0, 1000, 2000, 3000, 4000]);
  });

  it('holds ten minutes at 1 s in under 50 KiB', () => {
    expect(SampleRing.bytesFor().coarse).toBeLessThan(50 * 1024);
    expect(new SampleRing().bytes).toBe(SampleRing.bytesFor().coarse);
  });
});
