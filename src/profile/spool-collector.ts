import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaptureWriter } from '../record/capture-writer.js';
import { checkSpoolRecord } from './profile-decoder.js';
import { PROFILE_REQUEST_FILE } from './profile-format.js';

/** A spool line longer than this is not a profile headroom will copy (a runaway or hostile writer). */
const MAX_LINE_BYTES = 32 * 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;

interface Spool {
  pid: number;
  fd: number;
  offset: number;
  /** Bytes of a line not yet ended by a newline. */
  partial: Buffer[];
  partialBytes: number;
}

/**
 * Moves what the job's profilers write into their spool files (see profile-format) into the capture.
 * The directory is the run's own (mkdtemp, mode 0700); each file is read from where the last read stopped,
 * and only whole lines that parse as profile records are copied, so a torn or foreign line is dropped
 * without harming the capture.
 */
export class SpoolCollector {
  readonly dir: string;
  private readonly spools = new Map<string, Spool>();
  /** One read buffer for all files, made on first use: most runs' profilers write little. */
  private buffer: Buffer | undefined;
  /** Lines dropped because they did not parse or were too long. */
  dropped = 0;
  copied = 0;

  constructor(private readonly writer: CaptureWriter) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-profile-'));
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
        let fd: number;
        try {
          // O_NOFOLLOW: the job owns these files and could swap one for a link to anything.
          fd = fs.openSync(path.join(this.dir, name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        } catch {
          continue;
        }
        spool = { pid: Number(match[1]), fd, offset: 0, partial: [], partialBytes: 0 };
        this.spools.set(name, spool);
      }
      this.drain(spool);
    }
  }

  /** Asks every profiler for a snapshot now (the guard's snapshot action, or before the end). */
  requestSnapshot(): void {
    const file = path.join(this.dir, PROFILE_REQUEST_FILE);
    try {
      fs.writeFileSync(file, '');
      const now = new Date();
      fs.utimesSync(file, now, now);
    } catch {
      // The profilers keep their own schedule.
    }
  }

  /** Copies what is left and removes the spool directory. */
  close(): void {
    this.collect();
    for (const spool of this.spools.values()) fs.closeSync(spool.fd);
    this.spools.clear();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private drain(spool: Spool): void {
    this.buffer ??= Buffer.allocUnsafe(CHUNK_BYTES);
    const buffer = this.buffer;
    for (;;) {
      let read: number;
      try {
        read = fs.readSync(spool.fd, buffer, 0, CHUNK_BYTES, spool.offset);
      } catch {
        return;
      }
      if (read === 0) return;
      spool.offset += read;
      let start = 0;
      for (let newline = buffer.indexOf(10, start); newline !== -1 && newline < read; ) {
        this.line(spool, buffer.subarray(start, newline));
        start = newline + 1;
        newline = buffer.indexOf(10, start);
      }
      if (start < read) {
        // Copied: the next read reuses the buffer.
        const rest = Buffer.from(buffer.subarray(start, read));
        spool.partial.push(rest);
        spool.partialBytes += rest.length;
        if (spool.partialBytes > MAX_LINE_BYTES) {
          // Skip to the end of this line: it is dropped whatever follows.
          spool.partial = [];
          spool.partialBytes = Number.POSITIVE_INFINITY;
        }
      }
      if (read < CHUNK_BYTES) return;
    }
  }

  private line(spool: Spool, bytes: Buffer): void {
    let text: string;
    if (spool.partialBytes > 0) {
      const tooLong = spool.partialBytes === Number.POSITIVE_INFINITY;
      text = tooLong ? '' : Buffer.concat([...spool.partial, bytes]).toString('utf8');
      spool.partial = [];
      spool.partialBytes = 0;
      if (tooLong) {
        this.dropped++;
        return;
      }
    } else {
      text = bytes.toString('utf8');
    }
    if (text.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      this.dropped++;
      return;
    }
    if (!checkSpoolRecord(record)) {
      this.dropped++;
      return;
    }
    this.writer.profile(spool.pid, record);
    this.copied++;
  }
}
