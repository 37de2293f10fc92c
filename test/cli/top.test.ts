import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CgroupRow } from '../../src/serve/cgroup-table.js';
import { type FixtureHost, MiB, meminfo, v2Tree, vmstat } from '../fixtures/cgroup-tree.js';
import {
  cliPath,
  expectOneLineError,
  finish,
  jobsDir,
  leftoverCgroups,
  runCli,
  scratchDir,
  sleep,
  startCli,
} from '../helpers/run-cli.js';

const session = `headroom-top-${process.pid}`;
let scratch: { dir: string; cleanup: () => void };
let fixture: FixtureHost | undefined;
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(async () => {
  try {
    execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  fixture?.cleanup();
  fixture = undefined;
  scratch.cleanup();
  expect(await leftoverCgroups()).toEqual([]);
});

function screen(): string[] {
  return execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).split('\n');
}

async function waitFor(test: (rows: string[]) => boolean): Promise<string[]> {
  for (let i = 0; i < 40; i++) {
    const rows = screen();
    if (test(rows)) return rows;
    await sleep(150);
  }
  return screen();
}

describe('headroom top', () => {
  it('shows a running job by component in tmux, sorts on s, quits on q and leaves the terminal as it was', async () => {
    const job = startCli(
      [
        'run',
        '--quiet',
        '--component',
        'nightly_etl',
        '--memory',
        '128m',
        '--',
        'node',
        path.join(jobsDir, 'allocate.mjs'),
        '32',
        '16',
        '8000',
      ],
      { cwd: scratch.dir },
    );
    const command = `echo before-top; ${process.execPath} ${cliPath} top --interval 0.3 --filter headroom-; echo after-top-$?; sleep 30`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '140', '-y', '20', command]);
    const during = await waitFor((rows) => rows.some((row) => row.includes('headroom nightly_etl')));
    expect(during[0]).toMatch(/^headroom top {2}\d+ cgroups below \/ {2}sort: usage \[s\]/);
    expect(during[1]).toMatch(/^NAME +LIMIT +USAGE +WSET +ANON/);
    expect(during.find((row) => row.includes('headroom nightly_etl'))).toMatch(/128MiB/);
    // Alternate screen: what was on the terminal before is not shown while top runs.
    expect(during).not.toContain('before-top');
    execFileSync('tmux', ['send-keys', '-t', session, 's']);
    const sorted = await waitFor((rows) => /sort: wset/.test(rows[0] ?? ''));
    expect(sorted[0]).toMatch(/sort: wset/);
    execFileSync('tmux', ['send-keys', '-t', session, 'q']);
    const after = await waitFor((rows) => rows.includes('after-top-0'));
    expect(after[0]).toBe('before-top');
    expect(after[1]).toBe('after-top-0');
    job.kill('SIGTERM');
    await finish(job);
  });

  it('--once --json gives the rows; hostile cgroup names stay data in JSON and are made harmless on a terminal', async () => {
    fixture = v2Tree(
      {
        '/a "quoted" name': { 'memory.current': 1 * MiB, 'memory.max': 64 * MiB },
        '/new\nline\x1b[31m<script>': { 'memory.current': 2 * MiB },
      },
      { self: '/' },
    );
    const env = { HEADROOM_SYSROOT: fixture.root };
    const json = await runCli(['top', '--once', '--json', '--flat'], { cwd: scratch.dir, env });
    expect(json.status).toBe(0);
    const rows = JSON.parse(json.stdout) as CgroupRow[];
    expect(rows.map((row) => row.path)).toEqual(
      expect.arrayContaining(['/a "quoted" name', '/new\nline\x1b[31m<script>']),
    );
    expect(rows.find((row) => row.path === '/a "quoted" name')).toMatchObject({
      limit: 64 * MiB,
      usage: 1 * MiB,
    });
    const text = await runCli(['top', '--once', '--flat'], { cwd: scratch.dir, env });
    expect(text.stdout).not.toContain('\x1b');
    expect(text.stdout.split('\n').some((line) => line.startsWith('/new'))).toBe(true);
    expect(text.stdout.split('\n').some((line) => line.startsWith('line'))).toBe(false);
  });

  it("shows the v2 root as a row of its own, with the machine's figures from /proc", async () => {
    fixture = v2Tree({ '/app': { 'memory.current': 3 * MiB } }, { self: '/' });
    fixture.write('/proc/meminfo', meminfo({ MemTotal: 8_388_608, MemFree: 2_097_152 }));
    fixture.write('/proc/vmstat', vmstat({ oom_kill: 4 }));
    const env = { HEADROOM_SYSROOT: fixture.root };
    const json = await runCli(['top', '--once', '--json', '--flat'], { cwd: scratch.dir, env });
    expect(json.status).toBe(0);
    const rows = JSON.parse(json.stdout) as CgroupRow[];
    expect(rows.find((row) => row.path === '/')).toMatchObject({
      usage: 6 * 1024 * MiB,
      limit: null,
      oomKills: 4,
    });
    expect(rows.find((row) => row.path === '/app')).toMatchObject({ usage: 3 * MiB });
  });

  it('says in one line why there are no cgroups to show: the message, not a reason code', async () => {
    fixture = v2Tree({ '/c1': { 'cgroup.procs': '1\n' } }, { self: '/c1' });
    const result = await runCli(['top', '--once'], {
      cwd: scratch.dir,
      env: { HEADROOM_SYSROOT: fixture.root },
    });
    expect(result.status).toBe(1);
    expectOneLineError(
      result.stderr,
      /^headroom: no memory cgroups to show: cannot find the memory cgroup of headroom \(pid \d+\): .*c1\/cgroup.procs .* does not list pid/,
    );
  });

  it('refuses an unknown sort key with one line', async () => {
    const result = await runCli(['top', '--sort', 'size'], { cwd: scratch.dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'headroom: --sort: unknown key "size" (one of: usage, wset, anon, share, left, name) [E_USAGE]\n',
    );
  });
});
