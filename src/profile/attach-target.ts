import { constants } from 'node:os';
import path from 'node:path';
import { errnoCode, KernelFileError, readArgv } from '../kernel/index.js';
import {
  catchesSignal,
  mapsFileMatching,
  readEnvironmentVariable,
  readExecutable,
  readNamespace,
  readProcessStatus,
} from '../kernel/process-identity.js';
import { HeadroomError } from '../run/errors.js';

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
  if (status.state === 'Z') throw new HeadroomError(`pid ${pid} has exited (it is a zombie)`);
  if (status.tgid !== pid) {
    throw new HeadroomError(`pid ${pid} is a thread of process ${status.tgid}: attach to ${status.tgid}`);
  }
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errnoCode(error) === 'EPERM') throw noPermission(pid, status.uid);
    throw new HeadroomError(`no process with pid ${pid}`);
  }
  let executable: string;
  try {
    executable = readExecutable(pid);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EACCES' || code === 'EPERM') throw noPermission(pid, status.uid);
    // No executable: a kernel thread, or gone since.
    throw new HeadroomError(`pid ${pid} is not a Node process (it runs no program of its own)`);
  }
  if (!isNode(pid, executable)) {
    throw new HeadroomError(`pid ${pid} is not a Node process (it runs ${executable})`);
  }
  const theirs = fromKernel(pid, () => readNamespace(pid, 'net'));
  if (theirs !== readNamespace('self', 'net')) {
    throw new HeadroomError(
      `pid ${pid} is in another network namespace (a container?): its inspector listens where headroom ` +
        `cannot connect; run headroom in that namespace, e.g. nsenter -t ${pid} -n headroom attach ${pid}`,
    );
  }
  const argv = readArgv(pid);
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

function noPermission(pid: number, uid: number): HeadroomError {
  const mine = process.getuid?.();
  return new HeadroomError(
    `no permission to attach to pid ${pid} (it runs as uid ${uid}, headroom as uid ${mine ?? '?'}): ` +
      'run headroom as the same user or as root',
  );
}

/** Reads about the process, turning "gone" and "not allowed" into one-line errors. */
function fromKernel<T>(pid: number, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof KernelFileError)) throw error;
    if (error.code === 'ENOENT' || error.code === 'ESRCH')
      throw new HeadroomError(`no process with pid ${pid}`);
    if (error.code === 'EACCES' || error.code === 'EPERM') {
      throw new HeadroomError(`no permission to read about pid ${pid}: ${error.message}`);
    }
    throw new HeadroomError(`cannot read about pid ${pid}: ${error.message}`);
  }
}
