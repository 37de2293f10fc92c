import { describe, expect, it } from 'vitest';
import { type GuardOptions, prepareGuard } from '../../src/guard/job-guard.js';
import type { GuardOrder } from '../../src/record/capture-format.js';

const MiB = 1024 * 1024;
const limit = 512 * MiB;

function orderFor(options: GuardOptions): { order: GuardOrder | undefined; told: GuardOrder[] } {
  const told: GuardOrder[] = [];
  const guard = prepareGuard({ ...options, onOrder: (order) => told.push(order) }, limit, { PATH: '/bin' }, [
    'python3',
    'job.py',
  ]);
  guard.discard();
  return { order: guard.order, told };
}

describe('prepareGuard: the graceful path the knobs leave room for', () => {
  it('is the watchdog in term or snapshot mode, at its threshold (95 % by default)', () => {
    expect(orderFor({ watch: { onLimit: 'term' } }).order).toMatchObject({
      graceful: "the watchdog's SIGTERM at 95% (486 MiB)",
      thresholdBytes: Math.floor(0.95 * limit),
    });
    expect(orderFor({ watch: { onLimit: 'snapshot', threshold: 0.9 } }).order?.graceful).toBe(
      "the watchdog's snapshot at 90% (461 MiB)",
    );
  });

  it('is not a watchdog that only reclaims page cache, nor no watchdog: the knobs stay where they were', () => {
    expect(orderFor({ watch: { onLimit: 'reclaim', threshold: 0.95 } })).toEqual({
      order: undefined,
      told: [],
    });
    expect(orderFor({})).toEqual({ order: undefined, told: [] });
  });

  it("is supervise's --restart-above, as a share or a size, and the highest threshold when there are two", () => {
    expect(orderFor({ restartAbove: { share: 0.8 } }).order?.graceful).toBe('--restart-above 80% (410 MiB)');
    expect(orderFor({ restartAbove: { bytes: 300 * MiB } }).order?.graceful).toBe('--restart-above 300 MiB');
    const both = orderFor({ restartAbove: { share: 0.8 }, watch: { onLimit: 'term', threshold: 0.9 } });
    expect(both.order?.graceful).toBe("the watchdog's SIGTERM at 90% (461 MiB)");
    // Told once per guard, for supervise to log.
    expect(both.told).toEqual([both.order]);
  });
});
