import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BudgetState, memoryBudget } from '../../src/guard/memory-budget.js';
import { type FixtureHost, MiB, v2Stat, v2Tree } from '../fixtures/cgroup-tree.js';
import { jobsDir, leftoverCgroups, runCli, scratchDir } from '../helpers/run-cli.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

describe('memoryBudget on a cgroup v2 container (fixture tree)', () => {
  it("takes the parent's lower limit and counts the working set, not the cache that can go", async () => {
    fixture = v2Tree(
      {
        '/kubepods/pod1': { 'memory.max': 512 * MiB },
        '/kubepods/pod1/c1': {
          'memory.current': 400 * MiB,
          'memory.stat': { ...v2Stat(), anon: 200 * MiB, file: 200 * MiB, inactive_file: 150 * MiB },
        },
      },
      { self: '/kubepods/pod1/c1' },
    );
    const budget = memoryBudget({ host: fixture.host, threshold: 0.6, intervalMs: 10 });
    try {
      expect(budget.state()).toEqual({
        limit: 512 * MiB,
        usage: 400 * MiB,
        workingSet: 250 * MiB,
        available: 262 * MiB,
        share: 250 / 512,
      });
      // The job grows: usage rises and the cache it had is gone.
      const pressure = new Promise<BudgetState>((resolve) => budget.on('pressure', resolve));
      fixture.write('/sys/fs/cgroup/kubepods/pod1/c1/memory.current', 420 * MiB);
      fixture.write(
        '/sys/fs/cgroup/kubepods/pod1/c1/memory.stat',
        Object.entries({ ...v2Stat(), anon: 400 * MiB, file: 20 * MiB, inactive_file: 10 * MiB })
          .map(([key, value]) => `${key} ${value}`)
          .join('\n'),
      );
      expect((await pressure).workingSet).toBe(410 * MiB);
      const relief = new Promise<BudgetState>((resolve) => budget.on('relief', resolve));
      fixture.write('/sys/fs/cgroup/kubepods/pod1/c1/memory.current', 100 * MiB);
      expect((await relief).available).toBe(422 * MiB);
    } finally {
      budget.close();
    }
  });

  it('says why when there is no memory cgroup', () => {
    fixture = v2Tree({ '/a': {} }, { self: '/a' });
    fixture.write('/proc/self/mountinfo', '22 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw\n');
    expect(() => memoryBudget({ host: fixture?.host })).toThrow(/^no memory budget: /);
  });
});

describe('memoryBudget in a real cgroup (v1)', () => {
  it('sees the limit headroom set, and fires before the kernel would kill', async () => {
    const scratch = scratchDir();
    try {
      const result = await runCli(
        ['run', '--quiet', '--memory', '128m', '--', 'node', path.join(jobsDir, 'budget.mjs'), '0.7'],
        { cwd: scratch.dir },
      );
      expect(result.status).toBe(0);
      const [first, atPressure] = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(first.limit).toBe(128 * MiB);
      expect(atPressure.pressure.share).toBeGreaterThanOrEqual(0.7);
      expect(atPressure.pressure.available).toBeLessThan(0.3 * 128 * MiB);
      expect(atPressure.heldMiB).toBeGreaterThan(64);
    } finally {
      scratch.cleanup();
    }
    expect(await leftoverCgroups()).toEqual([]);
  });
});
