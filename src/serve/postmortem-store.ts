import fs from 'node:fs';
import path from 'node:path';

export interface PostmortemStoreOptions {
  dir: string;
  /** The directory's post-mortems in total, bytes; the oldest go first. */
  maxBytes?: number;
  maxFiles?: number;
  /** Post-mortems of one cgroup within an hour; more kills are counted, not written. */
  perCgroupPerHour?: number;
  now?: () => number;
}

export interface PostmortemFile {
  id: string;
  bytes: number;
  /** When it was written, ms since the epoch. */
  writtenMs: number;
}

export type Admission = { ok: true } | { ok: false; reason: string };

const EXTENSION = '.jsonl';
/** What an id may be: a file name of this directory's own making, nothing that could leave it. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$/;
const HOUR_MS = 3_600_000;

/**
 * The directory post-mortems are written to and served from, kept within bounds: a size and a count,
 * deleting the oldest first (never the one just written), and a rate per cgroup, so that a cgroup killed
 * in a loop cannot fill the disk or push every other cgroup's post-mortem out. Files are written under a
 * temporary name and renamed, so a reader never sees half of one. Ids are checked and files opened
 * without following links, so a request names nothing outside the directory.
 */
export class PostmortemStore {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly perHour: number;
  private readonly now: () => number;
  private readonly written = new Map<string, number[]>();

  constructor(options: PostmortemStoreOptions) {
    fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    // Resolved once: a link swapped in for the directory later changes nothing.
    this.dir = fs.realpathSync(options.dir);
    this.maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    this.maxFiles = options.maxFiles ?? 1000;
    this.perHour = options.perCgroupPerHour ?? 6;
    this.now = options.now ?? Date.now;
    for (const entry of fs.readdirSync(this.dir)) {
      // A temporary file is one a crash left half written.
      if (entry.startsWith('.tmp-')) fs.rmSync(path.join(this.dir, entry), { force: true });
    }
  }

  /** Whether one more post-mortem of `cgroup` may be written now; counts it when it may. */
  admit(cgroup: string): Admission {
    const now = this.now();
    const recent = (this.written.get(cgroup) ?? []).filter((at) => now - at < HOUR_MS);
    if (recent.length >= this.perHour) {
      this.written.set(cgroup, recent);
      return { ok: false, reason: `${this.perHour} post-mortems of ${cgroup} in the last hour already` };
    }
    recent.push(now);
    this.written.set(cgroup, recent);
    return { ok: true };
  }

  /**
   * Writes one post-mortem: `write(file)` fills a new file at `file`; it is then renamed to its id and the
   * directory trimmed to its bounds. Returns the id.
   */
  write(name: string, atMs: number, write: (file: string) => void): string {
    const stem = `${safeName(name)}-${stamp(atMs)}`;
    let id = `${stem}${EXTENSION}`;
    for (let n = 2; fs.existsSync(path.join(this.dir, id)); n++) id = `${stem}-${n}${EXTENSION}`;
    const temporary = path.join(this.dir, `.tmp-${id}`);
    try {
      write(temporary);
      fs.renameSync(temporary, path.join(this.dir, id));
    } finally {
      fs.rmSync(temporary, { force: true });
    }
    this.trim(id);
    return id;
  }

  /** The post-mortems, newest first. */
  list(): PostmortemFile[] {
    const files: PostmortemFile[] = [];
    for (const entry of fs.readdirSync(this.dir)) {
      if (!isId(entry)) continue;
      try {
        const stat = fs.lstatSync(path.join(this.dir, entry));
        if (stat.isFile()) files.push({ id: entry, bytes: stat.size, writtenMs: stat.mtimeMs });
      } catch {
        // deleted between the listing and the stat
      }
    }
    return files.sort((a, b) => b.writtenMs - a.writtenMs || sequence(b.id) - sequence(a.id));
  }

  /**
   * An open descriptor of post-mortem `id` and its size, or undefined when there is no such regular file
   * in the directory: a bad id, a link, a directory, a file gone.
   */
  open(id: string): { fd: number; bytes: number; file: string } | undefined {
    if (!isId(id)) return undefined;
    const file = path.join(this.dir, id);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      fs.closeSync(fd);
      return undefined;
    }
    return { fd, bytes: stat.size, file };
  }

  /** Deletes the oldest post-mortems until the directory is within its bounds; `keep` stays. */
  private trim(keep: string): void {
    const files = this.list();
    let bytes = files.reduce((sum, file) => sum + file.bytes, 0);
    let count = files.length;
    for (let i = files.length - 1; i >= 0 && (bytes > this.maxBytes || count > this.maxFiles); i--) {
      const file = files[i] as PostmortemFile;
      if (file.id === keep) continue;
      fs.rmSync(path.join(this.dir, file.id), { force: true });
      bytes -= file.bytes;
      count--;
    }
  }
}

/** Of post-mortems written in the same millisecond, the n-th is named "…Z-n.jsonl" (the first: no n). */
function sequence(id: string): number {
  return Number(/Z-(\d+)\.jsonl$/.exec(id)?.[1] ?? 1);
}

/** Whether `id` names a post-mortem of this store's making. */
export function isId(id: string): boolean {
  return ID.test(id) && id.endsWith(EXTENSION) && !id.includes('..');
}

/** A cgroup's name as a file name: letters, digits, dot, dash and underscore, at most 80 of them. */
function safeName(name: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+/, '')
    .slice(0, 80);
  return safe || 'cgroup';
}

/** 2026-12-07T05:01:02.345Z -> 20261207T050102.345Z: sortable, and no colon for file systems that mind. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}
