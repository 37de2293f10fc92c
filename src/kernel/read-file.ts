import fs from 'node:fs';
import { describeErrno, errnoCode, kernelFileError } from './errors.js';

export { describeErrno };

/** Reads a small kernel file whole; errors name the file. */
export function readKernelFile(file: string): string {
  try {
    return readWhole(file);
  } catch (error) {
    throw kernelFileError(file, describeErrno(error), errnoCode(error));
  }
}

/** Like readKernelFile, but a missing file is undefined: many interface files depend on kernel version. */
export function readOptionalKernelFile(file: string): string | undefined {
  try {
    return readWhole(file);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return undefined;
    throw kernelFileError(file, describeErrno(error), code);
  }
}

/**
 * Where readWhole reads, grown as needed and kept up to KEPT_BYTES. readFileSync makes a Buffer for each
 * file, and for a /proc file, whose size reads as 0, a fresh 64 KiB one, whose pages the process touches
 * anew until a garbage collection frees the last: `headroom run` reads some twenty such files before its
 * job starts, and reading them here is about 70 page faults fewer per start (bench startup). A larger
 * file (a Kubernetes node's mountinfo, a few hundred KiB) gets a buffer that goes when it is read: kept,
 * it would stay in headroom's memory, which counts against the job's limit, for the whole run.
 */
const FIRST_BYTES = 16 * 1024;
const KEPT_BYTES = 64 * 1024;
let wholeBuffer = Buffer.allocUnsafeSlow(FIRST_BYTES);

/** A file's content as latin1 (any byte survives), read through wholeBuffer. */
function readWhole(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === wholeBuffer.length) {
        const larger = Buffer.allocUnsafeSlow(wholeBuffer.length * 2);
        wholeBuffer.copy(larger, 0, 0, length);
        wholeBuffer = larger;
      }
      const read = fs.readSync(fd, wholeBuffer, length, wholeBuffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    const text = wholeBuffer.toString('latin1', 0, length);
    if (wholeBuffer.length > KEPT_BYTES) wholeBuffer = Buffer.allocUnsafeSlow(FIRST_BYTES);
    return text;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A kernel file kept open and re-read from offset 0: the kernel regenerates the content on every read,
 * and this skips the open and close of each small read. What the read itself costs depends on the file:
 * measured on this kernel, /proc/PID/statm about 1.4 µs, /proc/PID/status about 8 µs.
 */
export class KeptOpenFile {
  private static buffer = Buffer.allocUnsafe(64 * 1024);
  private fd: number | undefined;

  constructor(readonly file: string) {
    try {
      this.fd = fs.openSync(file, 'r');
    } catch (error) {
      throw kernelFileError(file, describeErrno(error), errnoCode(error));
    }
  }

  /** The current content, or undefined once the process or cgroup behind the file is gone. */
  read(): string | undefined {
    const bytes = this.readBytes();
    return bytes === undefined ? undefined : bytes.toString('latin1');
  }

  /**
   * The current content as a view of a buffer shared by every KeptOpenFile, valid until the next read:
   * for parsing numbers on the hot path without making a string.
   */
  readBytes(): Buffer | undefined {
    const length = this.readLength();
    return length === undefined ? undefined : KeptOpenFile.buffer.subarray(0, length);
  }

  /**
   * The content as one unsigned decimal number and a newline, parsed in the shared buffer: no view, no
   * string. undefined once the process or cgroup is gone; NaN when the content is anything else.
   */
  readCount(): number | undefined {
    const length = this.readLength();
    if (length === undefined) return undefined;
    const bytes = KeptOpenFile.buffer;
    let value = 0;
    let i = 0;
    for (; i < length; i++) {
      const byte = bytes[i] as number;
      if (byte < 48 || byte > 57) break;
      value = value * 10 + (byte - 48);
    }
    const ends = i === length || (i === length - 1 && bytes[i] === 10);
    return i > 0 && ends ? value : Number.NaN;
  }

  /** Reads the content into the shared buffer (grown as needed); its length, or undefined once gone. */
  private readLength(): number | undefined {
    if (this.fd === undefined) return undefined;
    let buffer = KeptOpenFile.buffer;
    for (;;) {
      let length: number;
      try {
        length = fs.readSync(this.fd, buffer, 0, buffer.length, 0);
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ESRCH' || code === 'ENODEV' || code === 'ENOENT') {
          this.close();
          return undefined;
        }
        throw kernelFileError(this.file, describeErrno(error), code);
      }
      if (length < buffer.length) return length;
      buffer = Buffer.allocUnsafe(buffer.length * 2);
      KeptOpenFile.buffer = buffer;
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
