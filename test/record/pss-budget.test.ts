import { describe, expect, it } from 'vitest';
import { PssBudget } from '../../src/record/pss-budget.js';

/** Runs `ticks` ticks 100 ms apart over `pids`, each read costing `costMs`; returns reads per pid. */
function simulate(budget: PssBudget, pids: number[], ticks: number, costMs: number): Map<number, number> {
  const reads = new Map<number, number>();
  for (const pid of pids) budget.add(pid);
  for (let tick = 0; tick < ticks; tick++) {
    budget.spend(tick * 100, (pid) => {
      reads.set(pid, (reads.get(pid) ?? 0) + 1);
      return costMs;
    });
  }
  return reads;
}

describe('PssBudget', () => {
  it('keeps all reads together within 1 % of wall time, however many processes there are', () => {
    const pids = Array.from({ length: 1000 }, (_, i) => i + 1);
    const reads = simulate(new PssBudget(0.01, 1000, 20), pids, 600, 0.5);
    const total = [...reads.values()].reduce((a, b) => a + b, 0);
    // 60 s of wall time at 1 % is 600 ms, at 0.5 ms a read: about 1200 reads, plus the initial balance.
    expect(total * 0.5).toBeLessThanOrEqual(600 + 20 + 0.5);
    expect(total).toBeGreaterThan(1000);
    // Turns are shared: every process was read at least once.
    expect(reads.size).toBe(1000);
  });

  it('reads a few processes no more often than once a second', () => {
    const reads = simulate(new PssBudget(0.01, 1000, 20), [1, 2, 3], 100, 0.05);
    // 10 s of ticks: at most 10 reads each.
    for (const count of reads.values()) expect(count).toBeLessThanOrEqual(10);
    for (const count of reads.values()) expect(count).toBeGreaterThanOrEqual(9);
  });

  it('puts a new process at the front and forgets removed ones', () => {
    const budget = new PssBudget(0.01, 1000, 1);
    const order: number[] = [];
    budget.add(1);
    budget.add(2);
    budget.remove(1);
    budget.add(3);
    budget.spend(0, (pid) => {
      order.push(pid);
      return 0.1;
    });
    expect(order[0]).toBe(3);
    expect(order).not.toContain(1);
  });
});
