import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Summary } from '../analyze/summarize.js';
import { HeadroomError, isHeadroomError } from '../errors.js';
import { formatBytes, formatDuration } from '../format.js';
import { type GuardOptions, type JobGuard, prepareGuard } from '../guard/job-guard.js';
import { Watchdog } from '../guard/watchdog.js';
import {
  type ChildLimits,
  describeErrno,
  effectiveLimit,
  readCgroupPids,
  readHostMemory,
  systemErrorDetails,
  USAGE_FILE,
  withSwapDefault,
} from '../kernel/index.js';
import { type PythonProfiler, profileEnv } from '../profile/profile-env.js';
import { SpoolCollector } from '../profile/spool-collector.js';
import { captureHome } from '../record/capture-home.js';
import type { Capture } from '../record/capture-reader.js';
import { CaptureWriter } from '../record/capture-writer.js';
import { Sampler, type SamplerState } from '../record/sampler.js';
import { LiveStatus } from '../report/live-status.js';
import { captureHeader } from './capture-header.js';
import { defaultCapturePath, namedCapturePath } from './capture-path.js';
import { exitStatus } from './exit-status.js';
import { forwardSignals } from './forward-signals.js';
import { cleanStaleCgroups, type Placement, placeJob, releasePlacement } from './placement.js';
import { resolveCommand } from './resolve-command.js';
import { type Sentinel, startSentinel } from './sentinel.js';

/** How long after the job's start its sentinel is started (at most; sooner when the interval is). */
const SENTINEL_DELAY_MS = 100;

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
  /** Called once the job has exited, before headroom reads the capture back for the summary. */
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
  /** Null when the capture could not be read back: the job's status stands all the same. */
  summary: Summary | null;
}

/**
 * Runs a command in a memory cgroup of its own (or observes the one headroom is in), records the
 * cgroup and every process of the job into a capture, and summarizes it when the job ends.
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
  let writer: CaptureWriter | undefined;
  let capture: string;
  let sampler: Sampler;
  let guard: JobGuard;
  let profiler: SpoolCollector | undefined;
  let jobEnv: NodeJS.ProcessEnv;
  let limit: number | null;
  // headroom itself, and its sentinel once started, are in the cgroup in observe mode but not the job.
  const excludePids = new Set([process.pid]);
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
      requested: { memory: requested.memory ?? null, memorySwap: requested.memorySwap },
      startMs,
      intervalMs,
      nodeOptions: env.NODE_OPTIONS ?? null,
    });
    limit = header.limit.bytes;
    if (options.profile) header.profiling = { python: options.profile.python };
    if (options.output) fs.rmSync(capture, { force: true });
    writer = new CaptureWriter(capture, header);
    if (writer.failure !== null)
      warn(`cannot write the capture ${capture} (${writer.failure}); the job runs unrecorded`);
    guard = prepareGuard(options.guard, header.limit.bytes, env, header.command);
    guard.announce(writer, say);
    jobEnv = guard.env;
    if (options.profile) {
      profiler = new SpoolCollector(writer, path.dirname(capture));
      jobEnv = profileEnv(guard.env, {
        dir: profiler.dir,
        startMs,
        python: options.profile.python,
        usageFile: path.join(placement.cgroup.dir, USAGE_FILE[placement.cgroup.version]),
        limit: header.limit.bytes,
      });
      say(
        `profiling allocations: Node processes with V8's sampling heap profiler, Python processes with ${
          options.profile.python === 'growth' ? 'the growth sampler' : 'tracemalloc'
        }`,
      );
    }
    // Opened before the job starts: a cgroup that cannot be sampled must stop headroom before the job
    // runs, not leave the job running unobserved.
    sampler = new Sampler({
      cgroup: placement.cgroup,
      writer,
      startMs,
      excludePids,
      recordSelf: placement.mode === 'observe',
      intervalMs,
    });
  } catch (error) {
    // Nothing ran: leave no half-made capture and no cgroup behind.
    profiler?.close();
    if (writer) {
      writer.close();
      fs.rmSync(writer.file, { force: true });
    }
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

  const child = spawnJob(placement, program, options, jobEnv, cwd);
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawned || child.pid === undefined) {
    profiler?.close();
    writer.close();
    guard.discard();
    releasePlacement(placement);
    throw new HeadroomError('E_JOB_START', `cannot start ${options.command}: ${messageOf(spawned)}`, {
      command: options.command,
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  // The sentinel starts one interval in, not at once: a second fork (with its pipe) costs a short job
  // several milliseconds of headroom's start, and a job that is over by then needs no watch. headroom
  // killed in that first interval leaves its cgroup to the next run's stale-cgroup sweep.
  let sentinel: Sentinel | undefined;
  const sentinelTimer = setTimeout(
    () => {
      sentinel = startSentinel({
        cgroupDir: placement.mode === 'own' ? placement.cgroup.dir : null,
        leaf: placement.mode === 'own' ? placement.leaf : undefined,
        jobPid: child.pid ?? -1,
        graceSeconds,
        capture,
        startMs,
      });
      excludePids.add(sentinel.pid);
    },
    Math.min(intervalMs, SENTINEL_DELAY_MS),
  );
  let stoppedBecause: string | null = null;
  let stopTimer: NodeJS.Timeout | undefined;
  const sample = ticker(sampler, say);
  // Profiles are copied about twice a second: a spool file outlives its process, so nothing is lost
  // between copies, and the capture's flush rhythm stays the sampler's.
  const collectEvery = Math.max(1, Math.round(500 / intervalMs));
  let ticks = 0;
  let toldFailure = writer.failure !== null;
  const tick = (): SamplerState | undefined => {
    const state = sample();
    if (writer.failure !== null && !toldFailure) {
      toldFailure = true;
      warn(`the capture stopped being written (${writer.failure}); the job runs on, unrecorded from here`);
    }
    if (profiler && ticks++ % collectEvery === 0) profiler.collect();
    const reason = state && !stoppedBecause ? options.stopWhen?.(state) : undefined;
    if (reason) {
      stoppedBecause = reason;
      writer.event({
        kind: 'guard-action',
        timeMs: state?.timeMs ?? 0,
        action: 'term',
        pid: null,
        message: `SIGTERM to the job: ${reason}`,
      });
      child.kill('SIGTERM');
      stopTimer = setTimeout(() => killAll(placement, child), graceSeconds * 1000);
    }
    return state;
  };
  const first = tick();
  // The first tick usually comes before the job has joined its cgroup; a second one soon after catches
  // the job even when it is shorter than the interval.
  const early = setTimeout(tick, Math.min(20, intervalMs));
  const timer = setInterval(tick, intervalMs);

  const live = options.live ?? (stderr.isTTY === true && !options.quiet);
  const status = live && 'rows' in stderr ? new LiveStatus(stderr as NodeJS.WriteStream) : undefined;
  status?.start();
  const statusTimer = status
    ? setInterval(() => sampler.state && status.update(statusLine(sampler.state, writer)), 1000)
    : undefined;

  const stopForwarding = forwardSignals(child, graceSeconds * 1000, () => killAll(placement, child));
  const watchdog = startWatchdog(
    options.guard,
    placement,
    limit,
    writer,
    startMs,
    graceSeconds,
    child,
    say,
    () => profiler?.requestSnapshot(),
  );
  const { code, signal } = await exited;
  clearTimeout(sentinelTimer);
  // Before anything else: no guard may leave the OOM killer off or a limit changed.
  watchdog?.stop();
  const jobStatus = exitStatus(code, signal);
  options.onJobExit?.(jobStatus);
  stopForwarding();
  clearTimeout(early);
  clearTimeout(stopTimer);
  clearInterval(timer);
  if (statusTimer) clearInterval(statusTimer);
  status?.stop();

  let last: SamplerState | undefined;
  try {
    last = sampler.stop();
  } catch (error) {
    say(`could not take the final sample: ${messageOf(error)}`);
  }
  if (placement.mode === 'own') killAll(placement, child);
  if (profiler) {
    profiler.close();
    if (profiler.dropped > 0)
      say(`${profiler.dropped} profile line(s) the job wrote were not valid and were left out`);
  }
  // Leftover processes are gone now: a limit that could not be lowered while they held memory can be.
  watchdog?.close();
  guard.collect(writer, startMs, Date.now() - startMs);
  const own = placement.mode === 'own';
  writer.end(Date.now() - startMs, {
    exitCode: code,
    signal,
    status: jobStatus,
    durationMs: Date.now() - startMs,
    // In observe mode the cgroup's high-water mark predates the job, so it says nothing about it.
    peakBytes: own ? (last?.sample.peak ?? null) : null,
    oomKills: (last?.sample.oomKills ?? 0) - (first?.sample.oomKills ?? 0),
    limitHits: (last?.sample.limitHits ?? 0) - (first?.sample.limitHits ?? 0),
  });
  sentinel?.release();
  const unreleased = releasePlacement(placement);
  if (unreleased) say(unreleased);

  // From here on nothing may change the job's status: headroom's own trouble is a warning.
  const recorded = await readBack(writer, warn);
  writer.close();
  let summary: Summary | null = null;
  if (recorded) {
    try {
      const [{ summarize }, { renderSummaryText }] = await Promise.all([
        import('../analyze/summarize.js'),
        import('../report/summary-text.js'),
      ]);
      summary = summarize(recorded);
      if (!options.quiet)
        stderr.write(renderSummaryText(summary, { capturePath: path.relative(cwd, capture) || capture }));
    } catch (error) {
      warn(`no summary: ${messageOf(error)}`);
    }
  }
  return {
    status: jobStatus,
    exitCode: code,
    signal,
    capture,
    recorded,
    placement: placement.mode,
    summary,
    stoppedBecause,
  };
}

/**
 * The capture as written, read back for the summary: through headroom's own descriptor when its name
 * was deleted during the run, and as far as it goes when writing stopped. Null, with a warning, when
 * nothing readable is left.
 */
async function readBack(writer: CaptureWriter, warn: (line: string) => void): Promise<Capture | null> {
  // Loaded only now: the reader is not needed while the job runs, and every module loaded early stays
  // in headroom's memory, which counts against the job's limit in observe mode.
  const { readCapture } = await import('../record/capture-reader.js');
  const named = writer.stillNamed();
  if (!named)
    warn(
      `the capture ${writer.file} was deleted while the job ran; the summary is read from what headroom still held open, and nothing of it is left on disk`,
    );
  try {
    const recorded = readCapture(named ? writer.file : writer.openPath);
    if (writer.failure !== null)
      warn(`the capture is incomplete (${writer.failure}); the summary covers what was recorded`);
    return recorded;
  } catch (error) {
    if (writer.failure !== null && writer.bytesWritten === 0) {
      // Not one record made it: an empty file would only be mistaken for a capture later.
      fs.rmSync(writer.file, { force: true });
      warn(`no summary: nothing could be recorded (${writer.failure})`);
    } else {
      warn(`no summary: ${messageOf(error)}`);
    }
    return null;
  }
}

function startWatchdog(
  guard: GuardOptions | undefined,
  placement: Placement,
  limit: number | null,
  writer: CaptureWriter,
  startMs: number,
  graceSeconds: number,
  child: ChildProcess,
  say: (line: string) => void,
  requestProfile: () => void,
): Watchdog | undefined {
  if (!guard?.watch) return undefined;
  let watchdog: Watchdog | undefined;
  try {
    watchdog = new Watchdog({
      cgroup: placement.cgroup,
      limit,
      own: placement.mode === 'own',
      onLimit: guard.watch.onLimit,
      threshold: guard.watch.threshold ?? 0.95,
      graceMs: graceSeconds * 1000,
      writer,
      startMs,
      terminate: () => child.kill('SIGTERM'),
      kill: () => killAll(placement, child),
      requestProfile,
    });
    say(watchdog.start());
  } catch (error) {
    // The job runs on without a watchdog rather than headroom failing under it.
    watchdog?.close();
    say(`the watchdog could not start, the job runs without it: ${messageOf(error)}`);
    return undefined;
  }
  return watchdog;
}

function spawnJob(
  placement: Placement,
  program: string,
  options: RunOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
): ChildProcess {
  const args = options.args ?? [];
  if (placement.mode === 'observe') {
    return spawn(program, args, { stdio: 'inherit', env, cwd, argv0: options.command });
  }
  // The job joins its cgroup before exec, so not one of its pages is charged elsewhere.
  const procs = path.join(placement.cgroup.dir, 'cgroup.procs');
  // 125 when it cannot join: headroom's own failure, as docker run's.
  const script = `echo $$ > "$0" || exit 125; exec "$@"`;
  return spawn('/bin/sh', ['-c', script, procs, program, ...args], { stdio: 'inherit', env, cwd });
}

/** A tick that fails (the cgroup vanished, a file turned unreadable) is reported once, not every tick. */
function ticker(sampler: Sampler, say: (line: string) => void): () => SamplerState | undefined {
  let failed = false;
  return () => {
    try {
      return sampler.tick();
    } catch (error) {
      if (!failed) say(`sampling failed: ${messageOf(error)}`);
      failed = true;
      return undefined;
    }
  };
}

/** SIGKILL for everything left: the job's whole cgroup when it has one, else the job itself. */
function killAll(placement: Placement, child: ChildProcess): void {
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

function statusLine(state: SamplerState, writer: CaptureWriter): string {
  const s = state.sample;
  const limit =
    s.limit === null ? '' : ` / ${formatBytes(s.limit)} (${Math.round((s.usage / s.limit) * 100)}%)`;
  return (
    `headroom ${formatDuration(state.timeMs)}  ${formatBytes(s.usage)}${limit}  anon ${formatBytes(s.anon)}` +
    `  cache ${formatBytes(s.file)} (dirty ${formatBytes(s.fileDirty)})  shmem ${formatBytes(s.shmem)}` +
    `  ${state.processCount} proc  peak ${formatBytes(state.maxUsage)}` +
    (s.oomKills ? `  OOM kills ${s.oomKills}` : '') +
    `  capture ${formatBytes(writer.bytesWritten)}`
  );
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
