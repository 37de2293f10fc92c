import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliPath, finish, jobsDir, runCli, sleep, startCli, useScratchDir } from '../helpers/run-cli.js';

const session = `headroom-live-${process.pid}`;
const scratch = useScratchDir();
afterEach(() => {
  try {
    execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
  } catch {
    // already gone
  }
});

function screen(): string[] {
  return execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).split('\n');
}

describe('headroom live', () => {
  it("follows a running job's capture in tmux and leaves its last screen when the job ends", async () => {
    const capture = path.join(scratch.dir, 'job.hrc');
    const job = startCli(
      [
        'run',
        '--quiet',
        '--memory',
        '256m',
        '-o',
        capture,
        '--',
        'node',
        path.join(jobsDir, 'allocate.mjs'),
        '64',
        '16',
        '3000',
      ],
      { cwd: scratch.dir },
    );
    await sleep(500);
    execFileSync('tmux', [
      'new-session',
      '-d',
      '-s',
      session,
      // Wide: a process's row is its command line, cut at the screen's edge, and it starts with the
      // job's program as resolved, wherever the checkout and Node are.
      '-x',
      '250',
      '-y',
      '24',
      `${process.execPath} ${cliPath} live --interval 0.3 ${capture}; echo live-exit-$?; sleep 30`,
    ]);
    // Until the job's allocation shows: on a busy machine the first screens can come before it.
    let during: string[] = [];
    const shown = (rows: string[]): boolean =>
      /^usage +\d+(\.\d+)? MiB/.test(rows[1] ?? '') &&
      rows.some((row) => /MiB {2}\S*node .*allocate\.mjs/.test(row));
    for (const deadline = Date.now() + 15_000; !shown(during) && Date.now() < deadline; ) {
      await sleep(200);
      during = screen();
    }
    expect(during[0]).toMatch(/^headroom live {2}node .*allocate\.mjs 64 16 3000 {2}running /);
    expect(during[1]).toMatch(/^usage +\d+(\.\d+)? MiB of 256 MiB limit \(\d+%\) {2}\[#*\.*\]$/);
    expect(during.some((row) => /^ +\d+ +\d+(\.\d+)? MiB {2}\S*node .*allocate\.mjs/.test(row))).toBe(true);
    await finish(job);
    let after: string[] = [];
    for (let i = 0; i < 30 && !after.some((row) => row.startsWith('live-exit-')); i++) {
      await sleep(200);
      after = screen();
    }
    expect(after).toContain('live-exit-0');
    expect(after.some((row) => /^headroom live .* exited 0 /.test(row))).toBe(true);
  });

  it('prints one screen with --once, and says in one line when the file is not a capture', async () => {
    const capture = path.join(scratch.dir, 'done.hrc');
    await runCli(['run', '--quiet', '-o', capture, '--', 'sh', '-c', 'sleep 0.3'], { cwd: scratch.dir });
    const once = await runCli(['live', '--once', capture], { cwd: scratch.dir });
    expect(once.status).toBe(0);
    expect(once.stdout).toMatch(/^headroom live {2}sh -c sleep 0\.3 {2}exited 0 /);
    const missing = await runCli(['live', path.join(scratch.dir, 'nope.hrc')], { cwd: scratch.dir });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^headroom: .*nope\.hrc: cannot read: no such file \[E_CAPTURE_READ\]\n$/);
  });
});
