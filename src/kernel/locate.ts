import fs from 'node:fs';
import path from 'node:path';
import type { ErrorCode } from '../errors.js';
import { fileIn } from './file-in.js';
import { type HostPaths, procPath, realHost, resolveHostPath } from './host-paths.js';
import { type Mount, parseMountinfo, parseProcCgroup } from './mountinfo.js';
import { readCgroupPids } from './process-memory.js';
import { readKernelFile, readOptionalKernelFile } from './read-file.js';

export type CgroupVersion = 1 | 2;

/** Where a process's memory cgroup is, in both the kernel's terms and ours. */
export interface MemoryCgroup {
  version: CgroupVersion;
  /**
   * The cgroup path as /proc/PID/cgroup names it (relative to the cgroup namespace root). When the
   * namespace root lies below the mount's root (a host's cgroupfs seen from a private cgroup namespace),
   * /proc names it "/" although the mount shows the cgroups above it too: then the path is the one below
   * the mount's top, which is also where the directory is found.
   */
  path: string;
  /** The directory we read, host root applied. */
  dir: string;
  /** The directory of the topmost cgroup this mount shows: walks up stop here. */
  mountDir: string;
  /** Mounted read-only (the usual case inside a container): we can read but not create cgroups. */
  readOnly: boolean;
  /**
   * The mount shows only part of the hierarchy (cgroup namespace or bind mount), so limits set above
   * mountDir cannot be read.
   */
  ancestorsHidden: boolean;
}

export type LocateResult =
  | { ok: true; cgroup: MemoryCgroup }
  | {
      ok: false;
      code: Extract<ErrorCode, 'E_NOT_LINUX' | 'E_NO_MEMORY_CONTROLLER' | 'E_CGROUP_NOT_FOUND'>;
      message: string;
    };

/**
 * The memory cgroup a process is in. A cgroup is taken only when its cgroup.procs lists the process: a
 * mount that shows another part of the hierarchy than the path suggests would otherwise be read as if it
 * were the process's own, and every figure and verdict would be about someone else.
 */
export function locateMemoryCgroup(pid: number | 'self' = 'self', host: HostPaths = realHost): LocateResult {
  if (process.platform !== 'linux' && host.root === '/') {
    return {
      ok: false,
      code: 'E_NOT_LINUX',
      message: `cgroups are a Linux feature; this is ${process.platform}`,
    };
  }
  const cgroupFile = procPath(host, pid, 'cgroup');
  // Paths in /proc/PID/cgroup and mount roots in mountinfo are both relative to the reader's cgroup
  // namespace, and we open mount points in our own mount namespace: so our mounts map any pid's path.
  const mountinfoFile = procPath(host, 'self', 'mountinfo');
  const memberships = parseProcCgroup(readKernelFile(cgroupFile), cgroupFile);
  const mounts = parseMountinfo(readKernelFile(mountinfoFile), mountinfoFile);
  const member = pid === 'self' ? selfPid(host) : pid;
  const who = pid === 'self' ? `headroom (pid ${member})` : `pid ${pid}`;

  const v1 = memberships.find((m) => m.hierarchyId !== 0 && m.controllers.includes('memory'));
  const v1Mounts = visibleMounts(mounts, (m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  if (v1 && v1Mounts.length > 0) return settle(findIn(1, v1.path, v1Mounts, host, member), who);

  const v2 = memberships.find((m) => m.hierarchyId === 0);
  const v2Mounts = visibleMounts(mounts, (m) => m.fsType === 'cgroup2');
  if (v2 && v2Mounts.length > 0) {
    const found = findIn(2, v2.path, v2Mounts, host, member);
    if (!('cgroup' in found)) return settle(found, who);
    const controllers = readOptionalKernelFile(fileIn(found.cgroup.dir, 'cgroup.controllers'));
    if (controllers?.split(/\s+/).includes('memory')) return { ok: true, cgroup: found.cgroup };
  }
  return {
    ok: false,
    code: 'E_NO_MEMORY_CONTROLLER',
    message:
      'no memory cgroup controller is mounted (neither cgroup v1 "memory" nor cgroup v2 with memory enabled)',
  };
}

function settle(found: Found, who: string): LocateResult {
  if ('cgroup' in found) return { ok: true, cgroup: found.cgroup };
  return {
    ok: false,
    code: 'E_CGROUP_NOT_FOUND',
    message: `cannot find the memory cgroup of ${who}: ${found.why}`,
  };
}

/** Real /proc/self is our pid; a fixture host's /proc/self is a link to the pid it stands for. */
function selfPid(host: HostPaths): number {
  if (host.root === '/') return process.pid;
  try {
    const pid = Number(path.basename(fs.readlinkSync(resolveHostPath(host, '/proc/self'))));
    return Number.isInteger(pid) ? pid : process.pid;
  } catch {
    return process.pid;
  }
}

/**
 * The mounts `wanted` picks that are not covered: a later mount on the same point or on a directory above
 * it hides an earlier one (mountinfo lists a namespace's mounts in the order they were made). Only the
 * picked ones are checked, against the later mounts in place: a Kubernetes node can list a thousand
 * mounts, and checking each against a copy of the rest was half a million comparisons at every start.
 */
function visibleMounts(mounts: Mount[], wanted: (mount: Mount) => boolean): Mount[] {
  const visible: Mount[] = [];
  for (let index = 0; index < mounts.length; index++) {
    const mount = mounts[index] as Mount;
    if (wanted(mount) && !coveredAfter(mounts, index)) visible.push(mount);
  }
  return visible;
}

function coveredAfter(mounts: Mount[], index: number): boolean {
  const { mountPoint } = mounts[index] as Mount;
  for (let later = index + 1; later < mounts.length; later++) {
    const point = (mounts[later] as Mount).mountPoint;
    if (point === mountPoint || isBelow(mountPoint, point)) return true;
  }
  return false;
}

function isBelow(child: string, parent: string): boolean {
  return parent === '/' ? child !== '/' : child.startsWith(`${parent}/`);
}

type Found = { cgroup: MemoryCgroup } | { why: string };

/** The first of the mounts that shows the process's cgroup; otherwise why the first one does not. */
function findIn(
  version: CgroupVersion,
  cgroupPath: string,
  mounts: Mount[],
  host: HostPaths,
  pid: number,
): Found {
  let first: Found | undefined;
  for (const mount of mounts) {
    const found = place(version, cgroupPath, mount, host, pid);
    if ('cgroup' in found) return found;
    first ??= found;
  }
  return first ?? { why: 'no mount shows it' };
}

/** A search for the namespace root stops after this many directories: a host can have tens of thousands. */
const SEARCH_LIMIT = 20_000;

function place(
  version: CgroupVersion,
  cgroupPath: string,
  mount: Mount,
  host: HostPaths,
  pid: number,
): Found {
  const mountDir = resolveHostPath(host, mount.mountPoint);
  const where = `the cgroup${version === 1 ? ' v1 memory' : '2'} mount at ${mount.mountPoint} (root ${mount.root})`;
  const lists = (dir: string): boolean => listsPid(dir, pid);
  const { ups, below } = splitRoot(mount.root);
  let dir: string;
  let name = cgroupPath;
  if (ups === 0) {
    // A bind mount or a container's mount shows a subtree: its root is a prefix of the process path.
    let relative: string;
    if (below === '/') relative = cgroupPath;
    else if (cgroupPath === below || cgroupPath.startsWith(`${below}/`))
      relative = cgroupPath.slice(below.length) || '/';
    else return { why: `${cgroupPath} is outside the part of the hierarchy ${where} shows` };
    // path.join keeps the trailing slash of "/", and callers compare dir with mountDir.
    dir = relative === '/' ? mountDir : path.join(mountDir, relative);
    if (!lists(dir)) return { why: `${dir}/cgroup.procs of ${where} does not list pid ${pid}` };
  } else if (below !== '/') {
    return { why: `the cgroup namespace root is outside the part of the hierarchy ${where} shows` };
  } else {
    // Mount root "/../.." from a namespace: the namespace root is `ups` levels below the mount's top, in
    // a directory /proc does not name. The one whose subtree holds the process, by cgroup.procs, is it.
    const searched = searchBelow(mountDir, ups, cgroupPath, lists);
    if (typeof searched !== 'string') {
      return {
        why:
          searched.visited >= SEARCH_LIMIT
            ? `the search for pid ${pid} stopped after ${SEARCH_LIMIT} cgroups of ${where}`
            : `no cgroup ${ups} level${ups === 1 ? '' : 's'} below the top of ${where} holds ${cgroupPath} with pid ${pid} in it`,
      };
    }
    dir = searched;
    name = `/${path.relative(mountDir, dir).split(path.sep).join('/')}`;
  }
  return {
    cgroup: {
      version,
      path: name,
      dir,
      mountDir,
      readOnly: mount.readOnly,
      ancestorsHidden: !isRootCgroup(version, mountDir),
    },
  };
}

/** "/../../a/b" is 2 levels up, then "/a/b" down; the kernel writes the shortest path between the two. */
function splitRoot(root: string): { ups: number; below: string } {
  const parts = root.split('/').filter((part) => part !== '');
  let ups = 0;
  while (parts[ups] === '..') ups++;
  return { ups, below: `/${parts.slice(ups).join('/')}` };
}

/** Breadth first to `depth` below `top`: the directory whose `cgroupPath` inside it lists the pid. */
function searchBelow(
  top: string,
  depth: number,
  cgroupPath: string,
  lists: (dir: string) => boolean,
): string | { visited: number } {
  let level = [top];
  let visited = 0;
  for (let at = 0; at < depth; at++) {
    const next: string[] = [];
    for (const dir of level) {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        if (++visited > SEARCH_LIMIT) return { visited: SEARCH_LIMIT };
        next.push(path.join(dir, entry.name));
      }
    }
    level = next;
  }
  for (const root of level) {
    const dir = cgroupPath === '/' ? root : path.join(root, cgroupPath);
    if (lists(dir)) return dir;
  }
  return { visited };
}

function listsPid(dir: string, pid: number): boolean {
  try {
    return readCgroupPids(fileIn(dir, 'cgroup.procs')).includes(pid);
  } catch {
    return false;
  }
}

/**
 * The real root of a hierarchy, not a namespace root or a bind-mounted subtree: v1 shows
 * cgroup.sane_behavior and release_agent only there, and v2 lacks cgroup.events and memory.current only
 * there (Documentation/admin-guide/cgroup-v2.rst: "exists on non-root cgroups").
 */
export function isRootCgroup(version: CgroupVersion, dir: string): boolean {
  const has = (name: string): boolean => fs.existsSync(fileIn(dir, name));
  if (version === 1) return has('cgroup.sane_behavior') || has('release_agent');
  return !has('cgroup.events') && !has('memory.current');
}
