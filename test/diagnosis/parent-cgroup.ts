// A memory cgroup with a limit, below this process's own, for the case whose limit must strike on a
// parent of the job's cgroup. Made only below our own cgroup, never elsewhere on the host.
import fs from 'node:fs';
import path from 'node:path';
import { createChildCgroup, locateMemoryCgroup, removeCgroup } from '../../src/kernel/index.js';

export interface ParentCgroup {
  /** Its cgroup.procs: a process writes its pid here to join. */
  procsFile: string;
  /** Kills what is left in it and below it, removes it; false when a directory would not go. */
  remove: () => boolean;
}

export function makeParentCgroup(name: string, limitBytes: number): ParentCgroup {
  const own = locateMemoryCgroup('self');
  if (!own.ok) throw new Error(`the diagnosis corpus needs a memory cgroup: ${own.message}`);
  const created = createChildCgroup(own.cgroup, name, { memory: limitBytes });
  if (!created.ok) throw new Error(`cannot make the parent cgroup ${name}: ${created.reason}`);
  const dir = created.cgroup.dir;
  return { procsFile: path.join(dir, 'cgroup.procs'), remove: () => removeTree(dir) };
}

/** Children first: a cgroup with child cgroups cannot be removed. */
function removeTree(dir: string): boolean {
  let removed = true;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removed = removeTree(path.join(dir, entry.name)) && removed;
  }
  for (const pid of readPids(path.join(dir, 'cgroup.procs'))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return removeCgroup(dir) && removed;
}

function readPids(file: string): number[] {
  try {
    return fs.readFileSync(file, 'latin1').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
