import fs from 'node:fs';
import path from 'node:path';
import { HeadroomError, isHeadroomError, messageOf } from '../errors.js';
import { guardPart, watchdogPart } from '../guard/guard-parts.js';
import { type GuardOptions, prepareGuard } from '../guard/job-guard.js';
import { cleanStaleCgroups, type Placement, placeJob, releasePlacement } from '../job/placement.js';
import { resolveCommand } from '../job/resolve-command.js';
import { type Job, startJob } from '../job/start-job.js';
import {
  type ChildLimits,
  describeErrno,
  effectiveLimit,
  type HostPaths,
  readHostMemory,
  systemErrorDetails,
  USAGE_FILE,
  withSwapDefault,
} from '../kernel/index.js';
import { type PythonProfiler, profileEnv } from '../profile/profile-env.js';
import { SpoolCollector } from '../profile/spool-collector.js';
import { spoolPart } from '../profile/spool-part.js';
import { captureHome } from '../record/capture-home.js';
import type { Capture } from '../record/capture-reader.js';
import type { SamplerState } from '../record/sampler.js';
import { liveStatusPart } from '../report/live-status-part.js';
import { captureHeader } from '../session/capture-header.js';
import { defaultCapturePath, namedCapturePath } from '../session/capture-path.js';
import { CaptureSession } from '../session/capture-session.js';
import { stopWhenPart } from './stop-when-part.js';

/** `memory` and `memorySwap` (ChildLimits) are the job's own cgroup's; swap defaults as docker's does. */
export interface RunOptions extends ChildLimits {
  command: string;
  args?: string[];
  intervalMs?: number;
  /** Capture file; by default a new file under `home`. */
  output?: string;
  /** Where captures go by default: $HEADROOM_HOME, else .headroom/ in the working directory. */
  home?: string;
  component?: string;
  /** Observe the cgroup headroom runs in instead of making one for the job. */
  observe?: boolean;
  /** Seconds between a forwarded stop signal and SIGKILL. */
  graceSeconds?: number;
  /** Where headroom's own messages go (the job keeps its own stdout and stderr). */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  quiet?: boolean;
  /** A status line on the terminal's last row while the job runs; default: when stderr is a terminal. */
  live?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where /proc and /sys are for finding headroom's own cgroup (the root by default): a fixture tree in
   * tests, as HEADROOM_SYSROOT gives the CLI.
   */
  host?: HostPaths;
  /** Profile the allocations of the job's Node and Python processes into the capture. */
  profile?: { python: PythonProfiler };
  /**
   * Without `output`: the capture's name under `home` without extension ("scheduler_memory"); an existing
   * file is never overwritten, a number is added instead.
   */
  profileFile?: string;
  /** Runtime knobs from the limit; on unless `{ knobs: false }`. */
  guard?: GuardOptions;
  /**
   * Asked after every sample: a reason (in words) to stop the job gracefully (SIGTERM, then SIGKILL after
   * the grace period), recorded in the capture; undefined to let it run. For `headroom supervise`.
   */
  stopWhen?: (state: SamplerState) => string | undefined;
  /** Called once the job has started and is being sampled. */
  onJobStart?: () => void;
  /** Called once the job has exited, before headroom reads the capture back. */
  onJobExit?: (status: number) => void;
}

export interface RunResult {
  /** The capture as read back after the job; null when nothing readable was left (a full disk). */
  recorded: Capture | null;
  /** Why stopWhen stopped the job, when it did. */
  stoppedBecause: string | null;
  /** What headroom exits with: the job's status, 128+N for signal N. */
  status: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  capture: string;
  placement: Placement['mode'];
}

/**
 * Runs a command in a memory cgroup of its own (or observes the one headroom is in) and records the
 * cgroup and every process of the job into a capture, read back when the job ends.
 */
export async function run(options: RunOptions): Promise<RunResult> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const stderr = options.stderr ?? process.stderr;
  const say = (line: string): void => {
    if (!options.quiet) stderr.write(`headroom: ${line}\n`);
  };
  // headroom's own trouble is told even under --quiet: the user must know the record is missing.
  const warn = (line: string): void => {
    stderr.write(`headroom: warning: ${line}\n`);
  };
  const intervalMs = options.intervalMs ?? 100;
  const graceSeconds = options.graceSeconds ?? 10;
  const program = resolveCommand(options.command, env, cwd);

  const requested = withSwapDefault(options);
  const placement = placeJob({
    ...requested,
    observe: options.observe ?? false,
    ...(options.component ? { component: options.component } : {}),
    ...(options.host ? { host: options.host } : {}),
  });
  for (const note of cleanStaleCgroups(placement.parent)) say(note);
  if (placement.mode === 'own' && placement.leaf) {
    say(
      `moved ${placement.leaf.moved} process(es) of ${placement.parent.path} into ${path.basename(placement.leaf.leafDir)} ` +
        "so that the job's cgroup can sit beside it with the memory controller on (cgroup v2 allows no processes in a cgroup that hands controllers to children); they move back at the end",
    );
  }
  if (placement.mode === 'observe') {
    say(
      `observing the cgroup headroom runs in (${placement.cgroup.path}), not one of the job's own: ${placement.reason}. ` +
        "Its figures include every process in that cgroup; headroom's own memory is left out.",
    );
  }

  const startMs = Date.now();
  let session: CaptureSession | undefined;
  let capture: string;
  let jobEnv: NodeJS.ProcessEnv;
  let limit: number | null;
  let profiler: SpoolCollector | undefined;
  let stopPolicy: ReturnType<typeof stopWhenPart> | undefined;
  // Made once the capture is open; the parts that act on the job are only started after that.
  let job: Job | undefined;
  try {
    const home = captureHome(options.home, env, cwd);
    capture = options.output
      ? path.resolve(cwd, options.output)
      : options.profileFile
        ? namedCapturePath(home, options.profileFile, say)
        : defaultCapturePath({ home, component: options.component, command: options.command, startMs });
    const header = captureHeader({
      placement,
      limit: effectiveLimit(placement.cgroup),
      hostMemory: readHostMemory(),
      command: [options.command, ...(options.args ?? [])],
      component: options.component ?? null,
      requested,
      startMs,
      intervalMs,
      nodeOptions: env.NODE_OPTIONS ?? null,
    });
    // The one reading of the limit: the header, the guard's knobs and the watchdog all take it.
    limit = header.limit.bytes;
    if (options.profile) header.profiling = { python: options.profile.python };
    session = new CaptureSession({
      file: capture,
      header,
      replace: options.output !== undefined,
      cgroup: placement.cgroup,
      // headroom itself, and its sentinel once started, are in the cgroup in observe mode but not the job.
      recordSelf: placement.mode === 'observe',
      say,
      warn,
    });
    const { writer } = session;
    const guard = prepareGuard(options.guard, limit, env, header.command);
    guard.announce(writer, say);
    jobEnv = guard.env;
    if (options.profile) {
      profiler = new SpoolCollector(writer, path.dirname(capture));
      jobEnv = profileEnv(guard.env, {
        dir: profiler.dir,
        startMs,
        python: options.profile.python,
        usageFile: path.join(placement.cgroup.dir, USAGE_FILE[placement.cgroup.version]),
        limit,
      });
      say(
        `profiling allocations: Node processes with V8's sampling heap profiler, Python processes with ${
          options.profile.python === 'growth' ? 'the growth sampler' : 'tracemalloc'
        }`,
      );
    }
    // The watchdog first: once the job has ended, no guard may leave the OOM killer off or a limit changed.
    if (options.guard?.watch) {
      const { watch } = options.guard;
      session.add(
        watchdogPart(
          {
            cgroup: placement.cgroup,
            limit,
            own: placement.mode === 'own',
            onLimit: watch.onLimit,
            threshold: watch.threshold ?? 0.95,
            graceMs: graceSeconds * 1000,
            writer,
            startMs,
            terminate: () => job?.signal('SIGTERM'),
            kill: () => job?.killAll(),
            requestProfile: () => profiler?.requestSnapshot(),
            argvOf: (pid) => session?.sampler.argvOf(pid),
          },
          say,
        ),
      );
    }
    const live = options.live ?? (stderr.isTTY === true && !options.quiet);
    if (live && 'rows' in stderr) session.add(liveStatusPart(stderr as NodeJS.WriteStream, session));
    if (options.stopWhen) {
      stopPolicy = stopWhenPart(options.stopWhen, () => job?.terminate(), writer);
      session.add(stopPolicy);
    }
    if (profiler) session.add(spoolPart(profiler, intervalMs, say));
    session.add(guardPart(guard, writer, startMs));
  } catch (error) {
    // Nothing ran: leave no half-made capture and no cgroup behind.
    session?.abandon();
    releasePlacement(placement);
    if (isHeadroomError(error, 'E_KERNEL_FILE'))
      throw new HeadroomError(
        'E_KERNEL_FILE',
        `cannot sample the job's cgroup: ${error.message}`,
        error.details,
      );
    if (error instanceof HeadroomError) throw error;
    throw new HeadroomError(
      'E_CAPTURE_WRITE',
      `cannot write the capture: ${describeFileError(error)}`,
      systemErrorDetails(error),
    );
  }

  try {
    job = await startJob({
      placement,
      command: options.command,
      program,
      args: options.args ?? [],
      env: jobEnv,
      cwd,
      graceSeconds,
      sentinel: { capture, startMs, afterMs: intervalMs, onStart: (pid) => session.exclude(pid) },
    });
  } catch (error) {
    session.abandon({ keepCapture: true });
    releasePlacement(placement);
    throw error;
  }
  session.start();
  options.onJobStart?.();

  const exit = await job.exited;
  session.stop();
  options.onJobExit?.(exit.status);
  if (placement.mode === 'own') job.killAll();
  session.end({ exitCode: exit.code, signal: exit.signal, status: exit.status });
  job.release();
  const unreleased = releasePlacement(placement);
  if (unreleased) say(unreleased);

  // From here on nothing may change the job's status: headroom's own trouble is a warning.
  const recorded = await session.readBack();
  return {
    status: exit.status,
    exitCode: exit.code,
    signal: exit.signal,
    capture,
    recorded,
    placement: placement.mode,
    stoppedBecause: stopPolicy?.reason() ?? null,
  };
}

/** "ENOENT: no such file or directory, open '/x'" -> "/x: no such file or directory". */
function describeFileError(error: unknown): string {
  const { path: file, code } = error as NodeJS.ErrnoException;
  if (typeof file === 'string' && code === 'ENOENT' && !fs.existsSync(path.dirname(file))) {
    return `${path.dirname(file)}: no such directory`;
  }
  if (typeof file === 'string' && code) return `${file}: ${describeErrno(error)}`;
  return messageOf(error);
}
