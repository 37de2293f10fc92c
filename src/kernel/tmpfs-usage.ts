import fs from 'node:fs';
import { type HostPaths, procPath, realHost, resolveHostPath } from './host-paths.js';
import { parseMountinfo } from './mountinfo.js';
import { readOptionalKernelFile } from './read-file.js';

/** A memory-backed filesystem and how much it holds. */
export interface TmpfsUsage {
  mountPoint: string;
  usedBytes: number;
  sizeBytes: number;
}

/** Filesystems whose files live in memory (shmem): tmpfs, /dev/shm, memory-backed volumes. */
const MEMORY_BACKED = new Set(['tmpfs', 'shm', 'ramfs']);

/**
 * The memory-backed filesystems a process can see and what each holds; each filesystem once, however
 * often it or its directories are bind-mounted (statfs reports the whole filesystem).
 */
export function tmpfsUsage(pid: number | 'self', host: HostPaths = realHost): TmpfsUsage[] {
  const file = procPath(host, pid, 'mountinfo');
  const text = readOptionalKernelFile(file);
  if (text === undefined) return [];
  const seen = new Set<string>();
  const usage: TmpfsUsage[] = [];
  for (const mount of parseMountinfo(text, file)) {
    if (!MEMORY_BACKED.has(mount.fsType)) continue;
    if (seen.has(mount.majorMinor)) continue;
    seen.add(mount.majorMinor);
    try {
      const stat = fs.statfsSync(resolveHostPath(host, mount.mountPoint));
      usage.push({
        mountPoint: mount.mountPoint,
        usedBytes: (stat.blocks - stat.bfree) * stat.bsize,
        sizeBytes: stat.blocks * stat.bsize,
      });
    } catch {
      // Unmounted since, or hidden from us.
    }
  }
  return usage;
}
