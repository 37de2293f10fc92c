import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../src/analyze/summarize.js';
import {
  capturesIn,
  finish,
  jobsDir,
  MiB,
  runCli,
  sleep,
  startCli,
  useScratchDir,
} from '../helpers/run-cli.js';

const scratch = useScratchDir();

async function summaryOf(capture: string): Promise<Summary> {
  const result = await runCli(['summary', '--json', capture], { cwd: scratch.dir });
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as Summary;
}

function onlyCapture(): string {
  const captures = capturesIn(scratch.dir);
  expect(captures).toHaveLength(1);
  return captures[0]!;
}

describe('headroom run in a cgroup of its own (real cgroup v1)', () => {
  it('survives writing a file four times its limit, and puts the peak in page cache', async () => {
    const result = await runCli(
      ['run', '--memory', '256m', '--', 'node', path.join(jobsDir, 'write-file.mjs'), scratch.dir, '1024'],
      {
        cwd: scratch.dir,
      },
    );
    expect(result.status).toBe(0);
    const summary = await summaryOf(onlyCapture());
    expect(summary.oomKilled).toBe(false);
    expect(summary.limit.bytes).toBe(256 * MiB);
    const { breakdown } = summary.peak;
    expect(summary.peak.bytes).toBeGreaterThan(200 * MiB);
    expect(breakdown.file).toBeGreaterThan(0.6 * summary.peak.sampledBytes);
    // How much of it is still dirty depends on how fast the disk takes it (v1 throttles by the host's dirty
    // limits): some is, at the peak, whatever the disk.
    expect(breakdown.fileDirty + breakdown.fileWriteback).toBeGreaterThan(0);
    expect(breakdown.anon).toBeLessThan(64 * MiB);
    expect(result.stderr).toMatch(/peak/);
  });

  it('reports an OOM kill with its victim when a job allocates past 1 GiB', async () => {
    const result = await runCli(
      ['run', '--memory', '1g', '--', 'node', path.join(jobsDir, 'allocate.mjs'), '2048', '32'],
      {
        cwd: scratch.dir,
      },
    );
    expect(result.status).toBe(137);
    const summary = await summaryOf(onlyCapture());
    expect(summary.oomKilled).toBe(true);
    expect(summary.signal).toBe('SIGKILL');
    expect(summary.oomKills.length).toBeGreaterThanOrEqual(1);
    expect(summary.oomKills[0]?.name).toBe('node');
    expect(summary.peak.breakdown.anon).toBeGreaterThan(0.85 * 1024 * MiB);
    expect(result.stderr).toMatch(/OOM/);
  });

  it('puts the peak in shmem when /dev/shm fills the limit', async () => {
    const shm = `/dev/shm/headroom-test-${process.pid}`;
    try {
      const result = await runCli(
        ['run', '--memory', '256m', '--', 'dd', 'if=/dev/zero', `of=${shm}`, 'bs=1M', 'count=400'],
        {
          cwd: scratch.dir,
        },
      );
      expect(result.status).toBe(137);
      const summary = await summaryOf(onlyCapture());
      expect(summary.oomKilled).toBe(true);
      expect(summary.peak.breakdown.shmem).toBeGreaterThan(200 * MiB);
      expect(summary.peak.breakdown.anon).toBeLessThan(32 * MiB);
    } finally {
      fs.rmSync(shm, { force: true });
    }
  });

  it('lists every worker of a forking parent at its own size', async () => {
    const result = await runCli(
      ['run', '--', 'python3', path.join(jobsDir, 'fork-workers.py'), '6', '80', '1.5'],
      { cwd: scratch.dir },
    );
    expect(result.status).toBe(0);
    const summary = await summaryOf(onlyCapture());
    const workers = summary.processes.filter((p) => p.peakRssBytes > 60 * MiB);
    expect(workers).toHaveLength(6);
    for (const worker of workers) {
      expect(worker.name).toMatch(/python/);
      expect(worker.peakRssBytes).toBeGreaterThan(78 * MiB);
      expect(worker.peakRssBytes).toBeLessThan(100 * MiB);
    }
    const parent = summary.processes.find((p) => !workers.includes(p));
    expect(parent).toBeDefined();
    for (const worker of workers) expect(worker.ppid).toBe(parent?.pid);
  });

  it('follows grandchildren and programs they exec', async () => {
    const result = await runCli(['run', '--', path.join(jobsDir, 'grandchild.sh')], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    const summary = await summaryOf(onlyCapture());
    const python = summary.processes.find((p) => p.name === 'python3');
    expect(python?.argv[0]).toMatch(/python3$/);
    expect(python?.argv[1]).toBe('-c');
    expect(python?.peakRssBytes).toBeGreaterThan(30 * MiB);
    const parent = summary.processes.find((p) => p.pid === python?.ppid);
    expect(parent?.name).toBe('sh');
    const job = summary.processes.find((p) => p.pid === parent?.ppid);
    expect(job?.argv.join(' ')).toMatch(/grandchild\.sh$/);
  });

  it('passes the job its stdio and exit status, and keeps its own words on stderr', async () => {
    const result = await runCli(['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], {
      cwd: scratch.dir,
    });
    expect(result.status).toBe(3);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toMatch(/^err\n/);
    const quiet = await runCli(['run', '--quiet', '--', 'sh', '-c', 'echo out'], { cwd: scratch.dir });
    expect(quiet.stderr).toBe('');
    expect(quiet.status).toBe(0);
  });

  it('exits 128+N when the job dies of signal N', async () => {
    const result = await runCli(['run', '--', 'sh', '-c', 'kill -TERM $$'], { cwd: scratch.dir });
    expect(result.status).toBe(143);
    const summary = await summaryOf(onlyCapture());
    expect(summary.signal).toBe('SIGTERM');
    expect(summary.oomKilled).toBe(false);
  });

  it('forwards SIGTERM to the job, whose handler runs', async () => {
    const marker = path.join(scratch.dir, 'marker');
    const child = startCli(['run', '--', 'node', path.join(jobsDir, 'sleep.mjs'), '30', marker], {
      cwd: scratch.dir,
    });
    const done = finish(child);
    // The job prints its pid once its handler is set: a SIGTERM before that would find none to run.
    const ready = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    await Promise.race([ready, sleep(30_000)]);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.stdout, 'the job printed its pid (its SIGTERM handler set) before the signal').toMatch(
      /^\d+\n/,
    );
    expect(fs.readFileSync(marker, 'utf8')).toBe('SIGTERM');
    expect(result.status).toBe(143);
  });

  it('after kill -9 of headroom: the capture reads up to its last flush and the sentinel stops the job', async () => {
    const child = startCli(['run', '--grace', '1', '--', 'node', path.join(jobsDir, 'sleep.mjs'), '60'], {
      cwd: scratch.dir,
    });
    let jobPid = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      jobPid ||= Number(chunk.toString().trim());
    });
    const done = finish(child);
    await sleep(2000);
    expect(jobPid).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await done;
    // SIGTERM at once; the job's handler exits, or SIGKILL after the 1 s grace.
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      await sleep(100);
      alive = spawnSync('kill', ['-0', String(jobPid)]).status === 0;
    }
    expect(alive).toBe(false);
    const summary = await summaryOf(onlyCapture());
    expect(summary.truncated).toBe(true);
    expect(summary.durationMs).toBeGreaterThan(1000);
    expect(summary.processes.map((p) => p.name)).toContain('node');
    const text = fs.readFileSync(onlyCapture(), 'utf8');
    expect(text).toMatch(/headroom was killed; its sentinel stopped the job/);
  });
});
