import path from 'node:path';
import { fileIn } from './file-in.js';
import type { CgroupVersion, MemoryCgroup } from './locate.js';
import { parseFlatKeyed, parseLimit } from './parse.js';
import { readKernelFile, readOptionalKernelFile } from './read-file.js';

/** One cgroup on the way from a job's cgroup up to the top we can see. */
export interface CgroupLevel {
  /** Cgroup path in the kernel's terms ("/" for the top of the mount). */
  path: string;
  /** 0 for the cgroup itself, 1 for its parent, and so on. */
  depth: number;
  limit: number | null;
  high: number | null;
  /** v1: memory+swap limit; v2: swap limit alone. */
  swapFileLimit: number | null;
}

export interface LimitSource {
  version: CgroupVersion;
  /** Cgroup path whose setting applies, or undefined when it is above what this mount shows. */
  path: string | undefined;
  depth: number | undefined;
  file: string;
}

export interface EffectiveLimit {
  /** The memory limit that applies: the lowest over all ancestors. */
  bytes: number | null;
  source: LimitSource | null;
  /** v2 memory.high, lowest over ancestors: where the kernel starts throttling. */
  high: number | null;
  /** Swap the job may use on top of `bytes`; null when unlimited. */
  swapBytes: number | null;
  levels: CgroupLevel[];
  /** Limits set above the visible top cannot be read (cgroup namespace, bind mount). */
  ancestorsHidden: boolean;
}

/** The cgroup and each ancestor up to the top of its mount, nearest first. */
export function cgroupAncestry(cgroup: MemoryCgroup): Array<{ dir: string; path: string; depth: number }> {
  const ancestry: Array<{ dir: string; path: string; depth: number }> = [];
  // Compared as they are, not through path.relative at each level (see fileIn for why path calls at the
  // start of a run are counted): locate makes both with path.join. The root, its own parent, ends the
  // walk whatever they look like.
  const top = cgroup.mountDir;
  let dir = cgroup.dir;
  let cgroupPath = cgroup.path;
  for (let depth = 0; ; depth++) {
    ancestry.push({ dir, path: cgroupPath, depth });
    const parent = path.dirname(dir);
    if (dir === top || !dir.startsWith(top) || parent === dir) break;
    dir = parent;
    cgroupPath = path.posix.dirname(cgroupPath);
  }
  return ancestry;
}

/** The file of a cgroup's own memory limit, by cgroup version. */
export const LIMIT_FILE: Record<CgroupVersion, string> = { 1: 'memory.limit_in_bytes', 2: 'memory.max' };

/** The memory limit a cgroup sets itself (v1 memory.limit_in_bytes, v2 memory.max); null for none. */
export function ownLimitAt(version: CgroupVersion, dir: string): number | null {
  return readLimitFile(dir, LIMIT_FILE[version]);
}

/** Walks from the cgroup up to the top of its mount; the lowest limit on the way applies. */
export function effectiveLimit(cgroup: MemoryCgroup): EffectiveLimit {
  const levels: CgroupLevel[] = cgroupAncestry(cgroup).map(({ dir, path: levelPath, depth }) => ({
    path: levelPath,
    depth,
    ...readLevel(cgroup.version, dir),
  }));
  const limitFile = LIMIT_FILE[cgroup.version];
  let bytes: number | null = null;
  let source: LimitSource | null = null;
  let high: number | null = null;
  for (const level of levels) {
    if (level.limit !== null && (bytes === null || level.limit < bytes)) {
      bytes = level.limit;
      source = { version: cgroup.version, path: level.path, depth: level.depth, file: limitFile };
    }
    if (level.high !== null && (high === null || level.high < high)) high = level.high;
  }
  if (cgroup.version === 1) {
    // The kernel's own hierarchical figure also covers ancestors this mount does not show.
    const statFile = fileIn(cgroup.dir, 'memory.stat');
    const stat = parseFlatKeyed(readKernelFile(statFile), statFile);
    const hierarchical = limitOrNull(stat.get('hierarchical_memory_limit'));
    if (hierarchical !== null && (bytes === null || hierarchical < bytes)) {
      bytes = hierarchical;
      source = { version: 1, path: undefined, depth: undefined, file: 'hierarchical_memory_limit' };
    }
    const memsw = minLimit(
      [limitOrNull(stat.get('hierarchical_memsw_limit')), ...levels.map((l) => l.swapFileLimit)].filter(
        (v): v is number => v !== null,
      ),
    );
    const swapBytes = memsw === null ? null : bytes === null ? memsw : Math.max(0, memsw - bytes);
    return { bytes, source, high: null, swapBytes, levels, ancestorsHidden: cgroup.ancestorsHidden };
  }
  const swapBytes = minLimit(levels.map((l) => l.swapFileLimit).filter((v): v is number => v !== null));
  return { bytes, source, high, swapBytes, levels, ancestorsHidden: cgroup.ancestorsHidden };
}

function readLimitFile(dir: string, name: string): number | null {
  const file = fileIn(dir, name);
  const text = readOptionalKernelFile(file);
  return text === undefined ? null : parseLimit(text, file);
}

function readLevel(version: CgroupVersion, dir: string): Omit<CgroupLevel, 'path' | 'depth'> {
  const read = (name: string): number | null => readLimitFile(dir, name);
  if (version === 1) {
    return {
      limit: ownLimitAt(1, dir),
      high: null,
      swapFileLimit: read('memory.memsw.limit_in_bytes'),
    };
  }
  // The v2 root has none of these files: it is unlimited.
  return { limit: ownLimitAt(2, dir), high: read('memory.high'), swapFileLimit: read('memory.swap.max') };
}

function limitOrNull(value: number | undefined): number | null {
  return value === undefined || value >= 2 ** 62 ? null : value;
}

function minLimit(values: number[]): number | null {
  return values.length === 0 ? null : Math.min(...values);
}

export function describeLimitSource(source: LimitSource | null): string {
  if (!source) return 'no limit set';
  const version = `cgroup v${source.version}`;
  if (source.path === undefined)
    return `${source.file} (an ancestor above the visible hierarchy, ${version})`;
  const where =
    source.depth === 0 ? 'this cgroup' : source.depth === 1 ? 'parent' : `ancestor ${source.depth} up`;
  return `${source.file} of ${source.path} (${where}, ${version})`;
}
