import type { ChildProcess } from 'node:child_process';
import { killCgroupProcesses } from '../kernel/index.js';
import { exitStatus } from './exit-status.js';
import { forwardSignals } from './forward-signals.js';
import type { Placement } from './placement.js';
import { resolveCommand } from './resolve-command.js';
import { type Sentinel, startSentinel } from './sentinel.js';
import { spawnJob, startFailure } from './spawn-job.js';

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
 * Starts the job in its placement: in a cgroup of its own it is there from its first instruction, so
 * not one of its pages is charged elsewhere (spawnJob). Rejects, with nothing left running, when it
 * cannot start.
 */
export async function startJob(options: JobOptions): Promise<Job> {
  const { placement, graceSeconds, command, env, cwd } = options;
  const program = options.program ?? resolveCommand(command, env, cwd);
  const child = spawnJob({ placement, command, program, args: options.args ?? [], env, cwd });
  // A signal that cannot be delivered (EPERM: the job became another user, as su does) is an 'error'
  // event of the child; unheard, it would end headroom.
  child.on('error', () => {});
  // Node's spawn returns once the exec has succeeded, with the pid; without one, the reason comes as an
  // 'error' on the next tick. Waiting for the 'spawn' event as well would hold the job's first sample
  // back by a turn of the event loop.
  const pid = child.pid;
  if (pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw startFailure({ command, program }, error);
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

function killJob(placement: Placement, child: ChildProcess): void {
  if (placement.mode !== 'own') {
    child.kill('SIGKILL');
    return;
  }
  killCgroupProcesses(placement.cgroup.dir);
}
