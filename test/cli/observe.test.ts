import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Summary } from '../../src/analyze/summarize.js';
import { capturesIn, finish, jobsDir, MiB, runCli, scratchDir, startCli } from '../helpers/run-cli.js';

let scratch: { dir: string; cleanup: () => void };
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => scratch.cleanup());

describe('headroom run --observe (the cgroup headroom is in)', () => {
  it('says once that it observes, records the job, and leaves headroom itself out', async () => {
    const child = startCli(
      ['run', '--observe', '--', 'python3', path.join(jobsDir, 'fork-workers.py'), '2', '40', '1'],
      {
        cwd: scratch.dir,
      },
    );
    const headroomPid = child.pid;
    const result = await finish(child);
    expect(result.status).toBe(0);
    expect(result.stderr.match(/observing the cgroup headroom runs in/g)).toHaveLength(1);
    const [capture] = capturesIn(scratch.dir);
    const summary = JSON.parse(
      (await runCli(['summary', '--json', capture!], { cwd: scratch.dir })).stdout,
    ) as Summary;
    expect(summary.cgroup.mode).toBe('observe');
    // By argv, not name: other test files run python3 in this same cgroup at the same time.
    const workers = summary.processes.filter(
      (p) => p.argv.some((arg) => arg.endsWith('fork-workers.py')) && p.peakRssBytes > 38 * MiB,
    );
    expect(workers).toHaveLength(2);
    expect(summary.processes.map((p) => p.pid)).not.toContain(headroomPid);
  });
});
