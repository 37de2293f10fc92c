import fs from 'node:fs';
import { errnoCode, KernelFileError } from './errors.js';
import { type HostPaths, procPath, realHost } from './host-paths.js';
import { describeErrno, KeptOpenFile } from './read-file.js';

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

/** Reads one process over and over through a kept-open status file; pid reuse cannot confuse it. */
export class ProcessReader {
  private readonly status: KeptOpenFile;

  constructor(
    readonly pid: number,
    private readonly host: HostPaths = realHost,
  ) {
    this.status = new KeptOpenFile(procPath(host, pid, 'status'));
  }

  /** undefined once the process has exited. */
  read(): ProcessMemory | undefined {
    const text = this.status.read();
    return text === undefined ? undefined : parseStatus(this.pid, text);
  }

  argv(): string[] {
    return readArgv(this.pid, this.host);
  }

  close(): void {
    this.status.close();
  }
}

/** argv from /proc/PID/cmdline (NUL-separated); empty for kernel threads and zombies. */
export function readArgv(pid: number, host: HostPaths = realHost): string[] {
  try {
    const text = fs.readFileSync(procPath(host, pid, 'cmdline'), 'utf8');
    const parts = text.split('\0');
    if (parts.at(-1) === '') parts.pop();
    return parts;
  } catch {
    return [];
  }
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
 * Pids in a cgroup (cgroup.procs lists thread-group leaders, in both v1 and v2), from a kept file or the
 * file's path; empty once the cgroup is gone.
 */
export function readCgroupPids(procsFile: KeptOpenFile | string): number[] {
  // v1 serves cgroup.procs from a pid list built when a descriptor first reads it and kept while reads
  // come less than a second apart, so re-reading a kept descriptor at sampling rate never sees a change.
  const text = typeof procsFile === 'string' ? readProcsFile(procsFile) : procsFile.readFresh();
  if (text === undefined) return [];
  const pids: number[] = [];
  let value = 0;
  let inNumber = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
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

function readProcsFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENODEV') return undefined;
    throw new KernelFileError(file, describeErrno(error), code);
  }
}
