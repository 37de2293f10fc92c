import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding, FindingKind } from '../../src/analyze/finding.js';
import type { Summary } from '../../src/analyze/summarize.js';
import { jobsDir, MiB, runCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

/** Runs a job under headroom with a capture in the scratch dir; returns its exit status and summary. */
async function runJob(
  flags: string[],
  command: string[],
): Promise<{ status: number | null; summary: Summary }> {
  const capture = path.join(scratch.dir, 'job.hrc');
  const result = await runCli(['run', '--quiet', '-o', capture, ...flags, '--', ...command], {
    cwd: scratch.dir,
  });
  const summary = await runCli(['summary', '--json', capture], { cwd: scratch.dir });
  expect(summary.status).toBe(0);
  return { status: result.status, summary: JSON.parse(summary.stdout) as Summary };
}

function find(summary: Summary, kind: FindingKind): Finding {
  const finding = summary.findings.find((f) => f.kind === kind);
  if (!finding) throw new Error(`no ${kind} finding in ${summary.findings.map((f) => f.kind).join(', ')}`);
  return finding;
}

/** Warnings and worse: what a healthy job must not get. */
function alarms(summary: Summary): string[] {
  return summary.findings.filter((f) => f.severity !== 'info').map((f) => `${f.kind}: ${f.message}`);
}

function figure(finding: Finding, name: string): number {
  const value = finding.figures[name];
  if (typeof value !== 'number') throw new Error(`${finding.kind} has no figure ${name}`);
  return value;
}

describe('findings from real jobs in real cgroups (v1)', () => {
  it('dirty page cache from writing out.json: names the file, says the job itself was small', async () => {
    // Whether dirty cache piles up is the disk's doing: a disk that keeps up with the writer leaves
    // little of it, and the run is then rightly called clean. Such a run is not this workload, so it is
    // run again (at most three times) until dirty cache reached a quarter of the limit.
    const dirtyEnough = 64 * MiB;
    const dirtySeen: number[] = [];
    let run: { status: number | null; summary: Summary } | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      run = await runJob(
        ['--memory', '256m'],
        ['node', path.join(jobsDir, 'write-out.mjs'), scratch.dir, '512', '2500'],
      );
      const dirty = run.summary.findings.find((f) => f.kind === 'page-cache')?.figures.dirtyPeakBytes;
      dirtySeen.push(typeof dirty === 'number' ? dirty : 0);
      if (typeof dirty === 'number' && dirty >= dirtyEnough) break;
    }
    if (!run) throw new Error('no run');
    const { status, summary } = run;
    expect(status).toBe(0);
    expect(
      Math.max(...dirtySeen),
      `dirty cache peaks over ${dirtySeen.length} runs: ${dirtySeen.map((b) => Math.round(b / MiB)).join(', ')} MiB`,
    ).toBeGreaterThanOrEqual(dirtyEnough);
    const cache = find(summary, 'page-cache');
    expect(cache.severity).toBe('warning');
    expect(figure(cache, 'fileBytes')).toBeGreaterThan(150 * MiB);
    expect(figure(cache, 'anonBytes')).toBeLessThan(48 * MiB);
    expect(cache.message).toMatch(/256 MiB limit/);
    expect(cache.message).toContain(path.join(scratch.dir, 'out.json'));
    expect(cache.files?.[0]?.path).toBe(path.join(scratch.dir, 'out.json'));
    expect(cache.files?.[0]?.sizeBytes).toBe(512 * MiB);
    expect(cache.advice.join(' ')).toMatch(/fsync|fdatasync/);
    // Writing twice the limit makes the kernel reclaim at the limit, over and over.
    const pressure = find(summary, 'limit-pressure');
    expect(figure(pressure, 'limitHits')).toBeGreaterThan(0);
    expect(pressure.message).toMatch(/memory\.failcnt/);
  }, 180_000);

  it('reading a big file fills clean page cache: explained, no warning', async () => {
    const file = path.join(scratch.dir, 'input.bin');
    // O_DIRECT keeps the file out of the test's own page cache, so the job's reads are what caches it.
    const made = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=400', 'oflag=direct'], {
      stdio: 'ignore',
    });
    expect(made.status).toBe(0);
    const { status, summary } = await runJob(
      ['--memory', '256m'],
      ['node', path.join(jobsDir, 'read-file.mjs'), file, '2500'],
    );
    expect(status).toBe(0);
    expect(alarms(summary)).toEqual([]);
    const cache = find(summary, 'page-cache');
    expect(cache.severity).toBe('info');
    expect(cache.message).toMatch(/not a leak/);
    expect(figure(cache, 'fileBytes')).toBeGreaterThan(150 * MiB);
    expect(cache.files?.[0]?.path).toBe(file);
    const size = find(summary, 'right-size');
    // The clean cache is reclaimable: the job itself needs far less than the limit.
    expect(figure(size, 'recommendedLimitBytes')).toBeLessThan(256 * MiB);
    expect(size.snippets?.docker).toMatch(/^docker run --memory=\d+m /);
    expect(size.snippets?.kubernetes).toMatch(/limits:\n {4}memory: \d+Mi/);
  });

  it('a sawtooth that returns to its base is not growth, and raises no alarm', async () => {
    const { status, summary } = await runJob(
      ['--memory', '512m'],
      ['python3', path.join(jobsDir, 'sawtooth.py'), '120', '22'],
    );
    expect(status).toBe(0);
    expect(summary.processes[0]?.peakRssBytes).toBeGreaterThan(110 * MiB);
    expect(summary.findings.map((f) => f.kind)).not.toContain('anon-growth');
    expect(alarms(summary)).toEqual([]);
  });

  it('steady anonymous growth: its rate, its fit and when it reaches the limit', async () => {
    const { status, summary } = await runJob(
      ['--memory', '1g'],
      ['python3', path.join(jobsDir, 'grow.py'), '8', '0.1', '70'],
    );
    expect(status).toBe(0);
    const growth = find(summary, 'anon-growth');
    expect(growth.severity).toBe('warning');
    // 8 MiB per 0.1 s plus the allocation itself: about 4.5 GiB/min on this machine, noisy.
    const perMinute = figure(growth, 'bytesPerMinute');
    expect(perMinute).toBeGreaterThan(2000 * MiB);
    expect(perMinute).toBeLessThan(5200 * MiB);
    expect(figure(growth, 'r2')).toBeGreaterThan(0.9);
    expect(figure(growth, 'riseBytes')).toBeGreaterThan(400 * MiB);
    // About 450 MiB left at 4.5 GiB/min: some seconds, not hours.
    expect(figure(growth, 'timeToLimitMs')).toBeLessThan(30_000);
    expect(growth.message).toMatch(/python3 \(\d+\)/);
  });

  it('an OOM kill: the victim, the usage at the limit and who held the most', async () => {
    const { status, summary } = await runJob(
      ['--memory', '256m', '--memory-swap', '256m'],
      ['node', path.join(jobsDir, 'allocate.mjs'), '1024', '16'],
    );
    expect(status).toBe(137);
    const kill = find(summary, 'oom-kill');
    expect(kill.severity).toBe('critical');
    expect(summary.findings[0]?.kind).toBe('oom-kill');
    expect(figure(kill, 'atLimit')).toBe(1);
    expect(figure(kill, 'usageBytes')).toBeGreaterThan(230 * MiB);
    // From the last sample before the kill, up to 100 ms before it: the allocator is fast.
    expect(figure(kill, 'anonBytes')).toBeGreaterThan(96 * MiB);
    expect(kill.message).toMatch(/killed node \(\d+\)/);
    expect(kill.evidence.pids).toEqual([summary.oomKills[0]?.pid]);
    // On a host without swap there is nothing to decide about it: no finding to read past.
    expect(summary.findings.map((f) => f.kind)).not.toContain('swap');
    expect(summary.verdict.kind).toBe('anon-growth');
    expect(summary.verdict.cause).toMatch(/node \(\d+\)/);
    const size = find(summary, 'right-size');
    expect(figure(size, 'recommendedLimitBytes')).toBe(384 * MiB);
  });

  it('six forked workers over the limit: a worker is the victim and the largest holder is named', async () => {
    const { summary } = await runJob(
      ['--memory', '400m'],
      ['python3', path.join(jobsDir, 'fork-workers.py'), '6', '80', '3'],
    );
    // The parent does not look at how its workers ended, as many pools do not: only the cgroup knows.
    const kill = find(summary, 'oom-kill');
    // A worker among the victims. Twice in CI a "bash" that had left the cgroup in the seconds before was
    // named beside it (victims are the processes that vanish as the counter rises); not yet explained.
    expect(kill.message).toMatch(/killed (?:[^,]+ \(\d+\), )*python3? \(\d+\)/);
    const holder = figure(kill, 'largestAnonPid');
    const parent = summary.processes.find(
      (p) => p.ppid !== holder && summary.processes.some((c) => c.ppid === p.pid),
    );
    expect(parent).toBeDefined();
    expect(holder).not.toBe(parent?.pid);
    const python = summary.findings.find((f) => f.kind === 'runtime-heap' && /Python/.test(f.message));
    expect(python?.severity).toBe('warning');
    expect(python?.message).toMatch(/cannot see the 400 MiB limit/);
  });

  it('/dev/shm: shmem that outlives its writer, and where it lives', async () => {
    const shm = `/dev/shm/headroom-findings-${process.pid}`;
    try {
      const { status, summary } = await runJob(
        ['--memory', '512m'],
        ['sh', '-c', `dd if=/dev/zero of=${shm} bs=1M count=300 2>/dev/null; sleep 2.5`],
      );
      expect(status).toBe(0);
      const shmem = find(summary, 'shmem');
      expect(shmem.severity).toBe('warning');
      expect(figure(shmem, 'shmemPeakBytes')).toBeGreaterThan(290 * MiB);
      // The writer exited; the file still holds its memory.
      expect(figure(shmem, 'shmemAtEndBytes')).toBeGreaterThan(290 * MiB);
      expect(shmem.message).toMatch(/\/dev\/shm held/);
      expect(shmem.message).toMatch(/killing the writer does not free it/);
    } finally {
      fs.rmSync(shm, { force: true });
    }
  });

  it('a Node heap limit above a small cgroup limit', async () => {
    const { status, summary } = await runJob(
      ['--memory', '128m'],
      ['node', '--max-old-space-size=1024', '-e', 'setTimeout(() => {}, 1500)'],
    );
    expect(status).toBe(0);
    const heap = find(summary, 'runtime-heap');
    // A run that never pressed its limit is healthy and carries no warning; the risk is told as info.
    expect(summary.verdict.kind).toBe('healthy');
    expect(heap.severity).toBe('info');
    expect(figure(heap, 'heapLimitBytes')).toBe(1024 * MiB);
    expect(figure(heap, 'suggestedMaxOldSpaceMiB')).toBe(96);
    expect(heap.advice[0]).toMatch(/--max-old-space-size=96/);
  });

  it('several Node processes each sized to the whole limit', async () => {
    const { status, summary } = await runJob(
      ['--memory', '512m'],
      ['node', path.join(jobsDir, 'node-workers.mjs'), '3', '2000'],
    );
    expect(status).toBe(0);
    const heap = find(summary, 'runtime-heap');
    expect(figure(heap, 'processes')).toBe(4);
    expect(figure(heap, 'totalHeapBytes')).toBeGreaterThan(512 * MiB);
    expect(heap.message).toMatch(/4 Node processes ran at once/);
  });
});
