import fs from 'node:fs';
import { captureReadError, notACapture } from './capture-records.js';

/** Lines this long are damage (or not a capture): a real record is a few KiB at most, argv included. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Feeds complete lines to onLine and returns the bytes after the last newline (a torn record), if any.
 * Reads in chunks rather than one string: long captures with many processes outgrow V8's string limit.
 * An over-long line is passed as undefined.
 */
export function readLines(
  fd: number,
  file: string,
  onLine: (line: string | undefined) => void,
): string | undefined {
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let overlong = false;
  let first = true;
  for (;;) {
    let count: number;
    try {
      count = fs.readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      throw captureReadError(file, error);
    }
    if (count === 0) break;
    const chunk = buffer.subarray(0, count);
    if (first) {
      first = false;
      // Reject binary and other files at once instead of scanning them for a newline.
      const opening = chunk.toString('latin1', 0, Math.min(count, 64)).trimStart();
      if (opening !== '' && !opening.startsWith('{')) throw notACapture(file);
    }
    let start = 0;
    let newline = chunk.indexOf(10, start);
    while (newline !== -1) {
      if (overlong) {
        onLine(undefined);
      } else if (partial.length > 0) {
        partial.push(chunk.subarray(start, newline));
        onLine(Buffer.concat(partial).toString('utf8'));
      } else {
        onLine(chunk.toString('utf8', start, newline));
      }
      partial = [];
      partialBytes = 0;
      overlong = false;
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < count && !overlong) {
      // Copied: the read buffer is reused for the next chunk.
      partial.push(Buffer.from(chunk.subarray(start)));
      partialBytes += count - start;
      if (partialBytes > MAX_LINE_BYTES) {
        partial = [];
        overlong = true;
      }
    }
  }
  // Not a record whatever it was; a stand-in keeps the decoder from holding 64 MiB of it.
  if (overlong) return '\u0000';
  return partial.length > 0 ? Buffer.concat(partial).toString('utf8') : undefined;
}
