import fs from 'node:fs';
import { writeCgroupFile } from './child-cgroup.js';
import { LIMIT_FILE } from './effective-limit.js';
import { fileIn } from './file-in.js';
import type { MemoryCgroup } from './locate.js';
import { parseLimit } from './parse.js';
import { readKernelFile, readOptionalKernelFile } from './read-file.js';

type Cgroup = Pick<MemoryCgroup, 'version' | 'dir'>;

/**
 * v1 only: with the OOM killer off, a task that needs memory at the limit waits in the kernel
 * (memory.oom_control under_oom = 1) instead of being killed, until memory is freed, the limit rises, or
 * SIGKILL wakes it.
 */
export function setOomKillerEnabled(cgroup: Cgroup, enabled: boolean): void {
  if (cgroup.version !== 1) throw new Error('memory.oom_control exists on cgroup v1 only');
  writeCgroupFile(cgroup, 'memory.oom_control', enabled ? '0' : '1');
}

/** The cgroup's own memory limit (not its ancestors'), bytes; null when none. */
export function readOwnLimit(cgroup: Cgroup): number | null {
  const file = fileIn(cgroup.dir, LIMIT_FILE[cgroup.version]);
  return parseLimit(readKernelFile(file), file);
}

/**
 * Moves the cgroup's memory limit. On v1 the memory+swap limit must never be below the memory limit, so
 * when raising, memsw moves first by the same amount, and when lowering, it moves last. Lowering below
 * usage makes the kernel reclaim down to it, or fail with EBUSY when it cannot.
 */
export function setMemoryLimit(cgroup: Cgroup, bytes: number): void {
  if (cgroup.version === 2) {
    writeCgroupFile(cgroup, 'memory.max', String(bytes));
    return;
  }
  const current = readOwnLimit(cgroup);
  const memswFile = fileIn(cgroup.dir, 'memory.memsw.limit_in_bytes');
  const memswText = readOptionalKernelFile(memswFile);
  const memsw = memswText === undefined ? null : parseLimit(memswText, memswFile);
  const newMemsw = memsw === null || current === null ? null : memsw + (bytes - current);
  if (newMemsw !== null && bytes > (current ?? 0))
    writeCgroupFile(cgroup, 'memory.memsw.limit_in_bytes', String(newMemsw));
  writeCgroupFile(cgroup, 'memory.limit_in_bytes', String(bytes));
  if (newMemsw !== null && bytes <= (current ?? 0))
    writeCgroupFile(cgroup, 'memory.memsw.limit_in_bytes', String(newMemsw));
}

/** v2 only: where the kernel starts throttling and reclaiming hard; null removes it ("max"). */
export function setMemoryHigh(cgroup: Cgroup, bytes: number | null): void {
  if (cgroup.version !== 2) throw new Error('memory.high exists on cgroup v2 only');
  writeCgroupFile(cgroup, 'memory.high', bytes === null ? 'max' : String(bytes));
}

/** v2 memory.high as set on this cgroup, null for "max". */
export function readOwnHigh(cgroup: Cgroup): number | null {
  const file = fileIn(cgroup.dir, 'memory.high');
  return parseLimit(readKernelFile(file), file);
}

/**
 * Asks the kernel to reclaim about `bytes` from the cgroup now: v2 memory.reclaim (Linux 5.19+). False
 * when the kernel could not (it reclaims what it can and reports EAGAIN for the rest) or lacks the file.
 */
export function reclaimMemory(cgroup: Cgroup, bytes: number): boolean {
  if (cgroup.version !== 2) throw new Error('memory.reclaim exists on cgroup v2 only');
  try {
    fs.writeFileSync(fileIn(cgroup.dir, 'memory.reclaim'), String(Math.max(0, Math.floor(bytes))));
    return true;
  } catch {
    return false;
  }
}
