import path from 'node:path';
import { HeadroomError, isHeadroomError, messageOf } from '../errors.js';
import {
  effectiveLimit,
  fileIn,
  locateMemoryCgroup,
  type MemoryCgroup,
  pidAlive,
  readCgroupPids,
  readHostMemory,
} from '../kernel/index.js';
import { captureHome } from '../record/capture-home.js';
import type { CaptureWriter } from '../record/capture-writer.js';
import { captureHeader } from '../session/capture-header.js';
import { defaultCapturePath } from '../session/capture-path.js';
import { CaptureSession } from '../session/capture-session.js';
import { type AttachTarget, checkAttachTarget } from './attach-target.js';
import { InspectorClient } from './inspector-client.js';
import { type OpenInspector, openInspector, waitUntilClosed } from './open-inspector.js';
import type { ProfileInfo, SnapshotReason } from './profile-format.js';
import { type SamplingHeapProfile, V8ProfileEncoder } from './v8-profile.js';

export interface AttachOptions {
  pid: number;
  /** How long to sample the heap. */
  durationMs: number;
  /** Capture file; by default a new file under `home`. */
  output?: string;
  /** Where captures go by default: $HEADROOM_HOME, else .headroom/ in the working directory. */
  home?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Between cgroup samples. */
  intervalMs?: number;
  /** Bytes between V8's heap samples on average (DEFAULT_SAMPLING_INTERVAL when not given). */
  samplingInterval?: number;
  /** Aborting ends the sampling early; the capture is still written and the process left as it was. */
  signal?: AbortSignal;
  /** headroom's messages, one line each. */
  say?: (line: string) => void;
}

export interface AttachResult {
  capture: string;
  target: AttachTarget;
  durationMs: number;
  snapshots: number;
  /** Time the process spent answering getSamplingProfile (each forces a full GC), in total. */
  fetchMs: number;
  openedInspector: boolean;
  /** When headroom opened the inspector: it is closed again. */
  inspectorClosed: boolean;
  stoppedEarly: boolean;
  /** The process exited (or closed the session) before the duration was over. */
  ended: boolean;
}

/**
 * A sample every 128 KiB allocated on average, as the preload takes them: V8's default, 32 KiB, spends 2
 * to 4 % of an allocation-heavy process's CPU on sampling alone; at 128 KiB it is under 1.5 %.
 */
export const DEFAULT_SAMPLING_INTERVAL = 128 * 1024;
/**
 * Each fetch forces a full GC, which pauses the process: the fetches before the final one may take at most
 * this share of the time attached, as the preload's do, plus FETCH_ALLOWANCE_MS. The final fetch is
 * always made.
 */
const FETCH_BUDGET = 0.01;
/**
 * So that a short attach to a process of a moderate heap still gets a mid-run snapshot or two (a fetch
 * took 65-95 ms on a 65 MiB heap here, guessed at 130 ms before one is measured): the 1 % alone would
 * allow the first one after 13 s.
 */
const FETCH_ALLOWANCE_MS = 200;
/**
 * What a fetch costs per MiB of used heap until one has been measured: 2-2.6 ms measured here on a busy
 * 2-core machine (47 to 1459 MiB used); about 0.6 ms on an idle one.
 */
const PRIOR_MS_PER_MIB = 2;
const MiB = 1024 * 1024;
const FETCH_TIMEOUT_MS = 120_000;
const CALL_TIMEOUT_MS = 10_000;

/**
 * Attaches to a running Node process: opens its inspector (SIGUSR1) unless it is open, samples its heap
 * with V8's sampling heap profiler for the duration while the cgroup it runs in is sampled too, writes
 * both into a capture, and leaves the process as it was (profiler stopped, inspector closed again if
 * headroom opened it).
 */
export async function attach(options: AttachOptions): Promise<AttachResult> {
  const say = options.say ?? (() => {});
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const intervalMs = options.intervalMs ?? 100;
  const samplingInterval = options.samplingInterval ?? DEFAULT_SAMPLING_INTERVAL;
  const target = checkAttachTarget(options.pid);
  const { pid } = target;
  const cgroup = cgroupOf(pid);

  const startMs = Date.now();
  const capture = options.output
    ? path.resolve(cwd, options.output)
    : defaultCapturePath({
        home: captureHome(options.home, env, cwd),
        component: undefined,
        command: path.basename(target.argv[1] ?? target.argv[0] ?? 'node'),
        startMs,
      });
  let session: CaptureSession;
  try {
    session = new CaptureSession({
      file: capture,
      header: {
        ...captureHeader({
          placement: {
            mode: 'observe',
            cgroup,
            parent: cgroup,
            reason: `headroom attach ${pid}: the cgroup the process runs in`,
          },
          limit: effectiveLimit(cgroup),
          hostMemory: readHostMemory(),
          command: target.argv,
          component: null,
          requested: {},
          startMs,
          intervalMs,
          nodeOptions: target.nodeOptions,
        }),
        attached: { pid },
      },
      replace: options.output !== undefined,
      cgroup,
      recordSelf: sharesCgroup(cgroup),
      say,
      warn: (line) => say(`warning: ${line}`),
    });
  } catch (error) {
    if (isHeadroomError(error, 'E_KERNEL_FILE'))
      throw new HeadroomError('E_ATTACH', `cannot sample pid ${pid}'s cgroup: ${error.message}`, {
        ...error.details,
        pid,
      });
    throw new HeadroomError('E_CAPTURE_WRITE', `cannot write the capture ${capture}: ${messageOf(error)}`, {
      path: capture,
    });
  }
  const { writer } = session;

  let inspector: OpenInspector;
  let client: InspectorClient;
  try {
    inspector = await openInspector(target);
  } catch (error) {
    session.abandon();
    throw error;
  }
  try {
    client = await InspectorClient.connect(inspector.url, CALL_TIMEOUT_MS);
  } catch (error) {
    session.abandon();
    const left = inspector.openedByHeadroom ? '; its inspector stays open (headroom could not close it)' : '';
    throw new HeadroomError('E_INSPECTOR', `${messageOf(error)}${left}`, { pid });
  }

  const heap = new HeapSession(client, writer, pid, startMs);
  let started: 'ours' | 'theirs';
  try {
    started = await heap.start(samplingInterval, target);
  } catch (error) {
    await leave(client, inspector, pid, heap.isExiting, say);
    session.abandon();
    throw new HeadroomError(
      'E_INSPECTOR',
      `cannot start the heap profiler in pid ${pid}: ${messageOf(error)}`,
      { pid },
    );
  }
  if (started === 'theirs') {
    say(
      `pid ${pid} was already sampling its heap (headroom's preload?): its profile is read and left running`,
    );
  }

  session.start();
  const sampleStart = Date.now();
  const endAt = sampleStart + options.durationMs;
  const baseEveryMs = Math.max(1000, options.durationMs / 10);
  const over = Promise.race([client.closed, heap.exiting]);
  let stoppedEarly = false;
  let failure: string | undefined;
  let due = sampleStart + baseEveryMs;
  for (;;) {
    const why = await waitFor(Math.min(endAt, due) - Date.now(), options.signal, over);
    if (why === 'aborted') stoppedEarly = true;
    if (why !== 'time') break;
    // The last fetch is the final one, below.
    if (Date.now() >= endAt - 100) break;
    if (await heap.affordable(Date.now() - sampleStart)) {
      failure = await heap.fetch('attach');
      if (failure) break;
    }
    while (due <= Date.now()) due += baseEveryMs;
  }
  // A process exiting waits for the session to close: its heap can still be read, for the last time.
  // stopSampling answers with the profile too: stopping with it costs one forced GC instead of two.
  const stop = started === 'ours' && !heap.isExiting;
  if (client.isOpen && !failure) failure = await heap.fetch(heap.isExiting ? 'exit' : 'attach', stop);
  const ended = heap.isExiting || !client.isOpen;
  if (failure && !ended) say(`could not fetch the heap profile: ${failure}`);
  if (ended) say(`pid ${pid} exited before the attach was over`);
  if (stop && client.isOpen && !heap.stopped) {
    try {
      await client.call('HeapProfiler.stopSampling', {}, FETCH_TIMEOUT_MS);
    } catch (error) {
      say(`could not stop the heap profiler: ${messageOf(error)}`);
    }
  }
  const inspectorClosed = await leave(client, inspector, pid, heap.isExiting, say);

  // Let the final sample see the process gone, when it was on its way out.
  if (ended) await waitForExit(pid, cgroup);
  session.stop();
  // Observed, not run: no exit to record, and the cgroup's high-water mark (predating the attach) is left out.
  session.end({ exitCode: null, signal: null, status: 0 });
  session.close();
  return {
    capture,
    target,
    durationMs: Date.now() - sampleStart,
    snapshots: heap.snapshots,
    fetchMs: heap.fetchMs,
    openedInspector: inspector.openedByHeadroom,
    inspectorClosed,
    stoppedEarly,
    ended,
  };
}

/**
 * Whether a fetch that costs `costMs` after `spentMs` of fetches keeps them within FETCH_BUDGET of the
 * `elapsedMs` attached, plus FETCH_ALLOWANCE_MS.
 */
export function withinFetchBudget(spentMs: number, costMs: number, elapsedMs: number): boolean {
  return spentMs + costMs <= FETCH_ALLOWANCE_MS + FETCH_BUDGET * elapsedMs;
}

/** The heap profiler in one process, through one inspector session, into the capture. */
class HeapSession {
  private readonly encoder = new V8ProfileEncoder();
  snapshots = 0;
  fetchMs = 0;
  /** The profiler was stopped with the last fetch. */
  stopped = false;
  private msPerMiB = PRIOR_MS_PER_MIB;
  /** Resolves when the process has begun to exit and waits for the session to close. */
  readonly exiting: Promise<void>;
  isExiting = false;

  constructor(
    private readonly client: InspectorClient,
    private readonly writer: CaptureWriter,
    private readonly pid: number,
    private readonly startMs: number,
  ) {
    this.exiting = new Promise((resolve) => {
      client.onEvent('NodeRuntime.waitingForDisconnect', () => {
        this.isExiting = true;
        resolve();
      });
    });
  }

  /**
   * Starts V8's sampling heap profiler, unless it runs already (one per isolate: a second start would
   * be ignored, and stopping it would end the other user's profile). Writes the session's "I" record.
   */
  async start(samplingInterval: number, target: AttachTarget): Promise<'ours' | 'theirs'> {
    // Answered with an error when no sampling runs, at no cost; otherwise it is the first snapshot.
    let running: SamplingHeapProfile | undefined;
    const asked = Date.now();
    try {
      running = (
        await this.client.call<{ profile: SamplingHeapProfile }>(
          'HeapProfiler.getSamplingProfile',
          {},
          FETCH_TIMEOUT_MS,
        )
      ).profile;
    } catch {
      running = undefined;
    }
    if (running) this.fetchMs += Date.now() - asked;
    else {
      await this.client.call('HeapProfiler.startSampling', { samplingInterval }, CALL_TIMEOUT_MS);
    }
    // Without this, a process that exits while the session is open waits for it to close, unnoticed.
    try {
      await this.client.call(
        'NodeRuntime.notifyWhenWaitingForDisconnect',
        { enabled: true },
        CALL_TIMEOUT_MS,
      );
    } catch {
      // Older Node: an exit then shows as the session closing.
    }
    const info: ProfileInfo = {
      runtime: 'node',
      mode: 'sampling',
      // Another user's sampling runs at an interval it alone knows.
      interval: running ? 0 : samplingInterval,
      argv: target.argv,
      ...(await this.version()),
    };
    this.writer.profile(this.pid, ['I', this.now(), info]);
    if (running) {
      this.writer.profile(this.pid, [
        'W',
        this.now(),
        'sampling was already running (its interval unknown): read and left running',
      ]);
      this.record(running, 'attach');
    }
    this.writer.flush();
    return running ? 'theirs' : 'ours';
  }

  /**
   * Whether a fetch now keeps the fetches within the budget, at the cost the last one had per MiB of used
   * heap (reading the heap's size costs no GC).
   */
  async affordable(elapsedMs: number): Promise<boolean> {
    const used = await this.usedMiB();
    return used !== undefined && withinFetchBudget(this.fetchMs, used * this.msPerMiB, elapsedMs);
  }

  /**
   * Fetches the profile (and stops the profiler, if `stop`) and writes it as a snapshot; returns what went
   * wrong, if anything.
   */
  async fetch(reason: SnapshotReason, stop = false): Promise<string | undefined> {
    const used = await this.usedMiB();
    const asked = Date.now();
    const method = stop ? 'HeapProfiler.stopSampling' : 'HeapProfiler.getSamplingProfile';
    let profile: SamplingHeapProfile;
    try {
      profile = (await this.client.call<{ profile: SamplingHeapProfile }>(method, {}, FETCH_TIMEOUT_MS))
        .profile;
    } catch (error) {
      return messageOf(error);
    }
    if (stop) this.stopped = true;
    const took = Date.now() - asked;
    this.fetchMs += took;
    if (used) this.msPerMiB = took / used;
    this.record(profile, reason);
    return undefined;
  }

  private record(profile: SamplingHeapProfile, reason: SnapshotReason): void {
    for (const record of this.encoder.encode(profile, this.now(), reason))
      this.writer.profile(this.pid, record);
    this.writer.flush();
    this.snapshots++;
  }

  private async usedMiB(): Promise<number | undefined> {
    try {
      const usage = await this.client.call<{ usedSize?: unknown }>(
        'Runtime.getHeapUsage',
        {},
        CALL_TIMEOUT_MS,
      );
      return typeof usage.usedSize === 'number' ? usage.usedSize / MiB : undefined;
    } catch {
      return undefined;
    }
  }

  private async version(): Promise<{ version?: string }> {
    try {
      const answer = await this.client.call<{ result?: { value?: unknown } }>(
        'Runtime.evaluate',
        { expression: 'process.version', returnByValue: true },
        CALL_TIMEOUT_MS,
      );
      const value = answer.result?.value;
      return typeof value === 'string' ? { version: value } : {};
    } catch {
      return {};
    }
  }

  private now(): number {
    return Date.now() - this.startMs;
  }
}

/**
 * Leaves the inspector as it was found: closed again when headroom opened it, and then checked to be
 * closed. Returns whether it is closed (false when it was open before: it stays open).
 */
async function leave(
  client: InspectorClient,
  inspector: OpenInspector,
  pid: number,
  exiting: boolean,
  say: (line: string) => void,
): Promise<boolean> {
  if (!inspector.openedByHeadroom) {
    await client.close();
    return false;
  }
  // An exiting process finishes its exit once the session closes, and its inspector goes with it.
  if (client.isOpen && !exiting) {
    try {
      // Stops the inspector from inside the process, as inspector.close() would; the session ends with
      // it, so no answer comes.
      await client.sendWithoutAnswer('Runtime.evaluate', { expression: 'process._debugEnd()' });
    } catch (error) {
      say(`could not ask pid ${pid} to close its inspector: ${messageOf(error)}`);
    }
    await waitFor(CALL_TIMEOUT_MS, undefined, client.closed);
  }
  await client.close();
  const closed = await waitUntilClosed(pid, inspector.socket);
  if (!closed) {
    say(
      `pid ${pid}'s inspector still listens on ${inspector.socket.address}:${inspector.socket.port}; ` +
        `headroom opened it and could not close it`,
    );
  }
  return closed;
}

/** The memory cgroup the process is in, as this mount namespace shows it. */
function cgroupOf(pid: number): MemoryCgroup {
  let located: ReturnType<typeof locateMemoryCgroup>;
  try {
    located = locateMemoryCgroup(pid);
  } catch (error) {
    throw new HeadroomError(
      'E_CGROUP_NOT_FOUND',
      `cannot find pid ${pid}'s memory cgroup: ${messageOf(error)}`,
      { pid },
    );
  }
  // locate takes a cgroup only when its cgroup.procs lists the pid, so a process in another mount or
  // cgroup namespace is refused here rather than read through a cgroup that is not its own.
  if (!located.ok)
    throw new HeadroomError(located.code, `cannot observe memory: ${located.message}`, { pid });
  return located.cgroup;
}

/**
 * Waits, briefly, until the process has left its cgroup and been reaped, so that the last samples record
 * its exit. A zombie its parent does not reap holds this up for the timeout at most.
 */
async function waitForExit(pid: number, cgroup: MemoryCgroup, timeoutMs = 2000): Promise<void> {
  const procs = fileIn(cgroup.dir, 'cgroup.procs');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pidAlive(pid) && readCgroupPids(procs).includes(pid)) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  // One more tick to read the processes after the exit.
  await new Promise((resolve) => setTimeout(resolve, 150));
}

/** headroom runs in the same cgroup: its own memory is then recorded so views can leave it out. */
function sharesCgroup(cgroup: MemoryCgroup): boolean {
  return readCgroupPids(fileIn(cgroup.dir, 'cgroup.procs')).includes(process.pid);
}

/** Resolves with what came first: the time, the abort, or the session closing. */
function waitFor(
  ms: number,
  signal: AbortSignal | undefined,
  closed: Promise<void>,
): Promise<'time' | 'aborted' | 'closed'> {
  if (signal?.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish('time'), Math.max(0, ms));
    const onAbort = (): void => finish('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    void closed.then(() => finish('closed'));
    function finish(why: 'time' | 'aborted' | 'closed'): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    }
  });
}
