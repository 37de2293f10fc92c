import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from './errors.js';
import { fileIn } from './file-in.js';
import type { MemoryCgroup } from './locate.js';
import { readCgroupPids } from './process-memory.js';
import { describeErrno } from './read-file.js';

/** The limits a job's own cgroup gets: `--memory` and `--memory-swap`, declared once for every layer. */
export interface ChildLimits {
  /** Bytes; undefined leaves the limit as inherited. */
  memory?: number;
  /** Memory plus swap, as docker's --memory-swap; null for unlimited swap. */
  memorySwap?: number | null;
}

/**
 * docker's default, for the library and the CLI alike: with a memory limit and no word on swap, swap may
 * add as much again (memory plus swap is twice the memory).
 */
export function withSwapDefault(limits: ChildLimits): ChildLimits {
  const out: ChildLimits = {};
  if (limits.memory !== undefined) out.memory = limits.memory;
  if (limits.memorySwap !== undefined) out.memorySwap = limits.memorySwap;
  else if (limits.memory !== undefined) out.memorySwap = limits.memory * 2;
  return out;
}

export type CreateResult =
  | { ok: true; cgroup: MemoryCgroup }
  /** internalProcesses: v2 refused the memory controller because the parent holds processes. */
  | { ok: false; reason: string; internalProcesses?: boolean };

/**
 * Makes a child memory cgroup below `parent` and applies limits. Fails with a reason (never throws) when
 * the hierarchy is read-only, we lack permission, or v2 has not delegated the memory controller.
 */
export function createChildCgroup(parent: MemoryCgroup, name: string, limits: ChildLimits): CreateResult {
  if (parent.readOnly)
    return { ok: false, reason: `the cgroup hierarchy at ${parent.mountDir} is mounted read-only` };
  if (parent.version === 2) {
    const delegated = ensureV2MemoryDelegated(parent.dir);
    if (delegated !== true) return { ok: false, ...delegated };
  }
  const dir = path.join(parent.dir, name);
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    return { ok: false, reason: `cannot create ${dir}: ${describeErrno(error)}` };
  }
  const child: MemoryCgroup = { ...parent, dir, path: path.posix.join(parent.path, name), readOnly: false };
  const applied = applyLimits(child, limits);
  if (applied !== true) {
    removeCgroup(dir);
    return { ok: false, reason: applied };
  }
  return { ok: true, cgroup: child };
}

function ensureV2MemoryDelegated(dir: string): true | { reason: string; internalProcesses: boolean } {
  const control = fileIn(dir, 'cgroup.subtree_control');
  try {
    if (fs.readFileSync(control, 'latin1').split(/\s+/).includes('memory')) return true;
    fs.writeFileSync(control, '+memory');
    return true;
  } catch (error) {
    // "No internal processes": a non-root v2 cgroup that holds processes cannot enable controllers for
    // children, which is the usual state of a container's own cgroup.
    const internalProcesses = errnoCode(error) === 'EBUSY';
    const why = internalProcesses
      ? 'it holds processes (cgroup v2 "no internal processes" rule)'
      : describeErrno(error);
    return {
      reason: `cannot enable the memory controller for children of ${dir}: ${why}`,
      internalProcesses,
    };
  }
}

function applyLimits(cgroup: MemoryCgroup, limits: ChildLimits): true | string {
  const writes: Array<[string, string]> = [];
  if (cgroup.version === 1) {
    // v1 refuses a memory limit above memsw, so memory goes first while memsw is still unlimited.
    if (limits.memory !== undefined) writes.push(['memory.limit_in_bytes', String(limits.memory)]);
    if (limits.memorySwap !== undefined) {
      const memsw = fileIn(cgroup.dir, 'memory.memsw.limit_in_bytes');
      if (!fs.existsSync(memsw)) {
        if (limits.memorySwap !== null)
          return 'this kernel has no swap accounting (memory.memsw.*), so --memory-swap cannot be applied';
      } else
        writes.push([
          'memory.memsw.limit_in_bytes',
          limits.memorySwap === null ? '-1' : String(limits.memorySwap),
        ]);
    }
  } else {
    if (limits.memory !== undefined) writes.push(['memory.max', String(limits.memory)]);
    if (limits.memorySwap !== undefined) {
      const swap =
        limits.memorySwap === null || limits.memory === undefined
          ? 'max'
          : String(limits.memorySwap - limits.memory);
      writes.push(['memory.swap.max', swap]);
    }
  }
  for (const [name, value] of writes) {
    const file = fileIn(cgroup.dir, name);
    try {
      fs.writeFileSync(file, value);
    } catch (error) {
      return `cannot write ${value} to ${file}: ${describeErrno(error)}`;
    }
  }
  return true;
}

/** Writes a control value; errors name the file. */
export function writeCgroupFile(cgroup: Pick<MemoryCgroup, 'dir'>, name: string, value: string): void {
  const file = fileIn(cgroup.dir, name);
  try {
    fs.writeFileSync(file, value);
  } catch (error) {
    throw new Error(`cannot write ${value} to ${file}: ${describeErrno(error)}`);
  }
}

/**
 * Moves a process, every thread of it, into the cgroup at `dir` (this process by default); errors name
 * the file.
 */
export function joinCgroup(dir: string, pid: number = process.pid): void {
  writeCgroupFile({ dir }, 'cgroup.procs', String(pid));
}

/**
 * SIGKILL to every process in the cgroup at `dir` but `spare`, in a few rounds: a process may fork
 * between the listing and the kill.
 */
export function killCgroupProcesses(dir: string, spare?: number): void {
  for (let round = 0; round < 5; round++) {
    const pids = readCgroupPids(fileIn(dir, 'cgroup.procs')).filter((pid) => pid !== spare);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Which of `dirs` holds this process now and would take it back: its cgroup.procs lists this process and
 * is writable by it. Null when none does: a fixture tree lists other pids, a delegation left that file
 * to another user, or this process was moved elsewhere.
 */
export function cgroupHoldingSelf(dirs: readonly string[]): string | null {
  for (const dir of dirs) {
    const procs = fileIn(dir, 'cgroup.procs');
    try {
      if (!readCgroupPids(procs).includes(process.pid)) continue;
      fs.accessSync(procs, fs.constants.W_OK);
      return dir;
    } catch {
      // Not this one.
    }
  }
  return null;
}

/**
 * Removes an empty cgroup. rmdir fails with EBUSY while exiting tasks are still being reaped, so it
 * retries for a short while. Returns false when it could not.
 */
export function removeCgroup(dir: string, attempts = 50): boolean {
  for (let i = 0; i < attempts; i++) {
    try {
      fs.rmdirSync(dir);
      return true;
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  return false;
}
