import { constants } from 'node:os';
import path from 'node:path';
import { HeadroomError, isHeadroomError } from '../errors.js';
import { errnoCode, readArgv } from '../kernel/index.js';
import {
  CAP_KILL,
  CAP_SYS_PTRACE,
  catchesSignal,
  hasCapability,
  mapsFileMatching,
  type ProcessStatus,
  readDumpable,
  readEnvironmentVariable,
  readExecutable,
  readNamespace,
  readProcessStatus,
} from '../kernel/process-identity.js';

/** A running Node process that headroom may attach to. */
export interface AttachTarget {
  pid: number;
  argv: string[];
  executable: string;
  /** NODE_OPTIONS it started with, when readable: its heap limit may be set there. */
  nodeOptions: string | null;
  /** It handles SIGUSR1, which is how Node opens its inspector on request. */
  opensInspectorOnSignal: boolean;
  /** Where its inspector would listen once opened by SIGUSR1: Node's default or its --inspect-port. */
  inspectorPort: number;
}

const DEFAULT_INSPECTOR_PORT = 9229;

/**
 * Checks that PID is a live Node process, in headroom's network namespace, that headroom may signal,
 * and says in one line why not. Nothing is sent to the process: a wrong guess here would kill a process
 * that does not handle SIGUSR1.
 */
export function checkAttachTarget(pid: number): AttachTarget {
  const status = fromKernel(pid, () => readProcessStatus(pid));
  if (status.state === 'Z')
    throw new HeadroomError('E_NO_SUCH_PROCESS', `pid ${pid} has exited (it is a zombie)`, { pid });
  if (status.tgid !== pid) {
    throw new HeadroomError(
      'E_ATTACH',
      `pid ${pid} is a thread of process ${status.tgid}: attach to ${status.tgid}`,
      {
        pid,
      },
    );
  }
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errnoCode(error) === 'EPERM') throw noPermission(pid, status, 'signal');
    throw new HeadroomError('E_NO_SUCH_PROCESS', `no process with pid ${pid}`, { pid });
  }
  let executable: string;
  try {
    executable = readExecutable(pid);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EACCES' || code === 'EPERM') throw noPermission(pid, status, 'inspect');
    // No executable: a kernel thread, or gone since.
    throw new HeadroomError(
      'E_NOT_NODE',
      `pid ${pid} is not a Node process (it runs no program of its own)`,
      { pid },
    );
  }
  if (!isNode(pid, executable)) {
    throw new HeadroomError('E_NOT_NODE', `pid ${pid} is not a Node process (it runs ${executable})`, {
      pid,
    });
  }
  const theirs = fromKernel(pid, () => readNamespace(pid, 'net'));
  if (theirs !== readNamespace('self', 'net')) {
    throw new HeadroomError(
      'E_ATTACH',
      `pid ${pid} is in another network namespace (a container?): its inspector listens where headroom ` +
        `cannot connect; run headroom in that namespace, e.g. nsenter -t ${pid} -n headroom attach ${pid}`,
      { pid },
    );
  }
  const argv = fromKernel(pid, () => readArgv(pid));
  const nodeOptions = readEnvironmentVariable(pid, 'NODE_OPTIONS') ?? null;
  return {
    pid,
    argv,
    executable,
    nodeOptions,
    opensInspectorOnSignal: catchesSignal(status, constants.signals.SIGUSR1),
    inspectorPort: inspectorPortOption([...argv.slice(1), ...(nodeOptions ?? '').split(/\s+/)]),
  };
}

/**
 * The program is Node: named so ("node", "nodejs", "node20"), or a binary linked against libnode (as
 * some distributions build it).
 */
function isNode(pid: number, executable: string): boolean {
  const name = path.basename(executable.replace(/ \(deleted\)$/, ''));
  if (/^node(js)?[-.\d]*$/i.test(name)) return true;
  try {
    return mapsFileMatching(pid, /\/libnode\.so/);
  } catch {
    return false;
  }
}

/**
 * The port Node's inspector takes when opened: --inspect-port, or the port of --inspect[-brk|-wait]
 * (given but not active, as with --inspect=0 and a later inspector.close()); else 9229. Only options
 * before the script count, but a script argument that looks like one is rare enough to ignore.
 */
export function inspectorPortOption(args: readonly string[]): number {
  let port = DEFAULT_INSPECTOR_PORT;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const match = /^--(?:inspect-port|debug-port|inspect(?:-brk|-wait)?)=(?:.*:)?(\d+)$/.exec(arg);
    if (match) port = Number(match[1]);
    else if (arg === '--inspect-port' && /^\d+$/.test(args[i + 1] ?? '')) port = Number(args[i + 1]);
  }
  return port;
}

function noPermission(pid: number, target: ProcessStatus, refused: 'signal' | 'inspect'): HeadroomError {
  return new HeadroomError(
    'E_NO_PERMISSION',
    `no permission to attach to pid ${pid}: ${whyRefused(pid, target, refused)}`,
    {
      pid,
    },
  );
}

/**
 * Why the kernel refuses headroom the process, as far as /proc shows, and what would help. To signal
 * it, headroom needs its user id or CAP_KILL. To inspect it (read its exe, maps and sockets) without
 * CAP_SYS_PTRACE, headroom needs its user and group ids, and it must be dumpable and hold no capability
 * headroom lacks. Refused beyond those rules, it is a security module's doing (Landlock, AppArmor,
 * SELinux) or a sandbox's.
 */
function whyRefused(pid: number, target: ProcessStatus, refused: 'signal' | 'inspect'): string {
  let self: ProcessStatus;
  try {
    self = readProcessStatus('self');
  } catch {
    return 'run headroom as its user or as root';
  }
  const euid = self.uids[1] ?? self.uid;
  const theirs = target.uids[1] ?? target.uid;
  const [needed, neededName] =
    refused === 'signal' ? [CAP_KILL, 'CAP_KILL'] : [CAP_SYS_PTRACE, 'CAP_SYS_PTRACE'];
  if (hasCapability(self.effectiveCaps, needed)) {
    return (
      `the kernel refuses it although headroom (uid ${euid}) has ${neededName}: a security module ` +
      '(Landlock, AppArmor, SELinux) or a sandbox headroom runs in forbids it'
    );
  }
  if (!sameIds(self, target, refused)) {
    return euid === 0
      ? `it runs as uid ${theirs}, headroom as root without ${neededName} (in a container?): grant headroom ${neededName}`
      : `it runs as uid ${theirs}, headroom as uid ${euid}: run headroom as the same user or as root`;
  }
  if (refused === 'signal') return 'the kernel refuses headroom to signal it: a security module or a sandbox';
  const remedy =
    euid === 0 ? 'grant headroom CAP_SYS_PTRACE (docker run --cap-add SYS_PTRACE)' : 'run headroom as root';
  if (readDumpable(pid, target) === false) {
    return (
      'it is not dumpable (it changed its user or group ids, runs a setuid or file-capability program, ' +
      `or called prctl(PR_SET_DUMPABLE, 0)), so only a process with CAP_SYS_PTRACE may inspect it: ${remedy}`
    );
  }
  if ((target.permittedCaps & ~self.effectiveCaps) !== 0n) {
    return `it holds capabilities headroom lacks, so only a process with CAP_SYS_PTRACE may inspect it: ${remedy}`;
  }
  return (
    'it is not dumpable or a security module forbids it (a process with CAP_SYS_PTRACE may inspect one ' +
    `that is not dumpable: ${remedy})`
  );
}

/** The ids the kernel compares when headroom has no capability that overrides them. */
function sameIds(self: ProcessStatus, target: ProcessStatus, refused: 'signal' | 'inspect'): boolean {
  const [real, effective, saved] = target.uids;
  if (refused === 'signal') {
    // kill(2): the sender's real or effective uid is the target's real or saved uid.
    return [self.uids[0], self.uids[1]].some((uid) => uid === real || uid === saved);
  }
  // ptrace access: headroom's filesystem ids are all of the target's real, effective and saved ids.
  const fsuid = self.uids[3];
  const fsgid = self.gids[3];
  return (
    [real, effective, saved].every((uid) => uid === fsuid) &&
    target.gids.slice(0, 3).every((gid) => gid === fsgid)
  );
}

/** Reads about the process, turning "gone" and "not allowed" into one-line errors. */
function fromKernel<T>(pid: number, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!isHeadroomError(error, 'E_KERNEL_FILE')) throw error;
    const { errno } = error.details;
    const details = { ...error.details, pid };
    if (errno === 'ENOENT' || errno === 'ESRCH')
      throw new HeadroomError('E_NO_SUCH_PROCESS', `no process with pid ${pid}`, details);
    if (errno === 'EACCES' || errno === 'EPERM') {
      throw new HeadroomError(
        'E_NO_PERMISSION',
        `no permission to read about pid ${pid}: ${error.message}`,
        details,
      );
    }
    throw new HeadroomError('E_ATTACH', `cannot read about pid ${pid}: ${error.message}`, details);
  }
}
