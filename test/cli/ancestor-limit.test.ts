import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Summary } from '../../src/analyze/summarize.js';
import { capturesIn, cliPath, finish, jobsDir, MiB, runCli, scratchDir } from '../helpers/run-cli.js';

/** The memory cgroup directory of this test process (cgroup v1 on this machine). */
function ownMemoryCgroup(): string {
  const line = fs
    .readFileSync('/proc/self/cgroup', 'latin1')
    .split('\n')
    .find((l) => /^\d+:[^:]*\bmemory\b[^:]*:/.test(l));
  if (!line) throw new Error('no memory cgroup');
  return path.join('/sys/fs/cgroup/memory', line.slice(line.lastIndexOf(':') + 1));
}

let scratch: { dir: string; cleanup: () => void };
let parent: string | undefined;
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => {
  if (parent) {
    for (const dir of [path.join(parent, 'job'), parent]) {
      for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'latin1').split('\n').filter(Boolean))
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {}
    }
    const deadline = Date.now() + 10_000;
    for (const dir of [path.join(parent, 'job'), parent]) {
      while (fs.existsSync(dir)) {
        try {
          fs.rmdirSync(dir);
        } catch (error) {
          if (Date.now() > deadline) throw error;
        }
      }
    }
    parent = undefined;
  }
  scratch.cleanup();
});

describe('a limit set on a parent cgroup', () => {
  it('counts its hits and names it as the limit that killed the job (observe mode)', async () => {
    parent = path.join(ownMemoryCgroup(), `test-parent-limit-${process.pid}`);
    fs.mkdirSync(parent);
    fs.writeFileSync(path.join(parent, 'memory.limit_in_bytes'), String(160 * MiB));
    const job = path.join(parent, 'job');
    fs.mkdirSync(job);
    // headroom and its job live in "job", which sets no limit of its own: its parent's 160 MiB applies.
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'echo $$ > "$0/cgroup.procs" && exec "$@"',
        job,
        process.execPath,
        cliPath,
        'run',
        '--observe',
        '--no-guard',
        '--',
        'python3',
        path.join(jobsDir, 'grow.py'),
        '16',
        '0.02',
        '40',
      ],
      {
        cwd: scratch.dir,
        env: { ...process.env, HEADROOM_HOME: path.join(scratch.dir, 'captures') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const result = await finish(child);
    expect(result.status).toBe(137);
    const [capture] = capturesIn(scratch.dir);
    const summary = JSON.parse(
      (await runCli(['summary', '--json', capture!], { cwd: scratch.dir })).stdout,
    ) as Summary;
    expect(summary.oomKilled).toBe(true);
    expect(summary.limit.bytes).toBe(160 * MiB);
    expect(summary.limit.source).toMatch(
      /memory\.limit_in_bytes of .*test-parent-limit-\d+ \(parent, cgroup v1\)/,
    );
    expect(summary.limitHits).toBeGreaterThan(0);
    const oom = summary.findings.find((f) => f.kind === 'oom-kill');
    expect(oom?.message).toMatch(/set by memory\.limit_in_bytes of .*test-parent-limit-\d+ \(parent/);
    expect(oom?.message).not.toMatch(/own limit/);
  });
});
