/**
 * Memory cgroups for a test, made only below this process's own, with programs started inside them; after
 * each test every program is killed (what a killed shell left behind too) and every cgroup removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach } from 'vitest';
import {
  type ChildLimits,
  createChildCgroup,
  locateMemoryCgroup,
  type MemoryCgroup,
  readCgroupPids,
  removeCgroup,
} from '../../src/kernel/index.js';

const located = locateMemoryCgroup('self');
/** This process's memory cgroup, when there is one. */
export const ownCgroup: MemoryCgroup | undefined = located.ok ? located.cgroup : undefined;
/** Whether tests may make cgroups here: root, and a hierarchy mounted writable. */
export const canMakeCgroups = ownCgroup !== undefined && !ownCgroup.readOnly && process.getuid?.() === 0;

/** Polls `probe` until it gives a value, failing with `what` at the deadline. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  seconds = 60,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${seconds} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface TestCgroups {
  /**
   * A cgroup `name` below `parent` (this process's own by default): with a memory limit and no swap, or
   * with the limits given.
   */
  make(name: string, limits?: number | ChildLimits, parent?: MemoryCgroup): MemoryCgroup;
  /** Starts `argv` inside `group`: it joins before exec, so all of its memory is charged there. */
  startIn(group: MemoryCgroup, argv: string[]): ChildProcess;
  /** Starts `argv` in this process's cgroup, for a test that moves it; it is killed after the test too. */
  start(argv: string[]): ChildProcess;
}

export function useTestCgroups(): TestCgroups {
  let made: string[] = [];
  let children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    children = [];
    for (const dir of made.reverse()) {
      const procs = path.join(dir, 'cgroup.procs');
      for (const pid of readCgroupPids(procs)) process.kill(pid, 'SIGKILL');
      await until('the test cgroup to empty', () => (readCgroupPids(procs).length === 0 ? true : undefined));
      if (!removeCgroup(dir)) throw new Error(`test cgroup ${dir} could not be removed`);
    }
    made = [];
  });
  return {
    make(name, limits, parent) {
      const below = parent ?? ownCgroup;
      if (!below) throw new Error('no memory cgroup to make test cgroups in');
      const result = createChildCgroup(
        below,
        name,
        typeof limits === 'number' ? { memory: limits, memorySwap: limits } : (limits ?? {}),
      );
      if (!result.ok) throw new Error(result.reason);
      made.push(result.cgroup.dir);
      return result.cgroup;
    },
    startIn(group, argv) {
      const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group.dir, ...argv], {
        stdio: 'ignore',
      });
      children.push(child);
      return child;
    },
    start([command, ...args]) {
      const child = spawn(command as string, args, { stdio: 'ignore' });
      children.push(child);
      return child;
    },
  };
}
