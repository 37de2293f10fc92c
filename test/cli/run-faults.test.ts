import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/record/capture-reader.js';
import { v2Tree } from '../fixtures/cgroup-tree.js';
import { finish, MiB, runCli, startCli, useScratchDir } from '../helpers/run-cli.js';
import { until } from '../helpers/test-cgroups.js';

const scratch = useScratchDir();

/** The job's exit status is the one thing headroom must never change; each job ends with a status of its own. */
describe("headroom's own faults leave the job's outcome alone: a full disk", () => {
  /** A one-page tmpfs: the smallest disk there is, which a capture fills within seconds. */
  let tiny: string;
  beforeEach(() => {
    tiny = path.join(scratch.dir, 'tiny');
    fs.mkdirSync(tiny);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', tiny]);
  });
  afterEach(() => {
    execFileSync('umount', [tiny]);
  });

  it('a disk full from the start: the job runs unrecorded and its status passes through', async () => {
    fs.writeFileSync(path.join(tiny, 'fill'), Buffer.alloc(2500));
    const capture = path.join(tiny, 'job.hrc');
    const result = await runCli(
      ['run', '-o', capture, '--report', 'r.html', '--', 'sh', '-c', 'echo job done; exit 3'],
      {
        cwd: scratch.dir,
      },
    );
    expect(result.stdout).toBe('job done\n');
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(
      /warning: cannot write the capture .*job\.hrc \(no space left on the device\); the job runs unrecorded/,
    );
    expect(result.stderr).toMatch(
      /warning: no summary: nothing could be recorded \(no space left on the device\)/,
    );
    expect(result.stderr).toMatch(/warning: no report/);
    expect(result.stderr).not.toMatch(/unexpected error|at .*\.js:\d+/);
    // An empty file would only be taken for a capture later.
    expect(fs.existsSync(capture)).toBe(false);
  });

  it('a disk that fills during the run: the job runs on, and what was recorded is summarized', async () => {
    const capture = path.join(tiny, 'job.hrc');
    // The job ends once its capture has filled the disk (or after a minute), then exits 4.
    const job = `for i in $(seq 600); do [ "$(stat -c %s "${capture}")" -ge 4096 ] && break; sleep 0.1; done; exit 4`;
    const result = await runCli(['run', '-q', '-o', capture, '--', 'sh', '-c', job], { cwd: scratch.dir });
    expect(result.status).toBe(4);
    expect(result.stderr).toMatch(
      /warning: the capture stopped being written \(no space left on the device\); the job runs on/,
    );
    expect(result.stderr).toMatch(/warning: the capture is incomplete \(no space left on the device\)/);
    const summary = await runCli(['summary', '--json', capture], { cwd: scratch.dir });
    expect(summary.status).toBe(0);
    expect(JSON.parse(summary.stdout)).toMatchObject({ truncated: true });
  }, 90_000);
});

describe("headroom's own faults leave the job's outcome alone: the capture, headroom's process, its output", () => {
  it('a capture deleted while the job runs: the summary and the report come from what headroom held open', async () => {
    const capture = path.join(scratch.dir, 'job.hrc');
    const report = path.join(scratch.dir, 'r.html');
    const job = `rm -f "${capture}"; sh -c 'exit 0'; exit 5`;
    const result = await runCli(['run', '-o', capture, '--report', report, '--', 'sh', '-c', job], {
      cwd: scratch.dir,
    });
    expect(result.status).toBe(5);
    expect(result.stderr).toMatch(/warning: the capture .*job\.hrc was deleted while the job ran/);
    expect(result.stderr).toMatch(/exited 5/);
    expect(result.stderr).toMatch(/verdict: /);
    expect(fs.existsSync(capture)).toBe(false);
    expect(fs.readFileSync(report, 'utf8')).toMatch(/<html/);
  });

  it('a capture replaced by another file while the job runs: that file is left alone', async () => {
    const capture = path.join(scratch.dir, 'job.hrc');
    const job = `rm -f "${capture}"; echo not ours > "${capture}"; exit 6`;
    const result = await runCli(['run', '-o', capture, '--', 'sh', '-c', job], { cwd: scratch.dir });
    expect(result.status).toBe(6);
    expect(result.stderr).toMatch(
      /warning: the capture .*job\.hrc was replaced by another file \(left as it is\)/,
    );
    expect(result.stderr).toMatch(/verdict: /);
    expect(fs.readFileSync(capture, 'utf8')).toBe('not ours\n');
  });

  it("the capture's directory removed while the job runs: the report is still written elsewhere", async () => {
    const dir = path.join(scratch.dir, 'captures');
    fs.mkdirSync(dir);
    const capture = path.join(dir, 'job.hrc');
    const report = path.join(scratch.dir, 'r.html');
    const result = await runCli(
      ['run', '-o', capture, '--report', report, '--', 'sh', '-c', `rm -rf "${dir}"; exit 7`],
      { cwd: scratch.dir },
    );
    expect(result.status).toBe(7);
    expect(result.stderr).toMatch(/warning: the capture .*job\.hrc was removed with its directory/);
    expect(result.stderr).toMatch(/verdict: /);
    expect(fs.readFileSync(report, 'utf8')).toMatch(/<html/);
  });

  it('headroom stopped (SIGSTOP) for seconds while the job ends: the status passes, the gap is told', async () => {
    const capture = path.join(scratch.dir, 'job.hrc');
    const done = path.join(scratch.dir, 'done');
    const child = startCli(['run', '-o', capture, '--', 'sh', '-c', `sleep 1; touch "${done}"; exit 8`], {
      cwd: scratch.dir,
    });
    const result = finish(child);
    await until('the capture to hold the job', () =>
      fs.existsSync(capture) && fs.readFileSync(capture, 'utf8').includes('"P"') ? true : undefined,
    );
    process.kill(child.pid ?? 0, 'SIGSTOP');
    // Stopped for at least three seconds, and until the job has ended meanwhile.
    const stoppedAt = Date.now();
    await until('the job to end while headroom is stopped', () =>
      fs.existsSync(done) && Date.now() - stoppedAt >= 3000 ? true : undefined,
    );
    process.kill(child.pid ?? 0, 'SIGCONT');
    const { status, stderr } = await result;
    expect(status).toBe(8);
    expect(stderr).toMatch(/warning: no samples for \d+\.\d s: headroom itself was stopped or had no CPU/);
    const summary = JSON.parse((await runCli(['summary', '--json', capture], { cwd: scratch.dir })).stdout);
    expect(summary.status).toBe(8);
    expect(summary.warnings.join(' ')).toMatch(/no samples for/);
  }, 60_000);

  it("headroom's stderr or stdout closed by the reader: the status passes, the capture is whole", async () => {
    for (const [stream, status] of [
      ['stderr', 9],
      ['stdout', 10],
    ] as const) {
      const capture = path.join(scratch.dir, `${stream}.hrc`);
      const child = startCli(['run', '-o', capture, '--', 'sh', '-c', `sleep 0.3; exit ${status}`], {
        cwd: scratch.dir,
      });
      // The reader goes away before headroom writes a word: every write of its own meets a broken pipe.
      child[stream]?.destroy();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      expect(await exited, stream).toBe(status);
      const summary = await runCli(['summary', '--json', capture], { cwd: scratch.dir });
      expect(JSON.parse(summary.stdout).status, stream).toBe(status);
    }
  });

  it('the cgroup turned unreadable for a while (a v2 fixture): sampling says so once and picks up again', async () => {
    const fixture = v2Tree({ '/job': { 'memory.max': String(256 * MiB) } }, { self: '/job', readOnly: true });
    const stat = path.join(fixture.cgroupDir('/job'), 'memory.stat');
    const capture = path.join(scratch.dir, 'job.hrc');
    const job = [
      'sleep 0.5',
      `cp "${stat}" "${stat}.saved"`,
      // Rewritten in place: headroom's descriptor, kept open, reads this.
      `printf 'anon\n' > "${stat}"`,
      'sleep 1',
      `cat "${stat}.saved" > "${stat}"`,
      'sleep 1',
      'exit 11',
    ].join('; ');
    const result = await runCli(['run', '--observe', '-o', capture, '--', 'sh', '-c', job], {
      cwd: scratch.dir,
      env: { HEADROOM_SYSROOT: fixture.root },
    });
    expect(result.status).toBe(11);
    const failures = result.stderr.split('\n').filter((line) => line.includes('sampling failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/memory\.stat/);
    const summary = JSON.parse((await runCli(['summary', '--json', capture], { cwd: scratch.dir })).stdout);
    expect(summary.status).toBe(11);
    // Samples from before the fault and from after it (the job's last second).
    const read = readCapture(capture);
    const times = Array.from(read.series.timeMs.slice(0, read.series.length));
    expect(times.some((t) => t < 500)).toBe(true);
    expect(times.some((t) => t > 1800)).toBe(true);
  }, 60_000);
});
