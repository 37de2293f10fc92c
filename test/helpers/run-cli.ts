import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect } from 'vitest';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = path.join(repoRoot, 'bin/headroom.cjs');
export const jobsDir = path.join(repoRoot, 'test/fixtures/jobs');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A scratch directory that also serves as HEADROOM_HOME, removed by the returned cleanup. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-test-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Spawns the built CLI as a user would, with its own HEADROOM_HOME. */
export function startCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args], {
    cwd: options.cwd,
    env: { ...process.env, HEADROOM_HOME: path.join(options.cwd, 'captures'), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function finish(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

export function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  return finish(startCli(args, options));
}

export function capturesIn(dir: string): string[] {
  const home = path.join(dir, 'captures');
  if (!fs.existsSync(home)) return [];
  return fs.readdirSync(home).map((name) => path.join(home, name));
}

/**
 * Child cgroups headroom made below the test process's memory cgroup that outlived the headroom that
 * made them (test files run in parallel, so a live run's cgroup is not a leftover).
 */
/**
 * Cgroups headroom made below ours whose headroom is gone. Other test files run beside this one, and a
 * test that kills headroom on purpose leaves its cgroup to the sentinel for a moment: a cgroup is only a
 * leftover if it is still there after a short wait.
 */
export async function leftoverCgroups(): Promise<string[]> {
  let found = orphanCgroups();
  for (let waited = 0; found.length > 0 && waited < 3000; waited += 100) {
    await sleep(100);
    found = orphanCgroups().filter((name) => found.includes(name));
  }
  return found;
}

function orphanCgroups(): string[] {
  const line = fs
    .readFileSync('/proc/self/cgroup', 'latin1')
    .split('\n')
    .find((l) => /^\d+:[^:]*\bmemory\b[^:]*:/.test(l));
  if (!line) return [];
  const dir = path.join('/sys/fs/cgroup/memory', line.slice(line.lastIndexOf(':') + 1));
  return fs.readdirSync(dir).filter((name) => {
    const owner = /^headroom-(\d+)-/.exec(name)?.[1];
    return owner !== undefined && !fs.existsSync(`/proc/${owner}`);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const MiB = 1024 * 1024;

/**
 * A fresh scratch directory for each test of the calling file, removed after it, with a check that no
 * test left a cgroup behind. Use `scratch.dir` inside tests.
 */
export function useScratchDir(): { readonly dir: string } {
  let current: { dir: string; cleanup: () => void } | undefined;
  beforeEach(() => {
    current = scratchDir();
  });
  afterEach(async () => {
    current?.cleanup();
    current = undefined;
    expect(await leftoverCgroups()).toEqual([]);
  });
  return {
    get dir() {
      if (!current) throw new Error('useScratchDir: no test is running');
      return current.dir;
    },
  };
}

/** headroom's answer to bad input: one line in its own voice, never a stack trace. */
export function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^headroom: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}
