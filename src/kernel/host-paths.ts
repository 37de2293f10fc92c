import path from 'node:path';

/**
 * Where the kernel's interfaces live. Every read goes through this, so tests can point the whole
 * layer at a fixture tree ("root/proc/...", "root/sys/fs/cgroup/...") built from the documented formats.
 */
export interface HostPaths {
  /** Prefix for every absolute path the kernel hands us (mount points, /proc). "/" on a real host. */
  readonly root: string;
}

export const realHost: HostPaths = { root: '/' };

export function hostPaths(root = process.env.HEADROOM_SYSROOT ?? '/'): HostPaths {
  return { root };
}

/** Maps an absolute path as the kernel names it to where we read it. */
export function resolveHostPath(host: HostPaths, absolute: string): string {
  return host.root === '/' ? absolute : path.join(host.root, absolute);
}

export function procPath(host: HostPaths, pid: number | 'self', file: string): string {
  return resolveHostPath(host, `/proc/${pid}/${file}`);
}
