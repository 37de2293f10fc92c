import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

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

/** The job's exit status is the one thing headroom must never change; each job ends with a status of its own. */
describe("headroom's own faults leave the job's outcome alone", () => {
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
});
