import fs from 'node:fs';
import { type HostPaths, listOpenFiles, realHost, residentBytes, tmpfsUsage } from '../kernel/index.js';
import type { FileRecord } from './capture-format.js';
import type { CaptureWriter } from './capture-writer.js';

/** Page cache plus shmem must grow this much since the last look before the job's files are listed again. */
const GROWTH_TRIGGER = 16 * 1024 * 1024;
/** At most one look this often: listing descriptors costs a stat and a readlink each. */
const MIN_GAP_MS = 2000;
/** While this much is cache at the limit, look again this often even without growth: cache pinned at the
 * limit by reclaim does not grow, though the job may have moved on to other files. */
const STEADY_GAP_MS = 10_000;
const STEADY_MIN_BYTES = 32 * 1024 * 1024;
/** Processes and descriptors looked at per scan (about 12 µs a descriptor), so no job stalls a tick. */
const MAX_PROCESSES = 256;
const MAX_DESCRIPTORS = 2048;
/** Files remembered; the smallest go first. */
const MAX_REMEMBERED = 80;
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

  /**
   * Looks at the processes' open files if page cache + shmem grew enough since the last look. Never
   * throws: naming files is a nicety, and the sampler's tick must go on whatever /proc does.
   */
  maybeScan(timeMs: number, cacheBytes: number, atLimit: boolean, pids: () => Iterable<number>): void {
    try {
      this.scan(timeMs, cacheBytes, atLimit, pids);
    } catch {
      // A process or mount table that changed under us: the next look will do.
    }
  }

  private scan(timeMs: number, cacheBytes: number, atLimit: boolean, pids: () => Iterable<number>): void {
    const grew = cacheBytes - this.scannedCache >= GROWTH_TRIGGER && timeMs - this.scannedMs >= MIN_GAP_MS;
    const steady = atLimit && cacheBytes >= STEADY_MIN_BYTES && timeMs - this.scannedMs >= STEADY_GAP_MS;
    if (!grew && !steady) {
      // Cache that shrank (reclaim, deleted files) lowers the bar for the next rise.
      this.scannedCache = Math.min(this.scannedCache, cacheBytes);
      return;
    }
    this.scannedCache = cacheBytes;
    this.scannedMs = timeMs;
    let processes = 0;
    let descriptors = MAX_DESCRIPTORS;
    for (const pid of pids()) {
      if (processes++ >= MAX_PROCESSES || descriptors <= 0) break;
      const open = listOpenFiles(pid, this.host, descriptors);
      descriptors -= open.descriptors;
      for (const file of open.files) this.remember(pid, file);
    }
    if (this.files.size > MAX_REMEMBERED) {
      const smallest = [...this.files.values()]
        .sort((a, b) => b.sizeBytes - a.sizeBytes)
        .slice(MAX_REMEMBERED);
      for (const file of smallest) this.files.delete(file.key);
    }
  }

  /** Writes the "files" event: resident bytes per file and what each tmpfs holds. Never throws. */
  finish(timeMs: number): void {
    try {
      this.writeFiles(timeMs);
    } catch {
      // Without the file list the capture still holds everything else.
    }
  }

  private writeFiles(timeMs: number): void {
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
      tmpfs: isMemoryBacked(file.path, mountPoints),
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
    return isMemoryBacked(file, this.tmpfsPaths);
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

/** memfd_create files live in shmem but under no mount: /proc names them "/memfd:NAME". */
function isMemoryBacked(file: string, mountPoints: readonly string[]): boolean {
  return file.startsWith('/memfd:') || mountPoints.some((mount) => isUnder(file, mount));
}

function isUnder(file: string, mount: string): boolean {
  return mount === '/' || file === mount || file.startsWith(`${mount}/`);
}
