import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Summary } from '../../src/analyze/summarize.js';
import { jobsDir, leftoverCgroups, MiB, runCli, scratchDir } from '../helpers/run-cli.js';

let scratch: { dir: string; cleanup: () => void };
let tmp: string;
beforeEach(() => {
  scratch = scratchDir();
  // headroom's own temp directory for these runs, so that other test files' runs do not show in it.
  tmp = path.join(scratch.dir, 'tmp');
  fs.mkdirSync(tmp);
});
afterEach(async () => {
  // The guard's log is read and removed at the end of every run.
  expect(fs.readdirSync(tmp).filter((name) => name.startsWith('headroom-guard-'))).toEqual([]);
  scratch.cleanup();
  expect(await leftoverCgroups()).toEqual([]);
});

/** A clean environment for the job: nothing of the test runner's own NODE_OPTIONS or PYTHONPATH. */
const env = { NODE_OPTIONS: '', PYTHONPATH: '', GOMEMLIMIT: '', JAVA_TOOL_OPTIONS: '' };

async function guarded(flags: string[], command: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const capture = path.join(scratch.dir, 'job.hrc');
  const result = await runCli(['run', '-o', capture, ...flags, '--', ...command], {
    cwd: scratch.dir,
    env: { ...env, TMPDIR: tmp, ...extraEnv },
  });
  const json = await runCli(['summary', '--json', capture], { cwd: scratch.dir });
  return { ...result, summary: JSON.parse(json.stdout) as Summary };
}

describe('the runtime-knob guard (real cgroup v1)', () => {
  it('turns a Python allocation past the limit into a MemoryError, exit 1, not a SIGKILL', async () => {
    const { status, stderr, summary } = await guarded(
      ['--memory', '1g'],
      ['python3', '-c', 'x = bytearray(4000 * 2**20)'],
    );
    expect(status).toBe(1);
    expect(stderr).toMatch(/^headroom: guard: .*Python RLIMIT_DATA 922 MiB/m);
    expect(stderr).toMatch(/Traceback[\s\S]*MemoryError/);
    expect(summary.oomKilled).toBe(false);
    expect(summary.exitCode).toBe(1);
    expect(summary.guard.actions).toHaveLength(1);
    expect(summary.guard.actions[0]).toMatchObject({ action: 'memory-error' });
    expect(summary.guard.actions[0]?.message).toMatch(
      /MemoryError in python \(\d+\) at <string>:1 under the guard's RLIMIT_DATA of 922 MiB/,
    );
    expect(stderr).toMatch(/^ {2}guard {8}MemoryError in python/m);
  });

  it('leaves ordinary imports and a thread pool working under the same guard', async () => {
    const imports = await guarded(
      ['--memory', '1g'],
      ['python3', '-c', 'import json, csv, sqlite3, ssl, decimal, multiprocessing; print("imported")'],
    );
    expect(imports.status).toBe(0);
    expect(imports.stdout).toBe('imported\n');
    const pool = await guarded(
      ['--memory', '1g'],
      [
        'python3',
        '-c',
        'from concurrent.futures import ThreadPoolExecutor\nwith ThreadPoolExecutor(32) as ex: print(sum(ex.map(lambda x: x * x, range(10000))))',
      ],
    );
    expect(pool.status).toBe(0);
    expect(pool.stdout).toBe(`${[...Array(10000).keys()].reduce((sum, x) => sum + x * x, 0)}\n`);
    expect(pool.summary.guard.actions).toEqual([]);
  });

  it("stops a Node job at the heap limit it chose, with V8's own error instead of a SIGKILL", async () => {
    const { status, stderr, summary } = await guarded(
      ['--memory', '256m'],
      ['node', path.join(jobsDir, 'heap-grow.mjs')],
    );
    expect(stderr).toMatch(/heap out of memory/);
    expect(status).toBe(134);
    expect(summary.signal).toBe('SIGABRT');
    expect(summary.oomKilled).toBe(false);
    expect(summary.guard.knobs.find((k) => k.runtime === 'node')).toEqual({
      runtime: 'node',
      setting: 'NODE_OPTIONS=--max-old-space-size=192',
      bytes: 192 * MiB,
    });
    expect(summary.peak.bytes).toBeLessThan(256 * MiB);
  });

  it("keeps the user's own sitecustomize and a lower rlimit of their own", async () => {
    const site = path.join(scratch.dir, 'site');
    fs.mkdirSync(site);
    fs.writeFileSync(path.join(site, 'sitecustomize.py'), 'print("user sitecustomize")\n');
    const script = 'import resource; print(resource.getrlimit(resource.RLIMIT_DATA)[0])';
    const ours = await guarded(['--memory', '1g'], ['python3', '-c', script], { PYTHONPATH: site });
    expect(ours.stdout).toBe(`user sitecustomize\n${1024 * MiB - Math.floor(102.4 * MiB)}\n`);
    const theirs = await guarded(
      ['--memory', '1g'],
      ['sh', '-c', `ulimit -d 524288; exec python3 -c '${script}'`],
    );
    expect(theirs.stdout).toBe(`${512 * MiB}\n`);
  });

  it('sets nothing with --no-guard', async () => {
    const { stdout, stderr, summary } = await guarded(
      ['--memory', '256m', '--no-guard'],
      ['sh', '-c', 'echo "[$NODE_OPTIONS|$GOMEMLIMIT|$PYTHONPATH]"'],
    );
    expect(stdout).toBe('[||]\n');
    expect(stderr).not.toMatch(/guard/);
    expect(summary.guard).toEqual({ knobs: [], actions: [] });
  });

  it('watch, term: a job allocating as fast as it can stops on its own terms, every time, never OOM-killed', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const { status, stdout, summary } = await guarded(
        [
          '--memory',
          '512m',
          '--memory-swap',
          '512m',
          '--guard',
          'watch',
          '--watch-threshold',
          '98',
          '--grace',
          '5',
        ],
        ['python3', path.join(jobsDir, 'alloc-rate.py'), '0'],
      );
      expect(summary.oomKilled).toBe(false);
      expect(status).toBe(0);
      expect(stdout).toBe('stopped cleanly\n');
      expect(summary.guard.actions.map((a) => a.action)).toEqual(['term']);
    }
  });

  it('watch, snapshot: names the largest process by its program when the kernel knows it only by its main thread (Node 24\'s "MainThread")', async () => {
    const { summary } = await guarded(
      ['--memory', '128m', '--memory-swap', '128m', '--guard', 'watch', '--on-limit', 'snapshot'],
      // 100 MiB/s: the limit is reached after more than a second, when the tracker has long read the
      // argv python3 exec'd with (with --memory the job starts through a shell that joins the cgroup).
      ['python3', path.join(jobsDir, 'alloc-rate.py'), '100'],
      { ALLOC_COMM: 'MainThread' },
    );
    const snapshot = summary.guard.actions.find((a) => a.action === 'snapshot');
    expect(snapshot?.message).toMatch(/; largest: python3 \(\d+\) \d+(\.\d+)? MiB anon/);
    expect(summary.oomKilled).toBe(true);
  });

  it('knobs,watch: the Python rlimit sits above the watchdog, so a job allocating 16 MiB chunks stops on SIGTERM, not on MemoryError', async () => {
    // The default threshold (95 %), 95 % given, 99 %, and 90 %, where the rlimit fits between threshold
    // and limit.
    for (const threshold of [undefined, '95', '95', '99', '90']) {
      const flags = ['--memory', '512m', '--guard', 'knobs,watch', '--grace', '5'];
      if (threshold) flags.push('--watch-threshold', threshold);
      const { status, stdout, stderr, summary } = await guarded(flags, [
        'python3',
        path.join(jobsDir, 'alloc-rate.py'),
        '0',
      ]);
      expect(stderr).not.toMatch(/Traceback|MemoryError in python/);
      expect(stdout).toBe('stopped cleanly\n');
      expect(status).toBe(0);
      expect(summary.oomKilled).toBe(false);
      expect(summary.guard.actions.map((a) => a.action)).toEqual(['term']);
      const share = Number(threshold ?? '95') / 100;
      const python = summary.guard.knobs.find((k) => k.runtime === 'python');
      expect(python?.bytes).toBeGreaterThanOrEqual(share * 512 * MiB + 32 * MiB);
      expect(summary.guard.order).toMatchObject({
        graceful: `the watchdog's SIGTERM at ${share * 100}% (${Math.round(share * 512)} MiB)`,
        thresholdBytes: Math.floor(share * 512 * MiB),
      });
      // The heaps cannot leave 32 MiB above either threshold and their room below the limit: said so.
      expect(summary.guard.order?.message).toMatch(
        /acts first for Python: .*; but Node heap 448 MiB and JVM heap 448 MiB \(a heap needs room beside it below the limit\) can act before it$/,
      );
      expect(stderr).toContain(`headroom: guard: ${summary.guard.order?.message}\n`);
      expect(stderr).toContain(`  guard order  ${summary.guard.order?.message}\n`);
    }
  });

  it('knobs,watch: the rlimit past the limit still turns one allocation larger than the limit into a MemoryError', async () => {
    const { status, stderr, summary } = await guarded(
      ['--memory', '512m', '--guard', 'knobs,watch'],
      ['python3', '-c', 'x = bytearray(4000 * 2**20)'],
    );
    expect(status).toBe(1);
    expect(stderr).toMatch(/Traceback[\s\S]*MemoryError/);
    expect(summary.oomKilled).toBe(false);
    expect(summary.guard.actions.map((a) => a.message)).toEqual([
      expect.stringMatching(
        /MemoryError in python \(\d+\) at <string>:1 under the guard's RLIMIT_DATA of 544 MiB/,
      ),
    ]);
  });

  it("says when the user's own knob sits below the watchdog, and leaves it", async () => {
    const { stdout, stderr, summary } = await guarded(
      ['--memory', '512m', '--guard', 'knobs,watch'],
      ['sh', '-c', 'echo "$NODE_OPTIONS"'],
      { NODE_OPTIONS: '--max-old-space-size=256' },
    );
    expect(stdout).toBe('--max-old-space-size=256\n');
    expect(summary.guard.order?.first).toBe('knob');
    expect(stderr).toMatch(
      /^headroom: guard: the watchdog's SIGTERM at 95% \(486 MiB\) acts first for Python: .*; but your own Node --max-old-space-size=256 \(headroom leaves a setting of yours alone: raise it to 519 MiB or lower the threshold\), JVM heap 448 MiB \(a heap needs room beside it below the limit\) can act before it$/m,
    );
  });

  it('refuses a bad --on-limit or --watch-threshold with one line and exit 125', async () => {
    const action = await runCli(['run', '--guard', 'watch', '--on-limit', 'pray', '--', 'true'], {
      cwd: scratch.dir,
    });
    expect(action.status).toBe(125);
    expect(action.stderr).toBe(
      'headroom: --on-limit: unknown action "pray" (one of: term, snapshot, reclaim) [E_USAGE]\n',
    );
    const threshold = await runCli(['run', '--watch-threshold', '101%', '--', 'true'], { cwd: scratch.dir });
    expect(threshold.status).toBe(125);
    expect(threshold.stderr).toMatch(
      /^headroom: --watch-threshold: "101%" must be a percentage of the limit from 50 to 100 \[E_USAGE\]\n$/,
    );
  });

  it('refuses an unknown guard mode with one line and exit 125', async () => {
    const result = await runCli(['run', '--guard', 'nonsense', '--', 'true'], { cwd: scratch.dir });
    expect(result.status).toBe(125);
    expect(result.stderr).toBe(
      'headroom: --guard: unknown mode "nonsense" (one of: knobs, watch) [E_USAGE]\n',
    );
    const count = await runCli(['run', '--node-processes', '0', '--', 'true'], { cwd: scratch.dir });
    expect(count.status).toBe(125);
    expect(count.stderr).toMatch(/^headroom: --node-processes: "0" must be a whole number/);
  });
});
