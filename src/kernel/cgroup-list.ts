import fs from 'node:fs';
import path from 'node:path';
import type { MemoryCgroup } from './locate.js';

/** One cgroup found below a starting one. */
export interface ListedCgroup {
  /** In the kernel's terms ("/docker/abc..."). */
  path: string;
  dir: string;
  /** 0 for the starting cgroup. */
  depth: number;
}

export interface ListOptions {
  /** How deep below the start to go (default 8). */
  maxDepth?: number;
  /** Stop after this many (default 2000): a host can have tens of thousands of cgroups. */
  maxCount?: number;
}

/**
 * The memory cgroups at and below `top`, breadth first, so that a bound on the count keeps the ones
 * nearest the top. Directories that vanish while we walk are skipped.
 */
export function listCgroups(
  top: Pick<MemoryCgroup, 'dir' | 'path'>,
  options: ListOptions = {},
): ListedCgroup[] {
  const maxDepth = options.maxDepth ?? 8;
  const maxCount = options.maxCount ?? 2000;
  const found: ListedCgroup[] = [{ path: top.path, dir: top.dir, depth: 0 }];
  for (let next = 0; next < found.length && found.length < maxCount; next++) {
    const parent = found[next] as ListedCgroup;
    if (parent.depth >= maxDepth) continue;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(parent.dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      if (found.length >= maxCount) break;
      found.push({
        path: path.posix.join(parent.path, entry.name),
        dir: path.join(parent.dir, entry.name),
        depth: parent.depth + 1,
      });
    }
  }
  return found;
}

/**
 * The top of the hierarchy this mount shows, in the kernel's terms: the whole host's tree on a host, the
 * container's own cgroup inside a cgroup namespace or a bind-mounted subtree.
 */
export function visibleTop(cgroup: MemoryCgroup): MemoryCgroup {
  const below = path.relative(cgroup.mountDir, cgroup.dir);
  const topPath = below ? cgroup.path.slice(0, cgroup.path.length - below.length - 1) || '/' : cgroup.path;
  return { ...cgroup, dir: cgroup.mountDir, path: topPath };
}

/**
 * A memory cgroup hierarchy given by its directory rather than found through /proc: the host's cgroup
 * tree mounted into a DaemonSet's pod, say. v2 is told by cgroup.controllers, v1 by memory.usage_in_bytes.
 */
export function cgroupHierarchyAt(dir: string): MemoryCgroup | { error: string } {
  const has = (name: string) => fs.existsSync(path.join(dir, name));
  const version = has('cgroup.controllers') ? 2 : has('memory.usage_in_bytes') ? 1 : undefined;
  if (version === undefined) {
    return { error: `${dir} is neither a cgroup v2 hierarchy nor a v1 memory hierarchy` };
  }
  return { version, path: '/', dir, mountDir: dir, readOnly: true, ancestorsHidden: false };
}
