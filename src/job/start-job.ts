import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { HeadroomError } from '../errors.js';
import { joinCgroup, readCgroupPids } from '../kernel/index.js';
import { exitStatus } from './exit-status.js';
import { forwardSignals } from './forward-signals.js';
import type { Placement } from './placement.js';
import { resolveCommand } from './resolve-command.js';
import { type Sentinel, startSentinel } from './sentinel.js';

/** How long after the job's start its sentinel is started (at most; sooner when asked). */
export const SENTINEL_DELAY_MS = 100;

export interface JobOptions {
  placement: Placement;
  command: string;
  args?: readonly string[];
  /** The command as resolveCommand found it, when the caller resolved it already (before placing the job). */
  program?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Seconds between a stop signal and SIGKILL. */
  graceSeconds: number;
  /** Pass SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 that headroom receives on to the job (default true). */
  forwardSignals?: boolean;
  /**
   * Watch over the job should headroom die: the sentinel stops it and notes so in the capture. Started
   * `afterMs` in (at most SENTINEL_DELAY_MS); `onStart` is told its pid (it sits in an observed cgroup).
   */
  sentinel?: { capture: string; startMs: number; afterMs?: number; onStart?: (pid: number) => void };
}

export interface JobExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** As a shell reports it: the exit code, or 128+N for signal N. */
  status: number;
}

/** One running job: its process, in its placement, with signals forwarded and a sentinel beside it. */
export interface Job {
  pid: number;
  /** Resolves when the job's own process has exited (its descendants may live on: see killAll). */
  exited: Promise<JobExit>;
  /** A signal to the job's own process. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM to the job, then killAll after the grace period unless it has exited by then. */
  terminate(): void;
  /** SIGKILL for everything left: the job's whole cgroup when it has one, else the job itself. */
  killAll(): void;
  /** headroom finished normally: the sentinel leaves without touching anything. */
  release(): void;
}

/**
 * Starts the job in its placement: in a cgroup of its own it joins that cgroup before it executes, so
 * not one of its pages is charged elsewhere. Rejects, with nothing left running, when it cannot start.
 */
export async function startJob(options: JobOptions): Promise<Job> {
  const { placement, graceSeconds } = options;
  const program = options.program ?? resolveCommand(options.command, options.env, options.cwd);
  const child = spawnJob(options, program);
  // Node's spawn returns once the exec has succeeded, with the pid; without one, the reason comes as an
  // 'error' on the next tick. Waiting for the 'spawn' event as well would hold the job's first sample
  // back by a turn of the event loop.
  const pid = child.pid;
  if (pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new HeadroomError('E_JOB_START', `cannot start ${options.command}: ${messageOf(error)}`, {
      command: options.command,
    });
  }
  const killAll = (): void => killJob(placement, child);
  const stopForwarding =
    options.forwardSignals === false ? () => {} : forwardSignals(child, graceSeconds * 1000, killAll);

  // The sentinel starts one interval in, not at once: a second fork (with its pipe) costs a short job
  // several milliseconds of headroom's start, and a job that is over by then needs no watch. headroom
  // killed in that first interval leaves its cgroup to the next run's stale-cgroup sweep.
  let sentinel: Sentinel | undefined;
  const watch = options.sentinel;
  const sentinelTimer = watch
    ? setTimeout(
        () => {
          sentinel = startSentinel({
            cgroupDir: placement.mode === 'own' ? placement.cgroup.dir : null,
            leaf: placement.mode === 'own' ? placement.leaf : undefined,
            jobPid: pid,
            graceSeconds,
            capture: watch.capture,
            startMs: watch.startMs,
          });
          watch.onStart?.(sentinel.pid);
        },
        Math.min(watch.afterMs ?? SENTINEL_DELAY_MS, SENTINEL_DELAY_MS),
      )
    : undefined;

  let escalation: NodeJS.Timeout | undefined;
  const exited = new Promise<JobExit>((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(sentinelTimer);
      clearTimeout(escalation);
      stopForwarding();
      resolve({ code, signal, status: exitStatus(code, signal) });
    });
  });
  return {
    pid,
    exited,
    signal: (signal) => {
      child.kill(signal);
    },
    terminate() {
      child.kill('SIGTERM');
      escalation ??= setTimeout(killAll, graceSeconds * 1000);
    },
    killAll,
    release() {
      sentinel?.release();
    },
  };
}

function spawnJob(options: JobOptions, program: string): ChildProcess {
  const { placement, env, cwd } = options;
  const spawnIt = (): ChildProcess =>
    spawn(program, options.args ?? [], { stdio: 'inherit', env, cwd, argv0: options.command });
  if (placement.mode === 'observe') return spawnIt();
  // The job is born in its cgroup, so not one of its pages, nor its kernel structures, is charged
  // elsewhere: headroom steps into the cgroup for the fork and straight back out. A shell that joined
  // before exec cost every start a second exec (about 2 ms). What headroom allocates while inside is
  // charged there: the fork's copy of its page tables, freed at the exec, and the few pages the spawn
  // call first touches (about 80 KiB measured, less than the kernel's own per-CPU charge batch of
  // 256 KiB), far below the least limit run takes (6 MiB).
  const failed = (step: string, error: unknown): HeadroomError =>
    new HeadroomError('E_JOB_START', `cannot start ${options.command}: ${step}: ${messageOf(error)}`, {
      command: options.command,
    });
  try {
    joinCgroup(placement.cgroup.dir);
  } catch (error) {
    throw failed("cannot enter the job's cgroup", error);
  }
  let child: ChildProcess | undefined;
  let spawnError: unknown;
  try {
    child = spawnIt();
  } catch (error) {
    spawnError = error;
  }
  try {
    joinCgroup(placement.home);
  } catch (error) {
    // Left inside, headroom's own memory would count against the job's limit for the whole run.
    child?.kill('SIGKILL');
    throw failed("cannot leave the job's cgroup after starting it", error);
  }
  if (!child) throw spawnError;
  return child;
}

function killJob(placement: Placement, child: ChildProcess): void {
  if (placement.mode !== 'own') {
    child.kill('SIGKILL');
    return;
  }
  // A few rounds: a process may fork between the listing and the kill.
  for (let round = 0; round < 5; round++) {
    const pids = readCgroupPids(path.join(placement.cgroup.dir, 'cgroup.procs'));
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
