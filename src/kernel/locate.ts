import fs from 'node:fs';
import path from 'node:path';
import { type HostPaths, procPath, realHost, resolveHostPath } from './host-paths.js';
import { parseMountinfo, parseProcCgroup } from './mountinfo.js';
import { readKernelFile, readOptionalKernelFile } from './read-file.js';

export type CgroupVersion = 1 | 2;

/** Where a process's memory cgroup is, in both the kernel's terms and ours. */
export interface MemoryCgroup {
  version: CgroupVersion;
  /** The cgroup path as /proc/PID/cgroup names it (relative to the cgroup namespace root). */
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
  | { ok: false; reason: 'not-linux' | 'no-memory-controller'; message: string };

export function locateMemoryCgroup(pid: number | 'self' = 'self', host: HostPaths = realHost): LocateResult {
  if (process.platform !== 'linux' && host.root === '/') {
    return {
      ok: false,
      reason: 'not-linux',
      message: `cgroups are a Linux feature; this is ${process.platform}`,
    };
  }
  const cgroupFile = procPath(host, pid, 'cgroup');
  const mountinfoFile = procPath(host, pid, 'mountinfo');
  const memberships = parseProcCgroup(readKernelFile(cgroupFile), cgroupFile);
  const mounts = parseMountinfo(readKernelFile(mountinfoFile), mountinfoFile);

  const v1 = memberships.find((m) => m.hierarchyId !== 0 && m.controllers.includes('memory'));
  if (v1) {
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
    if (mount) return { ok: true, cgroup: place(1, v1.path, mount, host) };
  }
  const v2 = memberships.find((m) => m.hierarchyId === 0);
  const mount2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2 && mount2) {
    const cgroup = place(2, v2.path, mount2, host);
    const controllers = readOptionalKernelFile(path.join(cgroup.dir, 'cgroup.controllers'));
    if (controllers?.split(/\s+/).includes('memory')) return { ok: true, cgroup };
  }
  return {
    ok: false,
    reason: 'no-memory-controller',
    message:
      'no memory cgroup controller is mounted (neither cgroup v1 "memory" nor cgroup v2 with memory enabled)',
  };
}

function place(
  version: CgroupVersion,
  cgroupPath: string,
  mount: { root: string; mountPoint: string; readOnly: boolean },
  host: HostPaths,
): MemoryCgroup {
  // Inside a namespace the mount's root can be "/" while the process path is relative to the namespace
  // root, or a bind mount shows a subtree whose root is a prefix of the process path.
  let relative = cgroupPath;
  if (mount.root !== '/' && (cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`))) {
    relative = cgroupPath.slice(mount.root.length) || '/';
  }
  const mountDir = resolveHostPath(host, mount.mountPoint);
  // path.join keeps the trailing slash of "/", and callers compare dir with mountDir.
  const dir = relative === '/' ? mountDir : path.join(mountDir, relative);
  return {
    version,
    path: cgroupPath,
    dir,
    mountDir,
    readOnly: mount.readOnly,
    ancestorsHidden: mount.root !== '/' || isNamespacedTop(version, mountDir),
  };
}

/** The real v2 root has no memory.max; a namespace root that shows one has ancestors we cannot see. */
function isNamespacedTop(version: CgroupVersion, mountDir: string): boolean {
  return version === 2 && fs.existsSync(path.join(mountDir, 'memory.max'));
}
