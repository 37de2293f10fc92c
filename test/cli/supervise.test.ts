import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../src/analyze/summarize.js';
import { freePort } from '../helpers/free-port.js';
import { capturesIn, finish, jobsDir, runCli, sleep, startCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

describe('headroom supervise (real cgroup v1)', () => {
  it('restarts a leaking service at its threshold, keeps serving between restarts, and stops after --max-restarts', async () => {
    const port = await freePort();
    const child = startCli(
      [
        'supervise',
        '--memory',
        '256m',
        '--restart-above',
        '100m',
        '--max-restarts',
        '3',
        '--backoff',
        '100ms',
        '--grace',
        '2',
        '--',
        'node',
        path.join(jobsDir, 'leaky-service.mjs'),
        String(port),
      ],
      { cwd: scratch.dir },
    );
    const done = finish(child);
    let running = true;
    void done.then(() => {
      running = false;
    });
    const answeredBy = new Set<string>();
    while (running) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(200) });
        answeredBy.add(await response.text());
      } catch {
        // Between generations.
      }
      await sleep(50);
    }
    const result = await done;
    // Four generations, each of which served requests.
    expect(answeredBy.size).toBeGreaterThanOrEqual(3);
    const lines = result.stderr.trim().split('\n');
    expect(lines.filter((line) => /restart \d\/3 in/.test(line))).toHaveLength(3);
    // Once, before the first generation: the knobs all sit above 100 MiB (+ 32 MiB) under 256 MiB.
    expect(lines[0]).toBe(
      'headroom supervise: guard: --restart-above 100 MiB acts first: Node heap 192 MiB, JVM heap 192 MiB and Python RLIMIT_DATA 224 MiB sit 32 MiB or more above it, below the limit',
    );
    expect(lines[1]).toMatch(
      /^headroom supervise: generation 1 stopped after [\d.]+s: working set 1\d\d MiB over --restart-above 100 MiB \(anon /,
    );
    expect(lines[lines.length - 1]).toMatch(
      /^headroom supervise: generation 4 stopped .*gave up after 3 restarts \(--max-restarts\)/,
    );
    // Gave up: a failure, though the last generation's SIGTERM handler exited 0.
    expect(result.status).toBe(1);
    expect(capturesIn(scratch.dir)).toHaveLength(4);
  });

  it('restarts a growing Python job gracefully at --restart-above 80%: the rlimit sits above it, no MemoryError crash', async () => {
    const result = await runCli(
      [
        'supervise',
        '--memory',
        '128m',
        '--restart-above',
        '80%',
        '--max-restarts',
        '2',
        '--backoff',
        '100ms',
        '--grace',
        '5',
        '--',
        'python3',
        path.join(jobsDir, 'alloc-rate.py'),
        // 40 MiB/s in 4 MiB chunks: the sampler has about half a second between 80 % and the limit, which
        // supervise (no paused OOM killer) needs on a busy machine.
        '40',
        '4',
      ],
      { cwd: scratch.dir, env: { PYTHONPATH: '' } },
    );
    expect(result.stderr).not.toMatch(/Traceback|MemoryError/);
    // Each generation's SIGTERM handler ran.
    expect(result.stdout).toBe('stopped cleanly\n'.repeat(3));
    const lines = result.stderr.trim().split('\n');
    // 80 % of 128 MiB is 102.4 MiB: no room for RLIMIT_DATA 32 MiB above it and below the limit, so it is
    // 32 MiB above the limit, where it was 96 MiB.
    expect(lines[0]).toMatch(
      /^headroom supervise: guard: --restart-above 80% \(102 MiB\) acts first for Python: Python RLIMIT_DATA 160 MiB sits 32 MiB above the limit/,
    );
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        /^headroom supervise: generation 1 stopped after [\d.]+s: working set 1\d\d MiB over --restart-above 102 MiB .*restart 1\/2/,
      ),
      expect.stringMatching(
        /^headroom supervise: generation 2 stopped after [\d.]+s: working set 1\d\d MiB over --restart-above 102 MiB .*restart 2\/2/,
      ),
      expect.stringMatching(
        /^headroom supervise: generation 3 stopped \(working set 1\d\d MiB over --restart-above 102 MiB .*gave up after 2 restarts/,
      ),
    ]);
    const captures = capturesIn(scratch.dir);
    expect(captures).toHaveLength(3);
    for (const capture of captures) {
      const summary = JSON.parse(
        (await runCli(['summary', '--json', capture], { cwd: scratch.dir })).stdout,
      ) as Summary;
      expect(summary.exitCode).toBe(0);
      expect(summary.oomKilled).toBe(false);
      expect(summary.guard.actions.map((a) => a.action)).toEqual(['term']);
      expect(summary.guard.order).toMatchObject({ graceful: '--restart-above 80% (102 MiB)', first: 'knob' });
    }
  });

  it('restarts before the trend reaches the limit', async () => {
    const port = await freePort();
    const result = await runCli(
      [
        'supervise',
        '--memory',
        '256m',
        '--restart-before',
        '20s',
        '--max-restarts',
        '0',
        '--',
        'node',
        path.join(jobsDir, 'leaky-service.mjs'),
        String(port),
        '1',
      ],
      { cwd: scratch.dir },
    );
    expect(result.stderr).toMatch(
      /growing [\d.]+ [MG]iB\/min would reach the 256 MiB limit in [\d.]+s \(--restart-before 20\.0s\)/,
    );
    expect(result.stderr).toMatch(/gave up after 0 restarts/);
    const [capture] = capturesIn(scratch.dir);
    expect(fs.readFileSync(capture ?? '', 'utf8')).toMatch(/"guard-action",\{"action":"term"/);
  });

  it('refuses bad thresholds and durations with one line and exit 125', async () => {
    const above = await runCli(['supervise', '--restart-above', 'lots', '--', 'true'], { cwd: scratch.dir });
    expect(above.status).toBe(125);
    expect(above.stderr).toBe(
      'headroom: --restart-above: "lots" is neither a size (512m, 2g) nor a percentage of the limit (90%) [E_USAGE]\n',
    );
    const before = await runCli(['supervise', '--restart-before', '5x', '--', 'true'], { cwd: scratch.dir });
    expect(before.status).toBe(125);
    expect(before.stderr).toBe(
      'headroom: --restart-before: "5x" is not a duration (500ms, 30s, 5m, 1h) [E_USAGE]\n',
    );
  });

  it('ends when the service exits 0', async () => {
    const result = await runCli(['supervise', '--', 'sh', '-c', 'exit 0'], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/generation 1 exited 0 after [\d.]+s; supervision ends/);
  });
});
