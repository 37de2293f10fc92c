import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliPath, runCli, scratchDir, sleep } from '../helpers/run-cli.js';

const session = `headroom-test-${process.pid}`;
let scratch: { dir: string; cleanup: () => void };
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => {
  try {
    execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  scratch.cleanup();
});

function screen(): string[] {
  return execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).split('\n');
}

describe('the live status line', () => {
  it('stays on the bottom row of a terminal while the job prints above it, and is gone at the end', async () => {
    const job = 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo job-line-$i; sleep 0.25; done';
    const command = `HEADROOM_HOME=${scratch.dir} ${process.execPath} ${cliPath} run -- sh -c '${job}'; echo done-$?; sleep 30`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '30', command]);
    await sleep(2000);
    const during = screen();
    const rows = during.slice(0, 30);
    expect(rows[29]).toMatch(/^headroom \d+\.\d+s +\d/);
    const jobLines = rows.filter((row) => row.startsWith('job-line-'));
    expect(jobLines.length).toBeGreaterThan(3);
    // Every job line is whole: nothing of ours was written into it.
    for (const row of jobLines) expect(row).toMatch(/^job-line-\d+$/);

    for (let i = 0; i < 40 && !screen().some((row) => row.startsWith('done-')); i++) await sleep(250);
    const after = screen();
    expect(after).toContain('done-0');
    expect(after.some((row) => /^headroom \d+\.\d+s /.test(row))).toBe(false);
    expect(after.some((row) => row.startsWith('headroom: sh -c'))).toBe(true);
    expect(after).toContain('job-line-12');
  });

  it('is never written when stderr is not a terminal', async () => {
    const result = await runCli(['run', '--', 'sh', '-c', 'sleep 1.2'], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    expect(result.stderr).not.toContain('\x1b');
    expect(result.stderr).toMatch(/^headroom: sh -c 'sleep 1.2' exited 0/);
  });
});
