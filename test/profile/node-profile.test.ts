import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileAt, topSites } from '../../src/profile/profile-at.js';
import { checkSpoolRecord } from '../../src/profile/profile-decoder.js';
import { type Capture, readCapture } from '../../src/record/capture-reader.js';
import {
  type CliResult,
  finish,
  jobsDir,
  MiB,
  repoRoot,
  runCli,
  sleep,
  useScratchDir,
} from '../helpers/run-cli.js';

const scratch = useScratchDir();
const preload = path.join(repoRoot, 'dist/node-preload.cjs');
/** The user's own settings must not leak in from the environment the tests run in. */
const cleanEnv = { NODE_OPTIONS: '', PYTHONPATH: '' };

async function profiledRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<[CliResult, Capture]> {
  const file = path.join(scratch.dir, 'capture.jsonl');
  const result = await runCli(['run', '-q', '--profile', '-o', file, ...args], {
    cwd: scratch.dir,
    env: { ...cleanEnv, ...env },
  });
  return [result, readCapture(file)];
}

/** The job's profile times and cgroup sample times are on one clock: each snapshot falls among the samples. */
function expectOneClock(capture: Capture): void {
  const { timeMs, length } = capture.series;
  const slack = capture.header.intervalMs;
  expect(length).toBeGreaterThan(2);
  for (const profile of capture.profiles) {
    expect(profile.startMs).toBeGreaterThanOrEqual(0);
    for (const snapshot of profile.snapshots) {
      expect(snapshot.timeMs).toBeGreaterThanOrEqual((timeMs[0] as number) - slack);
      expect(snapshot.timeMs).toBeLessThanOrEqual((timeMs[length - 1] as number) + slack);
    }
  }
}

describe('Node allocation profiles under headroom run --profile', () => {
  it('names the request handler that leaks into a module-level cache, on the cgroup samples clock', async () => {
    // Node starts a second into the run: its profile times must count from the run's start, not its own.
    const service = path.join(jobsDir, 'leaky-handler.mjs');
    const [result, capture] = await profiledRun(['--', 'sh', '-c', `sleep 1; exec node ${service} 300`]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('reports cached: 300');
    expect(capture.profiles).toHaveLength(1);
    const [profile] = capture.profiles;
    expect(profile?.info).toMatchObject({ runtime: 'node', mode: 'sampling', interval: 131072 });
    expect(profile?.notes).toEqual([]);
    expect(profile?.snapshots.at(-1)?.reason).toBe('exit');
    // /health allocates several times more per request than /report, but keeps none of it.
    const sites = topSites(profileAt(capture, 'end'));
    expect(sites[0]?.frame).toMatchObject({ name: 'handleReport', line: 9 });
    expect(sites[0]?.frame.file).toMatch(/leaky-handler\.mjs$/);
    // 300 reports of 400 rows, about 30 MiB; sampled, so only roughly.
    expect(sites[0]?.bytes).toBeGreaterThan(10 * MiB);
    expect(sites.find((site) => site.frame.name === 'handleHealth')?.bytes ?? 0).toBeLessThan(
      (sites[0]?.bytes ?? 0) / 4,
    );
    expectOneClock(capture);
    expect(profile?.startMs).toBeGreaterThanOrEqual(1000);
    // The exit snapshot comes before the sampler saw the process gone, and not long before.
    const track = capture.processByPid.get(profile?.pid ?? -1);
    const exitMs = profile?.snapshots.at(-1)?.timeMs ?? 0;
    expect(exitMs).toBeLessThanOrEqual((track?.endMs ?? 0) + 1);
    expect(exitMs).toBeGreaterThanOrEqual((track?.endMs ?? 0) - 3 * capture.header.intervalMs);
  }, 30_000);

  it('charges a small handler its leak, though TurboFan would inline it into its timer callback', async () => {
    // --trace-turbo-inlining prints each function TurboFan inlines to the job's stdout.
    const job = ['--', 'node', '--trace-turbo-inlining', path.join(jobsDir, 'inlined-leak.mjs'), '60'];
    const inlined = /^Inlining .*SharedFunctionInfo remember>/m;
    // With inlining kept, the fixture does what issue 13 describes: the handler is inlined.
    const [kept] = await profiledRun(job, { HEADROOM_NODE_INLINING: 'keep' });
    expect(kept.status).toBe(0);
    expect(kept.stdout).toMatch(inlined);

    const [result, capture] = await profiledRun(job);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('events kept: 240000');
    expect(result.stdout).not.toMatch(inlined);
    expect(capture.profiles[0]?.notes).toEqual([]);
    const sites = topSites(profileAt(capture, 'end'));
    expect(sites[0]?.frame).toMatchObject({ name: 'remember', line: 9 });
    expect(sites[0]?.frame.file).toMatch(/inlined-leak\.mjs$/);
    const caller = sites.find((site) => site.frame.name === '' && site.frame.line === 18);
    expect(caller?.bytes ?? 0).toBeLessThan((sites[0]?.bytes ?? 0) / 4);
  }, 30_000);

  it('keeps a recent profile of a job its cgroup OOM-kills', async () => {
    const [result, capture] = await profiledRun([
      '--memory',
      '160m',
      '--no-guard',
      '--',
      'node',
      path.join(jobsDir, 'leaky-handler.mjs'),
      'forever',
    ]);
    expect(result.status).not.toBe(0);
    const kill = capture.events.find((event) => event.kind === 'oom-kill');
    expect(kill).toBeDefined();
    const [profile] = capture.profiles;
    const last = profile?.snapshots.at(-1);
    expect(last).toBeDefined();
    expect(last?.timeMs).toBeLessThan(kill?.timeMs ?? 0);
    expect(profile?.snapshots.some((snapshot) => snapshot.reason === 'exit')).toBe(false);
    // Fetched when the cgroup neared its limit, not only while the heap was small.
    expect(last?.totalBytes).toBeGreaterThan(48 * MiB);
    expect(topSites(profileAt(capture, 'end'))[0]?.frame.name).toBe('handleReport');
    expectOneClock(capture);
  }, 60_000);

  it("profiles a Node child as well as its parent, each joined to its process's track", async () => {
    const [result, capture] = await profiledRun(['--', 'node', path.join(jobsDir, 'node-prof-parent.mjs')]);
    expect(result.status).toBe(0);
    const byScript = (script: string) =>
      capture.profiles.find((profile) => profile.info.argv[1]?.endsWith(script));
    const parent = byScript('node-prof-parent.mjs');
    const child = byScript('node-prof-child.mjs');
    expect(capture.profiles).toHaveLength(2);
    expect(parent?.pid).not.toBe(child?.pid);
    expect(capture.processByPid.get(child?.pid ?? -1)?.ppid).toBe(parent?.pid);
    const view = profileAt(capture, 'end');
    for (const [profile, script, site] of [
      [parent, 'node-prof-parent.mjs', 'parentKeeps'],
      [child, 'node-prof-child.mjs', 'childKeeps'],
    ] as const) {
      const part = view.parts.find((p) => p.pid === profile?.pid);
      expect(part?.track?.argv.join(' ')).toContain(script);
      expect(part?.label).toBe(`node ${script} (pid ${profile?.pid})`);
      const sites = topSites({ ...view, parts: part ? [part] : [] });
      expect(sites[0]?.frame.name).toBe(site);
      expect(sites[0]?.pids).toEqual([profile?.pid]);
    }
    expectOneClock(capture);
  }, 30_000);

  it("keeps the user's own NODE_OPTIONS working: their --require and heap limit", async () => {
    const hook = path.join(jobsDir, 'node-prof-hook.cjs');
    const [result, capture] = await profiledRun(['--', 'node', path.join(jobsDir, 'node-prof-options.mjs')], {
      NODE_OPTIONS: `--require ${hook} --max-old-space-size=200`,
    });
    expect(result.status).toBe(0);
    const seen = JSON.parse(result.stdout) as { hook: string | null; limitMiB: number };
    expect(seen.hook).toBe('loaded');
    // V8's limit is the old space asked for plus the young generation, which V8 sizes by version (about
    // 48 MiB here on Node 20 and 22, 192 on Node 24); left to itself, on this machine, it would be GiBs.
    expect(seen.limitMiB).toBeGreaterThanOrEqual(200);
    expect(seen.limitMiB).toBeLessThan(200 + 256);
    expect(topSites(profileAt(capture, 'end'))[0]?.frame.name).toBe('userWork');
  }, 30_000);
});

/** The records in a spool file, each checked the way headroom checks them before copying. */
function spoolRecords(file: string): unknown[][] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return lines.map((line) => {
    const record = JSON.parse(line) as unknown[];
    expect(checkSpoolRecord(record)).toBe(true);
    return record;
  });
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs = 10_000,
  context: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${context()}`.trimEnd());
    await sleep(20);
  }
}

/** A Node process with the preload, as headroom would start it but without headroom. */
function startNode(args: string[], env: NodeJS.ProcessEnv, nodeOptions = `--require ${preload}`) {
  const child = spawn(process.execPath, args, {
    cwd: scratch.dir,
    env: { ...process.env, ...cleanEnv, NODE_OPTIONS: nodeOptions, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, done: finish(child) };
}

describe('the Node preload on its own', () => {
  it('does nothing without HEADROOM_PROFILE_DIR: no exit listener, no timer, no file', async () => {
    const script =
      'console.log(JSON.stringify([process.listenerCount("exit"), process.getActiveResourcesInfo(), Object.getOwnPropertySymbols(globalThis).length]))';
    const bare = await startNode(['-e', script], { HEADROOM_PROFILE_DIR: '' }, '').done;
    const loaded = await startNode(['-e', script], { HEADROOM_PROFILE_DIR: '' }).done;
    expect(loaded.status).toBe(0);
    expect(loaded.stdout).toBe(bare.stdout);
    expect(fs.readdirSync(scratch.dir)).toEqual([]);
  });

  it('answers a snapshot request, profiles the main thread once, notes workers, and leaves the exit code alone', async () => {
    const dir = path.join(scratch.dir, 'spool');
    fs.mkdirSync(dir);
    const marker = path.join(scratch.dir, 'marker');
    const started = Date.now();
    const { child, done } = startNode(
      [path.join(jobsDir, 'node-prof-wait.mjs'), marker, 'worker'],
      {
        HEADROOM_PROFILE_DIR: dir,
        HEADROOM_START_MS: String(started),
        HEADROOM_NODE_SAMPLING_INTERVAL: '64k',
      },
      // Named twice (the user's NODE_OPTIONS repeating it): the second copy stays idle.
      `--require ${preload} --require ${preload}`,
    );
    const file = path.join(dir, `${child.pid}.jsonl`);
    await waitFor('the worker note', () =>
      spoolRecords(file).find((r) => r[0] === 'W' && String(r[2]).includes('worker')),
    );
    const requested = Date.now();
    fs.writeFileSync(path.join(dir, 'request'), '');
    // A request is answered at the next check whatever the time budget: twice in CI a budget spent on the
    // first, cold fetches left it unanswered for as long as the job lived. The records say what happened.
    const answer = await waitFor(
      'a request snapshot',
      () => spoolRecords(file).find((r) => r[0] === 'A' && r[2] === 'request'),
      10_000,
      () => JSON.stringify(spoolRecords(file).map((r) => r.slice(0, 3))),
    );
    expect(answer[1]).toBeLessThan(requested - started + 5000);
    fs.writeFileSync(marker, '');
    const result = await done;
    expect(result.status).toBe(3);
    const records = spoolRecords(file);
    const starts = records.filter((r) => r[0] === 'I');
    expect(starts).toHaveLength(1);
    // An unusable interval falls back to the default, and says so.
    expect(starts[0]?.[2]).toMatchObject({ runtime: 'node', mode: 'sampling', interval: 131072 });
    expect(records.map((r) => r[0] === 'W' && r[2])).toContainEqual(
      'HEADROOM_NODE_SAMPLING_INTERVAL="64k" is not a byte count; sampling every 131072',
    );
    expect(records.map((r) => r[0] === 'W' && r[2])).toContainEqual('worker thread 1 not profiled');
    // Times count from HEADROOM_START_MS.
    expect(answer[1]).toBeGreaterThanOrEqual(requested - started - 5);
    expect(answer[1]).toBeLessThanOrEqual(Date.now() - started);
    expect(records.at(-1)?.slice(0, 3)).toEqual(['A', expect.any(Number), 'exit']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  }, 30_000);

  it('takes peak snapshots within its time budget while the heap grows, and no exit snapshot it cannot pay for', async () => {
    const dir = path.join(scratch.dir, 'spool');
    fs.mkdirSync(dir);
    const { child, done } = startNode([path.join(jobsDir, 'node-prof-grow.mjs'), '300'], {
      HEADROOM_PROFILE_DIR: dir,
    });
    expect((await done).status).toBe(0);
    const snapshots = spoolRecords(path.join(dir, `${child.pid}.jsonl`)).filter((r) => r[0] === 'A');
    // Over about 3 s RSS passes some twenty +10 % steps, and the 200 ms checks see about fifteen of them
    // (ten fetches and 5 s instead of 3.4 without the budget); each fetch forces a full GC of a growing
    // heap, and the budget (100 ms, then 1 % of the run) pays for the first two or so.
    const peaks = snapshots.filter((r) => r[2] === 'peak').length;
    expect(peaks).toBeGreaterThanOrEqual(1);
    expect(peaks).toBeLessThanOrEqual(4);
    // The forced GC of a 300 MiB heap at exit (about 0.6 s here) is far past 1 % of a 3 s run: the last
    // peak snapshot stands.
    expect(snapshots.map((r) => r[2])).not.toContain('exit');
    const bytes = (r: unknown[] | undefined) =>
      ((r?.[3] as number[]) ?? []).reduce((sum, value, i) => (i % 3 === 1 ? sum + value : sum), 0);
    expect(bytes(snapshots.at(-1))).toBeGreaterThan(MiB);
  }, 30_000);

  it('leaves the job running unprofiled when the inspector is unavailable, and says why', async () => {
    const dir = path.join(scratch.dir, 'spool');
    fs.mkdirSync(dir);
    const marker = path.join(scratch.dir, 'marker');
    fs.writeFileSync(marker, '');
    const poison = path.join(jobsDir, 'node-prof-no-inspector.cjs');
    const { child, done } = startNode(
      [path.join(jobsDir, 'node-prof-wait.mjs'), marker],
      { HEADROOM_PROFILE_DIR: dir },
      `--require ${poison} --require ${preload}`,
    );
    const result = await done;
    expect(result.status).toBe(3);
    expect(result.stderr).toBe('');
    const records = spoolRecords(path.join(dir, `${child.pid}.jsonl`));
    expect(records.map((r) => r[0])).toEqual(['I', 'W']);
    expect(records[1]?.[2]).toBe('inspector unavailable, no profile: no inspector in this build');
  });

  it("notes a snapshot V8 refused when the job's own session stopped its sampler, and samples again", async () => {
    const dir = path.join(scratch.dir, 'spool');
    fs.mkdirSync(dir);
    const { child, done } = startNode([path.join(jobsDir, 'node-prof-stops-sampler.cjs')], {
      HEADROOM_PROFILE_DIR: dir,
    });
    const result = await done;
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('400000');
    const records = spoolRecords(path.join(dir, `${child.pid}.jsonl`));
    expect(records[0]?.[0]).toBe('I');
    expect(records[1]).toEqual([
      'W',
      expect.any(Number),
      'snapshot failed: Inspector error -32000: V8 sampling heap profiler was not started.',
    ]);
    expect(records.at(-1)?.slice(0, 3)).toEqual(['A', expect.any(Number), 'exit']);
  });

  it("lets a late check's new peak wait one period, unless the cgroup is past half its limit", async () => {
    // The job's first turn after its burst is its last: what the late check took is all it leaves.
    const peaksWithUsageAt = async (share: number): Promise<number> => {
      const dir = path.join(scratch.dir, `spool-${share}`);
      fs.mkdirSync(dir);
      const usage = path.join(scratch.dir, `usage-${share}`);
      fs.writeFileSync(usage, `${share * 1000 * MiB}\n`);
      const { child, done } = startNode([path.join(jobsDir, 'node-prof-burst.mjs')], {
        HEADROOM_PROFILE_DIR: dir,
        HEADROOM_CGROUP_USAGE_FILE: usage,
        HEADROOM_LIMIT_BYTES: String(1000 * MiB),
      });
      expect((await done).signal).toBe('SIGKILL');
      return spoolRecords(path.join(dir, `${child.pid}.jsonl`)).filter((r) => r[0] === 'A' && r[2] === 'peak')
        .length;
    };
    expect(await peaksWithUsageAt(0.1)).toBe(0);
    expect(await peaksWithUsageAt(0.6)).toBe(1);
  }, 30_000);

  it('runs the job as it is when the spool directory cannot be written', async () => {
    const marker = path.join(scratch.dir, 'marker');
    fs.writeFileSync(marker, '');
    const result = await startNode([path.join(jobsDir, 'node-prof-wait.mjs'), marker], {
      HEADROOM_PROFILE_DIR: path.join(scratch.dir, 'missing'),
    }).done;
    expect(result.status).toBe(3);
    expect(result.stderr).toBe('');
  });
});
