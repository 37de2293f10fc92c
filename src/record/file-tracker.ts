import fs from 'node:fs';
import { type HostPaths, listOpenFiles, realHost, residentBytes, tmpfsUsage } from '../kernel/index.js';
import type { FileRecord } from './capture-format.js';
import type { CaptureWriter } from './capture-writer.js';

/** Page cache plus shmem must grow this much since the last look before the job's files are listed again. */
const GROWTH_TRIGGER = 16 * 1024 * 1024;
/** At most one look this often: listing descriptors costs a stat and a readlink each. */
const MIN_GAP_MS = 2000;
/** While this much is cache, look again this often even without growth: cache pinned at the limit by
 * reclaim does not grow, though the job may have moved on to other files. */
const STEADY_GAP_MS = 10_000;
const STEADY_MIN_BYTES = 32 * 1024 * 1024;
/** Processes looked at per scan, so a thousand-process job does not stall a tick. */
const MAX_PROCESSES = 256;
/** Files smaller than this cannot explain a memory problem; tmpfs files are kept whatever their size. */
const MIN_FILE_BYTES = 1024 * 1024;
/** Files reported, largest first. */
const MAX_FILES = 20;
/** tmpfs mounts holding less than this are left out of the record. */
const MIN_TMPFS_BYTES = 1024 * 1024;

interface SeenFile {
  path: string;
  /** Device and inode, so that a file replaced under the same name is not mistaken for it. */
  key: string;
  sizeBytes: number;
  deleted: boolean;
  pids: Set<number>;
}

/**
 * Remembers the files the job's processes hold open while its page cache or shmem grows, so that the
 * report can name the files behind the cache: the kernel charges cache per cgroup, not per file. At the
 * end it counts each file's resident pages and what every tmpfs holds, and writes one "files" event.
 */
export class FileTracker {
  private readonly files = new Map<string, SeenFile>();
  private scannedCache = 0;
  private scannedMs = Number.NEGATIVE_INFINITY;
  private tmpfsPaths: string[] | undefined;

  constructor(
    private readonly writer: CaptureWriter,
    private readonly host: HostPaths = realHost,
  ) {}

  /** Looks at the processes' open files if page cache + shmem grew enough since the last look. */
  maybeScan(timeMs: number, cacheBytes: number, pids: () => Iterable<number>): void {
    const grew = cacheBytes - this.scannedCache >= GROWTH_TRIGGER && timeMs - this.scannedMs >= MIN_GAP_MS;
    const steady = cacheBytes >= STEADY_MIN_BYTES && timeMs - this.scannedMs >= STEADY_GAP_MS;
    if (!grew && !steady) {
      // Cache that shrank (reclaim, deleted files) lowers the bar for the next rise.
      this.scannedCache = Math.min(this.scannedCache, cacheBytes);
      return;
    }
    this.scannedCache = cacheBytes;
    this.scannedMs = timeMs;
    let looked = 0;
    for (const pid of pids()) {
      if (looked++ >= MAX_PROCESSES) break;
      for (const file of listOpenFiles(pid, this.host)) this.remember(pid, file);
    }
  }

  /** Writes the "files" event: resident bytes per file and what each tmpfs holds. */
  finish(timeMs: number): void {
    const mounts = tmpfsUsage('self', this.host);
    const tmpfs = mounts.filter((mount) => mount.usedBytes >= MIN_TMPFS_BYTES);
    const mountPoints = mounts.map((mount) => mount.mountPoint);
    if (this.files.size === 0 && tmpfs.length === 0) return;
    for (const file of this.files.values()) if (!file.deleted) file.sizeBytes = finalSize(file);
    const largest = [...this.files.values()].sort((a, b) => b.sizeBytes - a.sizeBytes).slice(0, MAX_FILES);
    const resident = residentBytes(largest.filter((file) => !file.deleted).map((file) => file.path));
    const files: FileRecord[] = largest.map((file) => ({
      path: file.path,
      sizeBytes: file.sizeBytes,
      residentBytes: resident.get(file.path) ?? null,
      tmpfs: mountPoints.some((mount) => isUnder(file.path, mount)),
      deleted: file.deleted,
      pids: [...file.pids].sort((a, b) => a - b),
    }));
    this.writer.event({ kind: 'files', timeMs, files, tmpfs });
  }

  private remember(
    pid: number,
    file: { path: string; sizeBytes: number; deleted: boolean; key: string },
  ): void {
    const seen = this.files.get(file.key);
    if (seen) {
      seen.sizeBytes = Math.max(seen.sizeBytes, file.sizeBytes);
      seen.deleted = file.deleted;
      seen.pids.add(pid);
      return;
    }
    if (file.sizeBytes < MIN_FILE_BYTES && !this.onTmpfs(file.path)) return;
    this.files.set(file.key, {
      path: file.path,
      key: file.key,
      sizeBytes: file.sizeBytes,
      deleted: file.deleted,
      pids: new Set([pid]),
    });
  }

  private onTmpfs(file: string): boolean {
    this.tmpfsPaths ??= tmpfsUsage('self', this.host).map((mount) => mount.mountPoint);
    return this.tmpfsPaths.some((mount) => isUnder(file, mount));
  }
}

/** Files keep growing after the last look: take the size they ended with, if it is still the same file. */
function finalSize(file: SeenFile): number {
  try {
    const stat = fs.statSync(file.path);
    return `${stat.dev}:${stat.ino}` === file.key ? Math.max(file.sizeBytes, stat.size) : file.sizeBytes;
  } catch {
    return file.sizeBytes;
  }
}

function isUnder(file: string, mount: string): boolean {
  return mount === '/' || file === mount || file.startsWith(`${mount}/`);
}
