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
    for (let t = 0; t < 3000; t += 100) ring.push(t, sampleValues({ usage: t * MiB }));
    ring.setFine(true);
    expect(ring.isFine).toBe(true);
    for (let t = 3000; t <= 4000; t += 100) ring.push(t, sampleValues({ usage: t * MiB }));
    expect(ring.samples().map((s) => s.timeMs)).toEqual([0, 1000, 2000, 3000, 3700, 3800, 3900, 4000]);
    expect(ring.lastMs).toBe(4000);
    const fineBytes = ring.bytes;
    ring.setFine(false);
    expect(ring.bytes).toBeLessThan(fineBytes);
    expect(ring.samples().map((s) => s.timeMs)).toEqual([0, 1000, 2000, 3000, 4000]);
  });

  it('stores a cgroup that holds still once a minute, and grows its columns only as they fill', () => {
    const ring = new SampleRing();
    expect(ring.bytes).toBe(0);
    // Ten minutes of an idle cgroup: usage wobbles by a few KiB.
    for (let t = 0; t < 600_000; t += 1000) ring.push(t, sampleValues({ usage: 50 * MiB + (t % 3) * 4096 }));
    expect(ring.samples().map((s) => s.timeMs)).toEqual([
      0, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000,
    ]);
    expect(ring.bytes).toBeLessThan(2 * 1024);
    // A counter that moves is stored at once, and so is a quarter MiB of growth.
    ring.push(601_000, sampleValues({ usage: 50 * MiB, oomKills: 1 }));
    ring.push(602_000, sampleValues({ usage: 50 * MiB + 300 * 1024, oomKills: 1 }));
    expect(
      ring
        .samples()
        .slice(-2)
        .map((s) => s.timeMs),
    ).toEqual([601_000, 602_000]);
    expect(ring.lastMs).toBe(602_000);
  });

  it('holds ten minutes at 1 s of a busy cgroup in under 50 KiB', () => {
    const ring = new SampleRing();
    for (let t = 0; t < 1_200_000; t += 1000)
      ring.push(t, sampleValues({ usage: 64 * MiB + (t % 2000) * 16384 }));
    expect(ring.samples()).toHaveLength(600);
    expect(ring.samples()[0]?.timeMs).toBe(600_000);
    expect(ring.bytes).toBe(SampleRing.bytesFor().coarse);
    expect(ring.bytes).toBeLessThan(50 * 1024);
  });
});
