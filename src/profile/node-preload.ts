/**
 * The Node preload (issue 4): headroom puts `--require dist/node-preload.cjs` in the job's NODE_OPTIONS, so
 * this runs first in every Node process of the job, children included. With HEADROOM_PROFILE_DIR set it
 * starts V8's sampling heap profiler through an in-process inspector session and appends the live-allocation
 * profile to `$HEADROOM_PROFILE_DIR/<pid>.jsonl` (see profile-format); without it, it does nothing.
 *
 * Fetching a profile forces a full GC (0.6 to 2 ms per MiB of live heap, the more the smaller the
 * objects), so it happens only at new peaks of the process's RSS and at exit, within a time budget of 1 %
 * of the process's wall time (plus small allowances for the first fetches and the exit one; the exit
 * fetch exceeds it only when the process has no snapshot yet). Three kinds of fetch may exceed it: when
 * headroom asks (the request file), and when the job's cgroup first reaches 90 % and 97 % of its limit,
 * since a process the OOM killer ends gets no exit fetch, and its last budgeted one can be seconds old
 * when it grows fast.
 *
 * It never throws into the job, never keeps it alive (one unref'd timer, no handles), and installs no
 * signal handlers: a process killed by a signal keeps the snapshots it wrote before.
 *
 * Worker threads are not profiled: they share the process's pid, hence its spool file, and a second
 * session under one pid would replace the main thread's (the format has one session per pid at a time).
 */
import fs from 'node:fs';
import type { Session } from 'node:inspector';
import path from 'node:path';
import { messageOf } from '../errors.js';
import {
  PROFILE_DIR_ENV,
  PROFILE_LIMIT_ENV,
  PROFILE_REQUEST_FILE,
  PROFILE_START_ENV,
  PROFILE_USAGE_FILE_ENV,
  type ProfileInfo,
  type SnapshotReason,
} from './profile-format.js';
import { type SamplingHeapProfile, V8ProfileEncoder } from './v8-profile.js';

/**
 * A sample every 128 KiB allocated on average. V8's own default, 32 KiB, spends 2 to 4 % of an
 * allocation-heavy job's CPU on sampling alone (measured with perf); at 128 KiB it is under 1.5 %, and a
 * leak of a few MiB still collects dozens of samples.
 */
const DEFAULT_INTERVAL = 128 * 1024;
/** Overrides the sampling interval, in bytes. */
const INTERVAL_ENV = 'HEADROOM_NODE_SAMPLING_INTERVAL';
/**
 * V8's sampling heap profiler charges an allocation to the functions that have a frame on the stack
 * (SamplingHeapProfiler::AddStack takes each JavaScript frame's own function, not the frames inlined into
 * it), so what a small handler allocates after TurboFan inlined it into its caller is charged to the
 * caller: a leak in a timer's handler shows up as the anonymous timer callback (issue 13). No flag makes
 * the profiler see inlined frames (V8's sources read the same up to the V8 of Node 24); these keep every
 * function in a frame of its own. Maglev, on by default from Node 22, inlines too in newer V8s (in Node
 * 20 it is off and so is its inlining: that flag changes nothing there). Node refuses both flags in
 * NODE_OPTIONS (and at start they would cost the same: the code cache's check is against the flags in
 * force, however they were set), so the preload sets them, once
 * the job's own code is about to run (whenJobCodeStarts) and long before anything of it is hot enough to
 * optimize. They cost what inlining buys: within the noise in a job that mostly allocates, waits and calls
 * builtins, but 2.7 to 3.4 times the CPU in tight code made of small functions
 * (HEADROOM_NODE_INLINING=keep is for such jobs); and each built-in module loaded afterwards is compiled
 * without Node's code cache, which V8 checks against a hash of all its flags, about 3 ms each (bench
 * node-inlining).
 */
const NO_INLINING_FLAGS = '--no-turbo-inlining --no-maglev-inlining';
/** "keep" leaves V8's inlining on: cheaper for tight code, but inlined functions' sites go to callers. */
const INLINING_ENV = 'HEADROOM_NODE_INLINING';
const CHECK_MS = 200;
/** A check this long after the one before ran late: the job's code held the event loop (see check). */
const LATE_MS = 2 * CHECK_MS;
/** Below this share of its cgroup's limit a late check's new peak may wait (see check). */
const CALM_SHARE = 0.5;
/** A new peak: RSS 10 % above the highest seen at a fetch. */
const PEAK_STEP = 1.1;
/** Fetches may take this share of the process's wall time, after an allowance for the first few. */
const BUDGET_SHARE = 0.01;
const BUDGET_ALLOWANCE_MS = 100;
/** The exit fetch may add this much: it is the profile the end view shows. */
const EXIT_ALLOWANCE_MS = 150;
/** Shares of the cgroup's limit whose first crossing fetches a profile whatever the budget. */
const LIMIT_LEVELS = [0.9, 0.97];
/** A first guess at a fetch's cost before one was measured (the forced GC), ms per byte of heap. */
const GUESS_MS_PER_BYTE = 0.6 / (1024 * 1024);
/** Set on globalThis so that a second copy (a user's NODE_OPTIONS naming it again) stays idle. */
const LOADED = Symbol.for('headroom.node-profiler');

class NodeProfiler {
  private readonly encoder = new V8ProfileEncoder();
  private readonly requestFile: string;
  private session: Session | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Fetch time spent so far, ms. */
  private spentMs = 0;
  private lastCostMs = 0;
  private fetched = false;
  private lastHeapBytes = 0;
  /**
   * The request file's mtime at the last fetch, which answers any request made before it: a request is a
   * change of it. A request made before this process started was for the processes running then. Not
   * "an mtime after the last fetch": file times come from a clock that lags by up to a tick, so a request
   * just after a fetch could look older.
   */
  private requestSeenMs: number | undefined;
  private peakRss: number;
  /** The job's cgroup usage file and limit, when it has one. */
  private usageFile: string | undefined;
  private readonly limit: number;
  /** LIMIT_LEVELS not crossed yet start here. */
  private nextLevel = 0;
  private interval = DEFAULT_INTERVAL;
  /** When the last check ran (performance.now()), to tell a check the job's own code held back. */
  private lastCheckMs = 0;
  /** Whether the last check let a new peak wait. */
  private peakWaited = false;

  constructor(
    private readonly fd: number,
    dir: string,
    private readonly originMs: number,
  ) {
    this.requestFile = path.join(dir, PROFILE_REQUEST_FILE);
    this.requestSeenMs = this.requestMtime();
    this.peakRss = process.memoryUsage.rss();
    const limit = Number(process.env[PROFILE_LIMIT_ENV]);
    this.limit = Number.isFinite(limit) && limit > 0 ? limit : 0;
    this.usageFile = this.limit > 0 ? process.env[PROFILE_USAGE_FILE_ENV] || undefined : undefined;
  }

  /** Starts sampling; false when there is no profile to be had. */
  start(interval: number): boolean {
    this.interval = interval;
    const info: ProfileInfo = {
      runtime: 'node',
      mode: 'sampling',
      interval,
      argv: process.argv,
      version: process.version,
    };
    this.write(['I', this.now(), info]);
    let session: Session;
    try {
      const inspector = builtin<typeof import('node:inspector')>('node:inspector');
      session = new inspector.Session();
      session.connect();
    } catch (error) {
      this.note(`inspector unavailable, no profile: ${messageOf(error)}`);
      return false;
    }
    // An in-process session answers synchronously, inside post().
    let refused: Error | null | undefined;
    session.post('HeapProfiler.startSampling', { samplingInterval: interval }, (error) => {
      refused = error;
    });
    if (refused) {
      this.note(`sampling refused, no profile: ${messageOf(refused)}`);
      session.disconnect();
      return false;
    }
    this.session = session;
    this.lastCheckMs = performance.now();
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
    process.on('exit', () => this.exit());
    return true;
  }

  note(text: string): void {
    this.write(['W', this.now(), text]);
  }

  private check(): void {
    const now = performance.now();
    const late = now - this.lastCheckMs > LATE_MS;
    this.lastCheckMs = now;
    try {
      const { rss, heapUsed } = process.memoryUsage();
      const share = this.usageShare();
      if (this.crossesLevel(share)) {
        this.fetch('peak', rss, heapUsed);
        return;
      }
      const peak = rss > this.peakRss * PEAK_STEP && this.affordable(heapUsed);
      // A new peak seen by a late check waits for the next check. A check runs late when the job's code
      // held the event loop, and the first turn after a script that ran synchronously to its end is also
      // its last: the exit snapshot follows within milliseconds, and a peak snapshot just before it cost
      // the job a second forced GC of the same heap (and the release of the pages the first one freed),
      // about 2 % of the bench's allocation job. A process that lives on gets the snapshot a period
      // later; the wait is once only, so a job that holds the loop at every check still gets its peaks.
      // Past half of a limit it does not wait: the next burst of such code may end in an OOM kill, which
      // leaves no exit snapshot, and this one would be the last.
      const calm = share === undefined || share < CALM_SHARE;
      const wait = peak && late && calm && !this.peakWaited;
      this.peakWaited = wait;
      // A request is headroom asking (the watchdog's snapshot, a user's): rare, and answered whatever the
      // budget. The budget's estimate scales the last fetch's cost by the heap, and a first fetch that paid
      // for compiling the profiler's own code made later ones look dear enough to starve requests for
      // longer than a short job lives.
      if (this.requested()) this.fetch('request', rss, heapUsed);
      else if (peak && !wait) this.fetch('peak', rss, heapUsed);
    } catch {
      // Never into the job; the next check tries again.
    }
  }

  /** The cgroup's usage as a share of its limit; undefined without a limit or a readable usage file. */
  private usageShare(): number | undefined {
    if (!this.usageFile) return undefined;
    try {
      return Number(fs.readFileSync(this.usageFile, 'latin1')) / this.limit;
    } catch {
      // Not readable from here (another mount namespace, a sandbox): peaks and requests still work.
      this.usageFile = undefined;
      return undefined;
    }
  }

  /** Whether `share` crosses a level of the limit for the first time. */
  private crossesLevel(share: number | undefined): boolean {
    let crossed = false;
    while (
      share !== undefined &&
      this.nextLevel < LIMIT_LEVELS.length &&
      share >= (LIMIT_LEVELS[this.nextLevel] as number)
    ) {
      this.nextLevel++;
      crossed = true;
    }
    return crossed;
  }

  private requested(): boolean {
    const mtime = this.requestMtime();
    return mtime !== undefined && mtime !== this.requestSeenMs;
  }

  private requestMtime(): number | undefined {
    return fs.statSync(this.requestFile, { throwIfNoEntry: false })?.mtimeMs;
  }

  /** Whether the next fetch, costed by the last one scaled to today's heap, stays within the budget. */
  private affordable(heapUsed: number, extraMs = 0): boolean {
    const estimate =
      this.lastHeapBytes > 0
        ? (this.lastCostMs * heapUsed) / this.lastHeapBytes
        : heapUsed * GUESS_MS_PER_BYTE;
    return this.spentMs + estimate <= BUDGET_ALLOWANCE_MS + extraMs + BUDGET_SHARE * performance.now();
  }

  private fetch(reason: SnapshotReason, rss: number, heapUsed: number): void {
    const session = this.session;
    if (!session) return;
    // Read before the profile is taken: a request made after this read is still to be answered.
    this.requestSeenMs = this.requestMtime();
    const began = performance.now();
    const cpuBegan = process.cpuUsage();
    const timeMs = this.now();
    let profile: SamplingHeapProfile | undefined;
    let failure: Error | null = null;
    session.post('HeapProfiler.getSamplingProfile', (error, result) => {
      failure = error;
      profile = result?.profile as SamplingHeapProfile | undefined;
    });
    if (profile) {
      this.fetched = true;
      for (const record of this.encoder.encode(profile, timeMs, reason)) this.write(record);
    } else {
      this.note(`snapshot failed: ${messageOf(failure ?? 'no profile returned')}`);
      // Another session of the job's own may have stopped V8's sampler (there is one per isolate).
      session.post('HeapProfiler.startSampling', { samplingInterval: this.interval });
    }
    // What the fetch cost the job: its wall time, unless the machine was busy and the fetch waited for a
    // core (its CPU time is then less). On a loaded host the wall time alone spent the budget on waiting,
    // and the exit snapshot, the one the end view shows, was skipped.
    const cpu = process.cpuUsage(cpuBegan);
    const cost = Math.min(performance.now() - began, (cpu.user + cpu.system) / 1000);
    this.spentMs += cost;
    this.lastCostMs = cost;
    this.lastHeapBytes = Math.max(1, heapUsed);
    this.peakRss = Math.max(this.peakRss, rss);
  }

  private exit(): void {
    try {
      if (this.timer) clearInterval(this.timer);
      const { rss, heapUsed } = process.memoryUsage();
      // A short job with a large heap would spend more on this one forced GC than on its own work: the
      // last budgeted snapshot stands, unless there is none.
      if (!this.fetched || this.affordable(heapUsed, EXIT_ALLOWANCE_MS)) this.fetch('exit', rss, heapUsed);
      // The session stays connected: disconnecting stops V8's sampler for every session, and the job's
      // own exit handlers may still be using one.
      fs.closeSync(this.fd);
    } catch {
      // The process is leaving anyway.
    }
  }

  /** One record, one write(2), so a process killed at any moment leaves whole lines behind. */
  private write(record: unknown[]): void {
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
    for (let offset = 0; offset < bytes.length; ) offset += fs.writeSync(this.fd, bytes, offset);
  }

  private now(): number {
    return Math.round(Date.now() - this.originMs);
  }
}

/**
 * A built-in module, loaded only when profiling: an import would load it into every Node process of the
 * job, profiled or not. A job may run an older Node than headroom's, without process.getBuiltinModule;
 * this file is CommonJS once bundled, so require is there.
 */
function builtin<T>(id: string): T {
  return (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id)) as T;
}

/**
 * Calls `start` once, just before the first CommonJS module after this preload is compiled (the main
 * module, or a preload the user named after this one), or before an ES module main runs. Node 20 reads
 * an ES module main asynchronously: the first turn of the event loop comes after Node loaded its ES
 * module loader, some twenty built-in modules that keep Node's code cache this way, and (in every run
 * seen, though the event loop does not promise it) before the main module is compiled. Node 22 and 24
 * evaluate an ES module main before the first turn (on 24 even a timer it set fires first, hot loop and
 * all), but only after the loader's awaits: a microtask queued now runs before it, with the loader's
 * modules loaded by then (all of them on 24, all but two on 22). A load hook (module.registerHooks) would
 * be exact, but it moves every module the job loads onto the loader's hooked path, with bugs of its own.
 * Code that runs first (`node -e`) runs with inlining on until then: only what is optimized by then keeps
 * its inlined frames.
 */
function whenJobCodeStarts(start: () => void): void {
  let started = false;
  const once = (): void => {
    if (started) return;
    started = true;
    start();
  };
  if (Number(process.versions.node.split('.')[0]) >= 22) queueMicrotask(once);
  else setImmediate(once).unref();
  type Compile = (this: unknown, ...args: unknown[]) => unknown;
  const prototype = builtin<{ prototype: { _compile?: Compile } }>('node:module').prototype;
  const compile = prototype._compile;
  if (typeof compile !== 'function') return;
  const hook: Compile = function (this: unknown, ...args) {
    // Put back unless another hook wrapped this one since (ts-node, a coverage tool): restoring would drop
    // theirs, and this one stays cheap in their chain.
    if (prototype._compile === hook) prototype._compile = compile;
    once();
    return compile.apply(this, args);
  };
  prototype._compile = hook;
}

/** The sampling interval: HEADROOM_NODE_SAMPLING_INTERVAL bytes when valid, else DEFAULT_INTERVAL. */
function samplingInterval(): { interval: number; invalid?: string } {
  const text = process.env[INTERVAL_ENV];
  if (text === undefined || text === '') return { interval: DEFAULT_INTERVAL };
  const value = Number(text);
  if (/^\d+$/.test(text) && Number.isSafeInteger(value) && value >= 1) return { interval: value };
  return { interval: DEFAULT_INTERVAL, invalid: text };
}

function spoolFile(dir: string): number {
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
  // O_NOFOLLOW: never write through a link someone put in the directory.
  return fs.openSync(
    path.join(dir, `${process.pid}.jsonl`),
    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
    0o600,
  );
}

function main(dir: string): void {
  const global = globalThis as Record<symbol, unknown>;
  if (global[LOADED]) return;
  global[LOADED] = true;
  const start = Number(process.env[PROFILE_START_ENV]);
  const originMs = Number.isFinite(start) && start > 0 ? start : Date.now();
  const { isMainThread, threadId } = builtin<typeof import('node:worker_threads')>('node:worker_threads');
  let fd: number;
  try {
    fd = spoolFile(dir);
  } catch {
    // Nowhere to say anything.
    return;
  }
  const profiler = new NodeProfiler(fd, dir, originMs);
  if (!isMainThread) {
    profiler.note(`worker thread ${threadId} not profiled`);
    fs.closeSync(fd);
    return;
  }
  const { interval, invalid } = samplingInterval();
  // Only when profiling, as a job that gets no profile should not pay for it.
  if (profiler.start(interval) && process.env[INLINING_ENV] !== 'keep') {
    whenJobCodeStarts(() => {
      try {
        builtin<typeof import('node:v8')>('node:v8').setFlagsFromString(NO_INLINING_FLAGS);
      } catch (error) {
        profiler.note(
          `inlining stays on, functions inlined into a caller count as the caller: ${messageOf(error)}`,
        );
      }
    });
  }
  if (invalid !== undefined) {
    profiler.note(
      `${INTERVAL_ENV}=${JSON.stringify(invalid)} is not a byte count; sampling every ${interval}`,
    );
  }
}

const dir = process.env[PROFILE_DIR_ENV];
if (dir) {
  try {
    main(dir);
  } catch {
    // The job runs unprofiled rather than not at all.
  }
}
