import fs from 'node:fs';
import { cgroupAncestry, ownLimitAt } from './effective-limit.js';
import { fileIn } from './file-in.js';
import type { MemoryCgroup } from './locate.js';
import { parseFlatKeyed } from './parse.js';
import { readOptionalKernelFile } from './read-file.js';

/** An ancestor whose own limit can stop the job, and the file that counts the times it did. */
interface Counter {
  path: string;
  files: string[];
}

/**
 * Counts the times an ancestor's limit was hit. The kernel charges a hit to the cgroup whose limit
 * refused the charge, not to the one that allocated: a job under a limit set on its parent (a pod, a
 * slice, a container's outer cgroup) sees no hits in its own counters. On v2 an ancestor's
 * memory.events.local "max" counts the hits of its own limit alone (memory.events would add those of
 * its other children's limits); on v1 its memory.failcnt (and memsw.failcnt) does.
 */
export class AncestorLimitHits {
  private readonly counters: Counter[];

  constructor(cgroup: MemoryCgroup) {
    this.counters = ancestorCounters(cgroup);
  }

  /** The ancestors that set a limit, nearest first ("/kubepods/pod1"). */
  get paths(): string[] {
    return this.counters.map((c) => c.path);
  }

  /** Hits of every limited ancestor's own limit, added up; an unreadable counter counts nothing. */
  read(): number {
    let total = 0;
    for (const counter of this.counters) {
      for (const file of counter.files) total += readCounter(file);
    }
    return total;
  }
}

function ancestorCounters(cgroup: MemoryCgroup): Counter[] {
  const counters: Counter[] = [];
  for (const { dir, path: levelPath, depth } of cgroupAncestry(cgroup)) {
    if (depth === 0 || ownLimitOrNull(cgroup, dir) === null) continue;
    const files =
      cgroup.version === 1
        ? ['memory.failcnt', 'memory.memsw.failcnt'].map((name) => fileIn(dir, name))
        : [localOrHierarchical(dir)];
    counters.push({ path: levelPath, files });
  }
  return counters;
}

/** A malformed limit file counts as no limit here: hits are a figure, not a reason to stop sampling. */
function ownLimitOrNull(cgroup: MemoryCgroup, dir: string): number | null {
  try {
    return ownLimitAt(cgroup.version, dir);
  } catch {
    return null;
  }
}

/** memory.events.local came with 5.2; before it, the hierarchical file is the closest there is. */
function localOrHierarchical(dir: string): string {
  const local = fileIn(dir, 'memory.events.local');
  return fs.existsSync(local) ? local : fileIn(dir, 'memory.events');
}

function readCounter(file: string): number {
  const text = readOptionalKernelFile(file);
  if (text === undefined) return 0;
  if (file.endsWith('failcnt')) {
    const value = Number(text.trim());
    return Number.isFinite(value) ? value : 0;
  }
  try {
    return parseFlatKeyed(text, file).get('max') ?? 0;
  } catch {
    return 0;
  }
}
