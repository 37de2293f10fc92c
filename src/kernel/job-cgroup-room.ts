import fs from 'node:fs';
import path from 'node:path';
import { fileIn } from './file-in.js';
import { isRootCgroup, type MemoryCgroup } from './locate.js';
import { readCgroupPids } from './process-memory.js';
import { readOptionalKernelFile } from './read-file.js';
import { LEAF_NAME } from './v2-leaf.js';

/**
 * Whether `headroom run` can give a job a memory cgroup of its own below `cgroup`, and how, found by
 * reading only: `limits` must not change anything to answer.
 * - child: a child cgroup per job, as it is;
 * - beside-leaf: cgroup v2, the cgroup holds processes, so they move into a leaf first (the layout
 *   systemd documents for Delegate=yes);
 * - none: the job is observed in this cgroup.
 */
export type JobCgroupRoom = { how: 'child' | 'beside-leaf' | 'none'; reason: string };

export function jobCgroupRoom(cgroup: MemoryCgroup): JobCgroupRoom {
  if (cgroup.readOnly)
    return { how: 'none', reason: `the hierarchy at ${cgroup.mountDir} is mounted read-only` };
  if (!writable(cgroup.dir)) return { how: 'none', reason: `${cgroup.dir} is not writable by this user` };
  if (cgroup.version === 1)
    return { how: 'child', reason: 'cgroup v1 lets a cgroup with processes have children' };
  if (path.basename(cgroup.dir) === LEAF_NAME)
    return {
      how: 'beside-leaf',
      reason: `this is headroom's leaf (${LEAF_NAME}): each job's cgroup goes beside it`,
    };
  const subtree = words(readOptionalKernelFile(fileIn(cgroup.dir, 'cgroup.subtree_control')));
  if (subtree.includes('memory'))
    return { how: 'child', reason: 'the memory controller is on for its children' };
  const controllers = words(readOptionalKernelFile(fileIn(cgroup.dir, 'cgroup.controllers')));
  if (!controllers.includes('memory'))
    return { how: 'none', reason: 'the memory controller is not delegated to this cgroup' };
  // The real root is exempt from the "no internal processes" rule.
  if (isRootCgroup(2, cgroup.dir) || readCgroupPids(fileIn(cgroup.dir, 'cgroup.procs')).length === 0)
    return { how: 'child', reason: 'the memory controller can be switched on for its children' };
  return {
    how: 'beside-leaf',
    reason: `it holds processes, which cgroup v2 allows only in a cgroup that hands no controller to children, so they move into ${LEAF_NAME} and back at the end`,
  };
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(fileIn(dir, 'cgroup.procs'), fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function words(text: string | undefined): string[] {
  return text ? text.split(/\s+/).filter(Boolean) : [];
}
