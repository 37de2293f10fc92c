import fs from 'node:fs';
import { errnoCode, kernelFileError } from './errors.js';
import { type HostPaths, procPath, realHost } from './host-paths.js';
import { describeErrno, KeptOpenFile, readKernelFile } from './read-file.js';

/** A process's resident memory from /proc/PID/status, in bytes. */
export interface ProcessMemory {
  pid: number;
  ppid: number;
  name: string;
  rssAnon: number;
  rssFile: number;
  rssShmem: number;
  swap: number;
}

/**
 * Picks the few fields we need from /proc/PID/status without splitting the whole file: it is read for
 * every process on every sample. Kernel threads have no Rss lines and read as zero.
 */
export function parseStatus(pid: number, text: string): ProcessMemory {
  return {
    pid,
    ppid: numberField(text, '\nPPid:'),
    name: stringField(text, 'Name:'),
    rssAnon: numberField(text, '\nRssAnon:') * 1024,
    rssFile: numberField(text, '\nRssFile:') * 1024,
    rssShmem: numberField(text, '\nRssShmem:') * 1024,
    swap: numberField(text, '\nVmSwap:') * 1024,
  };
}

function fieldStart(text: string, key: string): number {
  if (key.startsWith('Name:')) return text.startsWith(key) ? key.length : -1;
  const at = text.indexOf(key);
  return at === -1 ? -1 : at + key.length;
}

function numberField(text: string, key: string): number {
  const start = fieldStart(text, key);
  if (start === -1) return 0;
  let value = 0;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) value = value * 10 + (code - 48);
    else if (code === 10) break;
  }
  return value;
}

function stringField(text: string, key: string): string {
  const start = fieldStart(text, key);
  if (start === -1) return '';
  const end = text.indexOf('\n', start);
  // status escapes nothing but a newline in the name would end the line early; names are short anyway.
  return text.slice(start, end === -1 ? undefined : end).trim();
}

/** /proc/PID/statm in bytes: resident = anon + file + shmem, shared = file + shmem. */
export interface ResidentMemory {
  resident: number;
  shared: number;
  /** Size of the program's text: it changes when the process execs another program. */
  text: number;
}

let pageSize: number | undefined;

/**
 * statm counts pages, and pages are 4 KiB on x86-64 but 16 or 64 KiB on some arm64 kernels. Node has no
 * call for it, so compare this process's VmRSS (kB) with its statm resident pages once.
 */
export function systemPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = 4096;
  try {
    const status = readKernelFile('/proc/self/status');
    const statm = readKernelFile('/proc/self/statm');
    const rssKiB = numberField(status, '\nVmRSS:');
    const pages = Number(statm.split(' ')[1]);
    if (rssKiB > 0 && pages > 0) {
      const ratio = (rssKiB * 1024) / pages;
      pageSize = [4096, 16384, 65536].reduce((best, size) =>
        Math.abs(size - ratio) < Math.abs(best - ratio) ? size : best,
      );
    }
  } catch {
    // not Linux, or /proc unreadable: keep the common size
  }
  return pageSize;
}

/**
 * Reads one process over and over through kept-open files; pid reuse cannot confuse it. statm is about
 * six times cheaper than status, so a sampler reads it every time and status only when it moved.
 */
export class ProcessReader {
  private readonly status: KeptOpenFile;
  private readonly statm: KeptOpenFile;

  constructor(
    readonly pid: number,
    host: HostPaths = realHost,
  ) {
    this.status = new KeptOpenFile(procPath(host, pid, 'status'));
    try {
      this.statm = new KeptOpenFile(procPath(host, pid, 'statm'));
    } catch (error) {
      this.status.close();
      throw error;
    }
  }

  /** Resident memory from statm, parsed from bytes; undefined once the process has exited. */
  readResident(): ResidentMemory | undefined {
    const bytes = this.statm.readBytes();
    if (bytes === undefined) return undefined;
    // "size resident shared text lib data dt", in pages.
    const page = systemPageSize();
    let field = 0;
    let value = 0;
    let resident = 0;
    let shared = 0;
    for (let i = 0; i <= bytes.length; i++) {
      const code = i < bytes.length ? (bytes[i] ?? 32) : 32;
      if (code >= 48 && code <= 57) {
        value = value * 10 + (code - 48);
        continue;
      }
      if (field === 1) resident = value;
      else if (field === 2) shared = value;
      else if (field === 3) return { resident: resident * page, shared: shared * page, text: value * page };
      field++;
      value = 0;
    }
    return { resident: resident * page, shared: shared * page, text: 0 };
  }

  /** undefined once the process has exited. */
  read(): ProcessMemory | undefined {
    const text = this.status.read();
    return text === undefined ? undefined : parseStatus(this.pid, text);
  }

  close(): void {
    this.status.close();
    this.statm.close();
  }
}

/** A command line is read in pieces of this size. */
const ARGV_CHUNK = 4096;

/** argv from /proc/PID/cmdline (NUL-separated); empty for kernel threads and zombies. */
export function readArgv(pid: number, host: HostPaths = realHost): string[] {
  try {
    return splitArgv(fs.readFileSync(procPath(host, pid, 'cmdline'), 'utf8'));
  } catch {
    return [];
  }
}

/**
 * readArgv off the event loop. Reading cmdline takes the process's memory map lock, and a process
 * caught in its cgroup's OOM can hold it for as long as the kill takes: a synchronous read there stops
 * the reader too. Empty when unreadable.
 */
export function readArgvAsync(pid: number, host: HostPaths = realHost): Promise<string[]> {
  // Not fs.promises, whose first use loads Node's promise-based fs (about 2 ms here, at the start of
  // every run), nor fs.readFile, which reads a /proc file (it has no size) through a 64 KiB buffer of its
  // own each time: a run that saw a hundred processes start kept a MiB more resident for it.
  return new Promise((resolve) => {
    fs.open(procPath(host, pid, 'cmdline'), 'r', (error, fd) => {
      if (error) return resolve([]);
      const chunks: Buffer[] = [];
      const next = (): void => {
        const buffer = Buffer.allocUnsafe(ARGV_CHUNK);
        fs.read(fd, buffer, 0, ARGV_CHUNK, null, (failed, length) => {
          if (!failed && length > 0) {
            chunks.push(buffer.subarray(0, length));
            // A command line is read whole, however long (the kernel gives a page at a time).
            return next();
          }
          fs.close(fd, () => undefined);
          resolve(failed ? [] : splitArgv(Buffer.concat(chunks).toString('utf8')));
        });
      };
      next();
    });
  });
}

function splitArgv(text: string): string[] {
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

export interface ProcessPss {
  pss: number;
  pssAnon: number;
  pssFile: number;
  pssShmem: number;
}

/**
 * PSS from smaps_rollup: walking every mapping costs about 10 µs per MiB of RSS, so callers read it on a
 * budget, never on every sample. undefined when unreadable (older kernel, other user, exited).
 */
export function readPss(pid: number, host: HostPaths = realHost): ProcessPss | undefined {
  let text: string;
  try {
    text = fs.readFileSync(procPath(host, pid, 'smaps_rollup'), 'latin1');
  } catch {
    return undefined;
  }
  return {
    pss: numberField(text, '\nPss:') * 1024,
    pssAnon: numberField(text, '\nPss_Anon:') * 1024,
    pssFile: numberField(text, '\nPss_File:') * 1024,
    pssShmem: numberField(text, '\nPss_Shmem:') * 1024,
  };
}

/**
 * Pids in a cgroup (cgroup.procs lists thread-group leaders, in both v1 and v2); empty once the cgroup is
 * gone. Read through a new descriptor each time: v1 serves cgroup.procs from a pid list built when a
 * descriptor first reads it and kept while reads come less than a second apart, so re-reading a kept
 * descriptor at sampling rate would never see a change.
 */
export function readCgroupPids(procsFile: string): number[] {
  const bytes = readProcsFile(procsFile);
  const pids: number[] = [];
  if (bytes === undefined) return pids;
  let value = 0;
  let inNumber = false;
  for (let i = 0; i < bytes.length; i++) {
    const code = bytes[i] as number;
    if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48);
      inNumber = true;
    } else if (inNumber) {
      pids.push(value);
      value = 0;
      inNumber = false;
    }
  }
  if (inNumber) pids.push(value);
  return pids;
}

let procsBuffer = Buffer.allocUnsafe(16 * 1024);

/** open, read into a reused buffer, close: without readFileSync's fstat and fresh buffer each tick. */
function readProcsFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENODEV') return undefined;
    throw kernelFileError(file, describeErrno(error), code);
  }
  try {
    let length = 0;
    for (;;) {
      const read = fs.readSync(fd, procsBuffer, length, procsBuffer.length - length, null);
      if (read === 0) return procsBuffer.subarray(0, length);
      length += read;
      if (length === procsBuffer.length) {
        const bigger = Buffer.allocUnsafe(procsBuffer.length * 2);
        procsBuffer.copy(bigger);
        procsBuffer = bigger;
      }
    }
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ESRCH') return undefined;
    throw kernelFileError(file, describeErrno(error), code);
  } finally {
    fs.closeSync(fd);
  }
}
