import fs from 'node:fs';
import { errnoCode, kernelFileError } from './errors.js';
import { type HostPaths, procPath, realHost } from './host-paths.js';
import { describeErrno, readKernelFile } from './read-file.js';

/** What /proc/PID/status says about who a process is and how it takes signals. */
export interface ProcessStatus {
  name: string;
  /** R, S, D, Z (zombie), T, ... */
  state: string;
  /** The process a thread belongs to; equal to the pid for a process. */
  tgid: number;
  /** Real user id. */
  uid: number;
  /** Real, effective, saved and filesystem user ids. */
  uids: readonly number[];
  /** Real, effective, saved and filesystem group ids. */
  gids: readonly number[];
  /** SigCgt: bit N-1 set when signal N has a handler. */
  caughtSignals: bigint;
  /** CapPrm and CapEff: bit N set when the process holds capability N (0 when not shown). */
  permittedCaps: bigint;
  effectiveCaps: bigint;
}

/** Capability numbers (linux/capability.h). */
export const CAP_KILL = 5;
export const CAP_SYS_PTRACE = 19;

export function parseProcessStatus(text: string, file: string): ProcessStatus {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const tgid = Number(fields.get('Tgid'));
  const uids = ids(fields.get('Uid'));
  const sigCgt = fields.get('SigCgt');
  if (!Number.isInteger(tgid) || uids.length === 0 || !sigCgt || !/^[0-9a-f]+$/i.test(sigCgt)) {
    throw kernelFileError(file, 'no Tgid, Uid or SigCgt line');
  }
  return {
    name: fields.get('Name') ?? '',
    state: (fields.get('State') ?? '?').charAt(0),
    tgid,
    uid: uids[0] as number,
    uids,
    gids: ids(fields.get('Gid')),
    caughtSignals: BigInt(`0x${sigCgt}`),
    permittedCaps: capabilities(fields.get('CapPrm')),
    effectiveCaps: capabilities(fields.get('CapEff')),
  };
}

function ids(text: string | undefined): number[] {
  const values = (text ?? '').split(/\s+/).filter(Boolean).map(Number);
  return values.every((value) => Number.isInteger(value)) ? values : [];
}

function capabilities(text: string | undefined): bigint {
  return text && /^[0-9a-f]+$/i.test(text) ? BigInt(`0x${text}`) : 0n;
}

export function readProcessStatus(pid: number | 'self', host: HostPaths = realHost): ProcessStatus {
  const file = procPath(host, pid, 'status');
  return parseProcessStatus(readKernelFile(file), file);
}

/** Whether the process handles signal `signal` (a number) rather than taking its default action. */
export function catchesSignal(status: ProcessStatus, signal: number): boolean {
  return ((status.caughtSignals >> BigInt(signal - 1)) & 1n) === 1n;
}

export function hasCapability(caps: bigint, capability: number): boolean {
  return ((caps >> BigInt(capability)) & 1n) === 1n;
}

/**
 * Whether the process is dumpable, which another process of its user needs to inspect it (read its exe,
 * maps or fds) without CAP_SYS_PTRACE. The kernel shows a non-dumpable process's private /proc files as
 * root's: undefined when the process runs as root anyway, or is gone.
 */
export function readDumpable(
  pid: number,
  status: ProcessStatus,
  host: HostPaths = realHost,
): boolean | undefined {
  const euid = status.uids[1] ?? status.uid;
  if (euid === 0) return undefined;
  try {
    return fs.statSync(procPath(host, pid, 'environ')).uid === euid;
  } catch {
    return undefined;
  }
}

/** The pid exists, zombie or not, whoever owns it (signal 0 only checks). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/** The program the process runs (/proc/PID/exe); reading it takes the rights to inspect the process. */
export function readExecutable(pid: number, host: HostPaths = realHost): string {
  return readLink(procPath(host, pid, 'exe'));
}

/**
 * The namespace of a kind a process is in, as "net:[4026531840]": two processes are in the same one
 * when these are equal.
 */
export function readNamespace(pid: number | 'self', kind: 'net' | 'mnt', host: HostPaths = realHost): string {
  return readLink(procPath(host, pid, `ns/${kind}`));
}

/** Whether any file the process has mapped (its binary and shared libraries) has a name matching. */
export function mapsFileMatching(pid: number, pattern: RegExp, host: HostPaths = realHost): boolean {
  const text = readKernelFile(procPath(host, pid, 'maps'));
  for (const line of text.split('\n')) {
    const slash = line.indexOf('/');
    if (slash >= 0 && pattern.test(line.slice(slash))) return true;
  }
  return false;
}

/** One variable of the environment the process started with, or undefined (unset or unreadable). */
export function readEnvironmentVariable(
  pid: number,
  name: string,
  host: HostPaths = realHost,
): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(procPath(host, pid, 'environ'), 'utf8');
  } catch {
    return undefined;
  }
  const prefix = `${name}=`;
  for (const entry of text.split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}

function readLink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch (error) {
    throw kernelFileError(file, describeErrno(error), errnoCode(error));
  }
}
