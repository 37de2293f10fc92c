import fs from 'node:fs';
import path from 'node:path';
import type { CaptureWriter } from '../record/capture-writer.js';
import { checkSpoolRecord } from './profile-decoder.js';
import { PROFILE_REQUEST_FILE } from './profile-format.js';

/** A spool line longer than this is not a profile headroom will copy (a runaway or hostile writer). */
const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** Unfinished lines held across all spools: headroom's own memory counts against the job's limit. */
const MAX_PARTIAL_BYTES = 16 * 1024 * 1024;
/** Read per spool per collection, so one huge file cannot stall the sampler and the watchdog. */
const MAX_READ_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;
/** The tag and time a profiler writes first, where headroom puts the pid in. */
const RECORD_START = /^\[\s*"([INAW])"\s*,\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*,/;

interface Spool {
  name: string;
  pid: number;
  /** -1 while closed: its process is gone, and the file is reopened only if it grows. */
  fd: number;
  offset: number;
  /** Bytes of a line not yet ended by a newline. */
  partial: Buffer[];
  partialBytes: number;
  /** The current line is being skipped to its end (too long, or dropped to save memory). */
  skipping: boolean;
}

/**
 * Moves what the job's profilers write into their spool files (see profile-format) into the capture.
 * The directory is the run's own (mkdtemp, mode 0700) beside the capture, on the capture's file system
 * rather than in /tmp: the job's processes write the spool, so its pages are charged to the job, and on a
 * tmpfs /tmp they could not be reclaimed. Each file is read from where the last read stopped; only
 * whole lines that parse as profile records are copied, so a torn or foreign line is dropped without
 * harming the capture. The job can put anything in the directory: only regular files are read, never
 * through a link, and never a read that could block.
 */
export class SpoolCollector {
  readonly dir: string;
  private readonly spools = new Map<string, Spool>();
  /** One read buffer for all files, made on first use: most runs' profilers write little. */
  private buffer: Buffer | undefined;
  /** Kept open from the start: a request only touches its times, so a link put in its place is never followed. */
  private readonly requestFd: number;
  /** Lines dropped because they did not parse or were too long. */
  dropped = 0;
  copied = 0;

  constructor(
    private readonly writer: CaptureWriter,
    parentDir: string,
  ) {
    this.dir = fs.mkdtempSync(path.join(parentDir, '.headroom-profile-'));
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    this.requestFd = fs.openSync(
      path.join(this.dir, PROFILE_REQUEST_FILE),
      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
      0o600,
    );
    // Older than any profiler in the job: a profiler takes a request only when the file is newer than its
    // own start.
    fs.futimesSync(this.requestFd, 0, 0);
  }

  /** Copies every complete new line; cheap when nothing was written (one readdir, one read per file). */
  collect(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const match = /^(\d+)\.jsonl$/.exec(name);
      if (!match) continue;
      let spool = this.spools.get(name);
      if (!spool) {
        spool = {
          name,
          pid: Number(match[1]),
          fd: -1,
          offset: 0,
          partial: [],
          partialBytes: 0,
          skipping: false,
        };
        this.spools.set(name, spool);
      }
      if (spool.fd < 0 && !this.reopen(spool)) continue;
      this.drain(spool);
      if (!fs.existsSync(`/proc/${spool.pid}`)) this.retire(spool);
    }
    this.limitPartials();
  }

  /** Asks every profiler for a snapshot now (the guard's snapshot action). */
  requestSnapshot(): void {
    try {
      const now = new Date();
      fs.futimesSync(this.requestFd, now, now);
    } catch {
      // The profilers keep their own schedule.
    }
  }

  /** Copies what is left and removes the spool directory. */
  close(): void {
    this.collect();
    for (const spool of this.spools.values()) if (spool.fd >= 0) fs.closeSync(spool.fd);
    this.spools.clear();
    fs.closeSync(this.requestFd);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Opens a spool that is new, or closed and grown since; false when it is not a file to read. */
  private reopen(spool: Spool): boolean {
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO put in the directory must not stop headroom at open or read.
      fd = fs.openSync(path.join(this.dir, spool.name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch {
      return false;
    }
    try {
      const stat = fs.fstatSync(fd);
      if (stat.isFile() && stat.size > spool.offset) {
        spool.fd = fd;
        return true;
      }
    } catch {
      // Unreadable: as if absent.
    }
    fs.closeSync(fd);
    return false;
  }

  /**
   * A spool whose process is gone keeps no descriptor (a job may start thousands of short processes) and
   * no unfinished line: nothing will complete it.
   */
  private retire(spool: Spool): void {
    if (spool.fd >= 0) fs.closeSync(spool.fd);
    spool.fd = -1;
    if (spool.partialBytes > 0 || spool.skipping) this.dropped++;
    spool.partial = [];
    spool.partialBytes = 0;
    spool.skipping = false;
  }

  /** Past MAX_PARTIAL_BYTES of unfinished lines in all, the largest is dropped until the total fits. */
  private limitPartials(): void {
    let total = 0;
    for (const spool of this.spools.values()) total += spool.partialBytes;
    while (total > MAX_PARTIAL_BYTES) {
      let largest: Spool | undefined;
      for (const spool of this.spools.values())
        if (!largest || spool.partialBytes > largest.partialBytes) largest = spool;
      if (!largest) return;
      total -= largest.partialBytes;
      largest.partial = [];
      largest.partialBytes = 0;
      largest.skipping = true;
    }
  }

  private drain(spool: Spool): void {
    this.buffer ??= Buffer.allocUnsafe(CHUNK_BYTES);
    const buffer = this.buffer;
    for (let total = 0; total < MAX_READ_BYTES; ) {
      let read: number;
      try {
        read = fs.readSync(spool.fd, buffer, 0, CHUNK_BYTES, spool.offset);
      } catch {
        return;
      }
      if (read === 0) return;
      spool.offset += read;
      total += read;
      let start = 0;
      for (let newline = buffer.indexOf(10, start); newline !== -1 && newline < read; ) {
        this.lineEnd(spool, buffer.subarray(start, newline));
        start = newline + 1;
        newline = buffer.indexOf(10, start);
      }
      if (start < read && !spool.skipping) {
        // Copied: the next read reuses the buffer.
        const rest = Buffer.from(buffer.subarray(start, read));
        spool.partial.push(rest);
        spool.partialBytes += rest.length;
        if (spool.partialBytes > MAX_LINE_BYTES) {
          spool.partial = [];
          spool.partialBytes = 0;
          spool.skipping = true;
        }
      }
      if (read < CHUNK_BYTES) return;
    }
  }

  private lineEnd(spool: Spool, bytes: Buffer): void {
    if (spool.skipping) {
      spool.skipping = false;
      this.dropped++;
      return;
    }
    const text =
      spool.partialBytes > 0
        ? Buffer.concat([...spool.partial, bytes]).toString('utf8')
        : bytes.toString('utf8');
    spool.partial = [];
    spool.partialBytes = 0;
    if (text.trim() === '') return;
    const start = RECORD_START.exec(text);
    let record: unknown;
    try {
      record = start ? JSON.parse(text) : undefined;
    } catch {
      record = undefined;
    }
    if (!start || !checkSpoolRecord(record)) {
      this.dropped++;
      return;
    }
    // The profiler's own text with the pid put in, rather than the parsed record written out again: a
    // large snapshot would otherwise exist three times in headroom's memory at once.
    this.writer.profileLine(`["${start[1]}",${start[2]},${spool.pid},${text.slice(start[0].length)}`);
    this.copied++;
  }
}
