import { type ChildProcess, spawn } from 'node:child_process';
import { HeadroomError, messageOf } from '../errors.js';
import {
  cgroupHoldingSelf,
  describeErrno,
  errnoCode,
  fileIn,
  joinCgroup,
  killCgroupProcesses,
  LEAF_NAME,
  type MemoryCgroup,
  readOwnLimit,
} from '../kernel/index.js';
import type { Placement } from './placement.js';

export interface SpawnRequest {
  placement: Placement;
  /** The command as the user gave it: the job's argv[0], and its name in messages. */
  command: string;
  /** The file to execute (resolveCommand). */
  program: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** exec errors that mean the file was found and cannot be run: 126, as a shell answers. */
const CANNOT_EXECUTE = new Set(['EACCES', 'ENOEXEC', 'ETXTBSY', 'EPERM', 'EISDIR', 'ELOOP']);
/** Words for what errno-words leaves to the system's description, as an exec meets it. */
const EXEC_WORDS = {
  // The file is there (resolveCommand found it): its #! interpreter or its ELF loader is not.
  ENOENT: 'required file not found',
  ENOEXEC: 'not an executable format',
  ETXTBSY: 'text file busy',
  ELOOP: 'too many levels of symbolic links',
  E2BIG: 'argument list too long',
};

/**
 * Starts the job's process in its placement, in a cgroup of its own from its first instruction. Its
 * pid is undefined when the exec failed, the reason following as an 'error' event (startFailure words
 * it). Throws a HeadroomError when it could not be started at all.
 */
export function spawnJob(request: SpawnRequest): ChildProcess {
  const { placement } = request;
  if (placement.mode === 'observe') return spawnDirect(request);
  const home = stepInHome(placement.cgroup, placement.parent);
  return home === null ? spawnJoining(request, placement.cgroup) : spawnBornIn(request, placement, home);
}

/**
 * The error a failed exec gives, as a shell would answer it: 127 when a file it needs is missing, 126
 * when the job's file cannot be run, headroom's own 125 otherwise (the shell that joins could not run).
 */
export function startFailure(
  request: Pick<SpawnRequest, 'command' | 'program'>,
  error: unknown,
): HeadroomError {
  const { command, program } = request;
  const code = errnoCode(error);
  const words = describeErrno(error, EXEC_WORDS);
  const file = (error as NodeJS.ErrnoException).path ?? program;
  if (file === program && code === 'ENOENT')
    return new HeadroomError('E_COMMAND_NOT_FOUND', `${command}: cannot execute: ${words}`, { command });
  if (file === program && code !== undefined && CANNOT_EXECUTE.has(code))
    return new HeadroomError('E_NOT_EXECUTABLE', `${command}: cannot execute: ${words}`, { command });
  return new HeadroomError('E_JOB_START', `cannot start ${command}: ${file}: ${words}`, { command });
}

function spawnDirect(request: SpawnRequest): ChildProcess {
  const { program, args, env, cwd, command } = request;
  try {
    return spawn(program, args, { stdio: 'inherit', env, cwd, argv0: command });
  } catch (error) {
    // ETXTBSY, E2BIG and the like are thrown at once; EACCES and ENOENT come as an 'error' event.
    throw startFailure(request, error);
  }
}

/**
 * Where headroom steps back to once the job is born in its cgroup, or null when it must not step in.
 * Only into a cgroup without a limit of its own: an OOM kill there while headroom is inside would rank
 * by whole resident size and pick headroom over a job that has only just begun. headroom is in its own
 * cgroup or, on v2, in the leaf beside the job's, where it or another headroom in the same cgroup moved
 * it; read now, not when the job was placed, as that other headroom may move it in between.
 */
function stepInHome(cgroup: MemoryCgroup, parent: MemoryCgroup): string | null {
  try {
    // A limit file that cannot be read is no proof of no limit.
    if (readOwnLimit(cgroup) !== null) return null;
  } catch {
    return null;
  }
  return cgroupHoldingSelf(homes(parent));
}

function homes(parent: MemoryCgroup): string[] {
  return [fileIn(parent.dir, LEAF_NAME), parent.dir];
}

/**
 * headroom steps into the job's cgroup for the fork and straight back out, so that the job, its kernel
 * structures included, is charged there from birth, without a shell that joins before exec (a second
 * exec at every start, about 2 ms). While inside, what headroom allocates is charged there too: the
 * fork's copy of its page tables, freed at the exec, and the few pages the spawn first touches (about
 * 80 KiB measured, less than the kernel's own per-CPU charge batch of 256 KiB).
 */
function spawnBornIn(
  request: SpawnRequest,
  placement: Extract<Placement, { mode: 'own' }>,
  home: string,
): ChildProcess {
  const failed = (step: string, error: unknown): HeadroomError =>
    new HeadroomError('E_JOB_START', `cannot start ${request.command}: ${step}: ${messageOf(error)}`, {
      command: request.command,
    });
  try {
    joinCgroup(placement.cgroup.dir);
  } catch (error) {
    throw failed("cannot enter the job's cgroup", error);
  }
  let child: ChildProcess | undefined;
  let spawnError: unknown;
  try {
    child = spawnDirect(request);
  } catch (error) {
    spawnError = error;
  }
  // Home first; failing that, the leaf another headroom moved home's processes into meanwhile (home then
  // has the memory controller on for its children, and v2 lets no process back in).
  let leaveError: unknown;
  for (const dir of new Set([home, ...homes(placement.parent)])) {
    try {
      joinCgroup(dir);
      leaveError = undefined;
      break;
    } catch (error) {
      leaveError ??= error;
    }
  }
  if (leaveError !== undefined) {
    // Left inside, headroom's own memory would count against the job's for the whole run: the job goes,
    // and whatever it forked meanwhile.
    killCgroupProcesses(placement.cgroup.dir, process.pid);
    throw failed("cannot leave the job's cgroup after starting it (headroom stays in it)", leaveError);
  }
  if (!child) throw spawnError;
  return child;
}

/** A shell joins the job's cgroup, then executes the job; 125 when it cannot join, as docker run's. */
function spawnJoining(request: SpawnRequest, cgroup: MemoryCgroup): ChildProcess {
  const procs = fileIn(cgroup.dir, 'cgroup.procs');
  const script = `echo $$ > "$0" || exit 125; exec "$@"`;
  const { program, args, env, cwd } = request;
  try {
    return spawn('/bin/sh', ['-c', script, procs, program, ...args], { stdio: 'inherit', env, cwd });
  } catch (error) {
    throw startFailure(request, error);
  }
}
