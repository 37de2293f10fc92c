import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { CaptureDecoder, type LatestState } from './capture-reader.js';
import { captureReadError } from './capture-records.js';

const CHUNK = 1024 * 1024;

/**
 * Follows a capture that a running `headroom run` is still writing, as `tail -f` does: each poll reads what
 * was appended since the last and decodes the complete lines. A line cut by the writer's last flush waits
 * for its end.
 */
export class CaptureFollower {
  private fd: number;
  private decoder: CaptureDecoder;
  private offset = 0;
  private partial = '';
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  // A character split between two reads is joined, not mangled.
  private text = new StringDecoder('utf8');

  constructor(readonly file: string) {
    this.fd = openFile(file);
    this.decoder = new CaptureDecoder(file);
  }

  /** Reads what was appended; returns the state after it (undefined before the header is complete). */
  poll(): LatestState | undefined {
    this.reopenIfReplaced();
    for (;;) {
      const count = fs.readSync(this.fd, this.buffer, 0, CHUNK, this.offset);
      if (count <= 0) break;
      this.offset += count;
      const lines = (this.partial + this.text.write(this.buffer.subarray(0, count))).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.decoder.line(line);
      if (count < CHUNK) break;
    }
    return this.decoder.latest();
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /**
   * `headroom run -o FILE` replaces an existing FILE: a new file under the name (another inode), or one
   * shorter than what was read, is a new capture to follow from its start.
   */
  private reopenIfReplaced(): void {
    let current: fs.Stats;
    try {
      current = fs.statSync(this.file);
    } catch {
      return;
    }
    const open = fs.fstatSync(this.fd);
    if (current.ino === open.ino && current.dev === open.dev && current.size >= this.offset) return;
    fs.closeSync(this.fd);
    this.fd = openFile(this.file);
    this.decoder = new CaptureDecoder(this.file);
    this.offset = 0;
    this.partial = '';
    this.text = new StringDecoder('utf8');
  }
}

function openFile(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (error) {
    throw captureReadError(file, error);
  }
}
