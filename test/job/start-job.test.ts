import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorStatus } from '../../src/cli/error-status.js';
import { HeadroomError } from '../../src/errors.js';
import { type Placement, placeJob, releasePlacement } from '../../src/job/placement.js';
import { type Job, type JobOptions, startJob } from '../../src/job/start-job.js';
import { pidAlive, readCgroupPids } from '../../src/kernel/index.js';
import { useScratchDir } from '../helpers/run-cli.js';

const MiB = 1024 * 1024;
const scratch = useScratchDir();
let placement: Placement | undefined;
let job: Job | undefined;
afterEach(async () => {
  job?.killAll();
  if (job) await job.exited;
  job = undefined;
  if (placement) releasePlacement(placement);
  placement = undefined;
});

/** startJob in `where`, with this test's environment and working directory, and a grace of 1 s. */
function startIn(where: Placement, command: string, more: Partial<JobOptions> = {}): Promise<Job> {
  return startJob({
    placement: where,
    command,
    env: process.env,
    cwd: scratch.dir,
    graceSeconds: 1,
    ...more,
  });
}

/** This process's cgroups, to show that headroom is back where it was. */
function ownCgroups(): string {
  return fs.readFileSync('/proc/self/cgroup', 'latin1');
}

/** A job in a cgroup of its own below this test's, as `headroom run` places it. */
async function start(script: string, more: Partial<JobOptions> = {}): Promise<Job> {
  placement = placeJob({});
  expect(placement.mode).toBe('own');
  job = await startIn(placement, 'sh', { args: ['-c', script], graceSeconds: 10, ...more });
  return job;
}

/** Polls until `check` holds, failing with `what` at the deadline. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('startJob on the real cgroup v1 hierarchy', () => {
  it("passes the job's exit code through, and 128+N for a death by signal N", async () => {
    expect(await (await start('exit 3')).exited).toEqual({ code: 3, signal: null, status: 3 });
    releasePlacement(placement as Placement);
    expect(await (await start('kill -KILL $$')).exited).toEqual({
      code: null,
      signal: 'SIGKILL',
      status: 137,
    });
  });

  it('runs the job inside its own cgroup from its first instruction', async () => {
    const started = await start('cat /proc/self/cgroup > cgroup.txt');
    expect((await started.exited).status).toBe(0);
    const own = (placement as Placement).cgroup.path;
    const memoryLine = fs
      .readFileSync(path.join(scratch.dir, 'cgroup.txt'), 'latin1')
      .split('\n')
      .find((line) => /:memory:/.test(line));
    expect(memoryLine).toBe(`${memoryLine?.split(':')[0]}:memory:${own}`);
  });

  it('steps back into its own cgroup once the job is born there', async () => {
    const before = ownCgroups();
    const started = await start('exit 0');
    expect(ownCgroups()).toBe(before);
    expect(readCgroupPids(path.join((placement as Placement).cgroup.dir, 'cgroup.procs'))).not.toContain(
      process.pid,
    );
    expect((await started.exited).status).toBe(0);
  });

  it('is born in its cgroup, no shell before it: it keeps the argv[0] it was given', async () => {
    const started = await start(`tr '\\0' '\\n' < /proc/$$/cmdline | head -n 1 > argv0.txt`);
    expect((await started.exited).status).toBe(0);
    expect(fs.readFileSync(path.join(scratch.dir, 'argv0.txt'), 'latin1')).toBe('sh\n');
  });

  it('is in its cgroup as soon as it has started, before it could have moved itself', async () => {
    const started = await start('exec sleep 60');
    const procs = path.join((placement as Placement).cgroup.dir, 'cgroup.procs');
    expect(readCgroupPids(procs)).toContain(started.pid);
  });

  it('with a limit of its own, a shell joins the cgroup and executes the job by its resolved path', async () => {
    placement = placeJob({ memory: 64 * MiB });
    if (placement.mode !== 'own') throw new Error("expected a cgroup of the job's own");
    job = await startIn(placement, 'sh', {
      args: [
        '-c',
        `cat /proc/self/cgroup > cgroup.txt; tr '\\0' '\\n' < /proc/$$/cmdline | head -n 1 > argv0.txt`,
      ],
      graceSeconds: 10,
    });
    expect((await job.exited).status).toBe(0);
    expect(fs.readFileSync(path.join(scratch.dir, 'cgroup.txt'), 'latin1')).toMatch(
      new RegExp(`:memory:${placement.cgroup.path}$`, 'm'),
    );
    // The shell executed the job by its resolved path.
    expect(fs.readFileSync(path.join(scratch.dir, 'argv0.txt'), 'latin1')).toMatch(/^\/.*\/sh\n$/);
  });

  it("a cgroup it cannot enter: headroom's own failure (125), nothing started, and it stays where it was", async () => {
    const before = ownCgroups();
    placement = placeJob({});
    if (placement.mode !== 'own') throw new Error("expected a cgroup of the job's own");
    // Unlimited, so headroom steps in; but its cgroup.procs takes no pid.
    const fake = path.join(scratch.dir, 'fake');
    fs.mkdirSync(path.join(fake, 'cgroup.procs'), { recursive: true });
    fs.writeFileSync(path.join(fake, 'memory.limit_in_bytes'), '9223372036854771712\n');
    const marker = path.join(scratch.dir, 'ran');
    const starting = startIn({ ...placement, cgroup: { ...placement.cgroup, dir: fake } }, 'touch', {
      args: [marker],
    });
    await expect(starting).rejects.toMatchObject({
      code: 'E_JOB_START',
      message: expect.stringMatching(
        /^cannot start touch: cannot enter the job's cgroup: cannot write \d+ to .*fake\/cgroup\.procs: /,
      ),
    });
    expect(errorStatus('E_JOB_START', true)).toBe(125);
    expect(fs.existsSync(marker)).toBe(false);
    expect(ownCgroups()).toBe(before);
  });

  it('a cgroup that is gone: the shell that joins it exits 125 and the job never runs', async () => {
    placement = placeJob({});
    if (placement.mode !== 'own') throw new Error("expected a cgroup of the job's own");
    const marker = path.join(scratch.dir, 'ran');
    job = await startIn(
      { ...placement, cgroup: { ...placement.cgroup, dir: path.join(scratch.dir, 'gone') } },
      'touch',
      { args: [marker] },
    );
    expect((await job.exited).status).toBe(125);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('on a fixture tree, which does not list headroom, the job (not headroom) is written into it', async () => {
    const parentDir = path.join(scratch.dir, 'fixture');
    const jobDir = path.join(parentDir, 'job');
    fs.mkdirSync(jobDir, { recursive: true });
    fs.writeFileSync(path.join(parentDir, 'cgroup.procs'), '3141\n');
    fs.writeFileSync(path.join(jobDir, 'cgroup.procs'), '');
    fs.writeFileSync(path.join(jobDir, 'memory.max'), 'max\n');
    const at = (dir: string, cgroupPath: string) => ({
      version: 2 as const,
      path: cgroupPath,
      dir,
      mountDir: parentDir,
      readOnly: false,
      ancestorsHidden: false,
    });
    job = await startIn({ mode: 'own', cgroup: at(jobDir, '/job'), parent: at(parentDir, '/') }, 'sh', {
      args: ['-c', 'exit 0'],
      forwardSignals: false,
    });
    const pid = job.pid;
    expect((await job.exited).status).toBe(0);
    job = undefined;
    expect(fs.readFileSync(path.join(jobDir, 'cgroup.procs'), 'latin1')).toBe(`${pid}\n`);
    expect(fs.readFileSync(path.join(parentDir, 'cgroup.procs'), 'latin1')).toBe('3141\n');
  });

  it('a file that cannot be executed (text file busy): 126, as a shell answers, and headroom back home', async () => {
    const before = ownCgroups();
    const busy = path.join(scratch.dir, 'busy');
    const fd = fs.openSync(busy, 'w', 0o755);
    try {
      fs.writeSync(fd, '#!/bin/sh\n');
      placement = placeJob({});
      const starting = startIn(placement, 'busy', { program: busy });
      await expect(starting).rejects.toMatchObject({
        code: 'E_NOT_EXECUTABLE',
        message: 'busy: cannot execute: text file busy',
      });
      expect(errorStatus('E_NOT_EXECUTABLE', true)).toBe(126);
    } finally {
      fs.closeSync(fd);
    }
    expect(ownCgroups()).toBe(before);
    expect(readCgroupPids(path.join(placement.cgroup.dir, 'cgroup.procs'))).toEqual([]);
  });

  it('a program gone by the time it is executed: 127, as a shell answers, and headroom back home', async () => {
    const before = ownCgroups();
    placement = placeJob({});
    const starting = startIn(placement, 'vanished', { program: path.join(scratch.dir, 'vanished') });
    await expect(starting).rejects.toMatchObject({
      code: 'E_COMMAND_NOT_FOUND',
      message: 'vanished: cannot execute: required file not found',
    });
    expect(errorStatus('E_COMMAND_NOT_FOUND', true)).toBe(127);
    expect(ownCgroups()).toBe(before);
    expect(readCgroupPids(path.join(placement.cgroup.dir, 'cgroup.procs'))).toEqual([]);
  });

  it('a script whose interpreter is missing: 127 whichever way the job starts', async () => {
    const script = path.join(scratch.dir, 'script');
    fs.writeFileSync(script, '#!/no/such/interpreter\n', { mode: 0o755 });
    placement = placeJob({});
    await expect(startIn(placement, script)).rejects.toMatchObject({
      code: 'E_COMMAND_NOT_FOUND',
      message: `${script}: cannot execute: required file not found`,
    });
    releasePlacement(placement);
    // With a limit of its own the shell that joins executes it, and answers 127 itself.
    placement = placeJob({ memory: 64 * MiB });
    job = await startIn(placement, script);
    expect((await job.exited).status).toBe(127);
  });

  it('forwards a signal headroom receives to the job', async () => {
    const ready = path.join(scratch.dir, 'ready');
    const started = await start(`trap 'exit 42' USR2; touch ${ready}; while :; do sleep 0.05; done`);
    await until('the job to set its trap', () => fs.existsSync(ready));
    process.kill(process.pid, 'SIGUSR2');
    expect((await started.exited).status).toBe(42);
  });

  it('kills every process of the job, descendants included, with killAll', async () => {
    const ready = path.join(scratch.dir, 'ready');
    const started = await start(`sleep 60 & sleep 60 & touch ${ready}; wait`);
    const procs = path.join((placement as Placement).cgroup.dir, 'cgroup.procs');
    await until(
      'three processes in the cgroup',
      () => fs.existsSync(ready) && readCgroupPids(procs).length >= 3,
    );
    started.killAll();
    expect((await started.exited).signal).toBe('SIGKILL');
    // The sleeps were the shell's children, orphaned by its death: they are gone with it.
    await until('the cgroup to empty', () => readCgroupPids(procs).length === 0);
    expect(readCgroupPids(procs)).toEqual([]);
  });

  it('terminate: SIGTERM, then SIGKILL once the grace period is over', async () => {
    const ready = path.join(scratch.dir, 'ready');
    const started = await start(`trap '' TERM; touch ${ready}; while :; do sleep 0.05; done`, {
      graceSeconds: 0.3,
    });
    await until('the job to ignore SIGTERM', () => fs.existsSync(ready));
    const asked = Date.now();
    started.terminate();
    expect((await started.exited).signal).toBe('SIGKILL');
    expect(Date.now() - asked).toBeGreaterThanOrEqual(250);
  });

  it('starts the sentinel one interval in, and it leaves when released', async () => {
    const sentinels: number[] = [];
    const capture = path.join(scratch.dir, 'capture.jsonl');
    fs.writeFileSync(capture, '');
    const started = await start('sleep 60', {
      sentinel: { capture, startMs: Date.now(), afterMs: 50, onStart: (pid) => sentinels.push(pid) },
    });
    await until('the sentinel to start', () => sentinels.length === 1);
    const [sentinel = -1] = sentinels;
    expect(pidAlive(sentinel)).toBe(true);
    started.release();
    await until('the released sentinel to exit', () => !pidAlive(sentinel));
    // Released, it touched neither the job nor the capture.
    expect(pidAlive(started.pid)).toBe(true);
    expect(fs.readFileSync(capture, 'latin1')).toBe('');
  });

  it('a command that does not exist: 127, and nothing started', async () => {
    placement = placeJob({});
    const starting = startIn(placement, 'no-such-command-headroom');
    await expect(starting).rejects.toThrow(HeadroomError);
    await expect(starting).rejects.toMatchObject({
      code: 'E_COMMAND_NOT_FOUND',
      message: 'no-such-command-headroom: command not found',
    });
    expect(errorStatus('E_COMMAND_NOT_FOUND', true)).toBe(127);
    expect(readCgroupPids(path.join(placement.cgroup.dir, 'cgroup.procs'))).toEqual([]);
  });
});
