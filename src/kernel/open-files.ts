import fs from 'node:fs';
import { type HostPaths, procPath, realHost } from './host-paths.js';

/** A regular file a process holds open. */
export interface OpenFile {
  /** As the kernel names it, without the " (deleted)" suffix. */
  path: string;
  sizeBytes: number;
  /** Unlinked while open: its pages stay charged until the last descriptor closes. */
  deleted: boolean;
  /** Device and inode, so that one file opened twice (or under two names) counts once. */
  key: string;
}

const DELETED = ' (deleted)';

/**
 * The regular files behind a process's descriptors, looking at no more than `maxDescriptors` of them.
 * Processes come and go while we look, and some are not ours to read: every failure just means fewer
 * files, never an error.
 */
export function listOpenFiles(
  pid: number,
  host: HostPaths = realHost,
  maxDescriptors = Number.POSITIVE_INFINITY,
): { files: OpenFile[]; descriptors: number } {
  const dir = procPath(host, pid, 'fd');
  let fds: string[];
  try {
    fds = fs.readdirSync(dir);
  } catch {
    return { files: [], descriptors: 0 };
  }
  if (fds.length > maxDescriptors) fds = fds.slice(0, maxDescriptors);
  const files: OpenFile[] = [];
  for (const fd of fds) {
    const link = `${dir}/${fd}`;
    try {
      // stat follows the magic link to the open file itself, even when it has been unlinked.
      const stat = fs.statSync(link, { bigint: false });
      if (!stat.isFile()) continue;
      const target = fs.readlinkSync(link);
      const deleted = target.endsWith(DELETED);
      files.push({
        path: deleted ? target.slice(0, -DELETED.length) : target,
        sizeBytes: stat.size,
        deleted,
        key: `${stat.dev}:${stat.ino}`,
      });
    } catch {
      // The descriptor closed between readdir and stat.
    }
  }
  return { files, descriptors: fds.length };
}
