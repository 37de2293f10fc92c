import {
  type ProcessMemory,
  ProcessReader,
  type ResidentMemory,
  readArgv,
  readArgvAsync,
  readPss,
} from '../kernel/index.js';
import type { CaptureWriter } from './capture-writer.js';
import { PssBudget } from './pss-budget.js';

/** A process that left the cgroup since the last sample, with the size the OOM killer would have seen. */
export interface Vanished {
  pid: number;
  name: string;
  size: number;
}

interface Tracked {
  reader: ProcessReader;
  name: string;
  /** statm when status was last read: status is read again only when statm moves past the floor. */
  resident: ResidentMemory;
  statusMs: number;
  last: ProcessMemory;
  written: ProcessMemory;
  /** Which of the quiet ticks reads it. */
  turn: number;
  /** argv as last recorded: empty until the first read of it returns. */
  argv: string[];
  /** A read of argv is under way: one at a time per process. */
  argvReading: boolean;
  /**
   * Until when argv is read again on each sample (undefined once it changed or the time passed): a process
   * first seen between fork and exec shows its parent's argv, and an exec of the same program (python3
   * starting a multiprocessing worker, node a node child) keeps the name that would otherwise tell. On a
   * busy machine the exec can come well after the fork, hence a while rather than one more look.
   */
  argvCheckUntilMs: number | undefined;
}

interface ArgvRead {
  pid: number;
  tracked: Tracked;
  timeMs: number;
}

const CHANGE_FLOOR = 64 * 1024;
/** argv reads under way at once (see startArgvReads). */
const ARGV_READS = 2;
/** How long after a process is first seen its argv is read again on each sample, to catch its exec. */
const ARGV_SETTLE_MS = 2000;
/** status also carries swap and the name: re-read it this often even when statm holds still. */
const STATUS_REFRESH_MS = 5000;

/**
 * Follows every process of the job: a P record when one appears or execs another program, a p record
 * when its resident memory moved by more than 64 KiB or 1 %, X when it is gone, S for PSS on a budget.
 */
export class ProcessTracker {
  private readonly tracked = new Map<number, Tracked>();
  private readonly pss: PssBudget;
  private ticks = 0;
  /** The followed pids in `quietEvery` turns: a quiet tick reads one turn's pids. */
  private readonly turns: number[][];
  private nextTurn = 0;
  private closed = false;
  /** The argv reads under way, and those waiting for one of their ARGV_READS places. */
  private readonly argvReads = new Set<Promise<void>>();
  private readonly argvQueue: ArgvRead[] = [];

  constructor(
    private readonly writer: CaptureWriter,
    private readonly excludePids: ReadonlySet<number>,
    pssShare?: number,
    /** On a tick where the cgroup held still, one process in this many is read. */
    private readonly quietEvery = 1,
  ) {
    this.pss = new PssBudget(pssShare);
    this.turns = Array.from({ length: quietEvery }, () => []);
  }

  get count(): number {
    return this.tracked.size;
  }

  pids(): IterableIterator<number> {
    return this.tracked.keys();
  }

  /**
   * Reconciles with a fresh listing of the cgroup: starts following new pids, and returns the ones no
   * longer listed.
   */
  sync(timeMs: number, pids: number[]): Vanished[] {
    const listed = new Set<number>();
    for (const pid of pids) {
      if (this.excludePids.has(pid)) continue;
      listed.add(pid);
      if (!this.tracked.has(pid)) this.start(pid, timeMs);
    }
    const gone: number[] = [];
    for (const pid of this.tracked.keys()) if (!listed.has(pid)) gone.push(pid);
    return this.forget(timeMs, gone);
  }

  /**
   * Reads processes: all of them when `sweep` (the cgroup's usage moved), otherwise those whose turn it
   * is, so each is read once in `quietEvery` ticks. When the cgroup holds still so do its processes, and
   * re-reading a hundred idle ones ten times a second would be most of headroom's own CPU. Returns those
   * found gone.
   */
  sample(timeMs: number, sweep: boolean): Vanished[] {
    const gone: number[] = [];
    const turn = this.ticks++ % this.quietEvery;
    for (let t = 0; t < this.turns.length; t++) {
      if (!sweep && t !== turn) continue;
      for (const pid of this.turns[t] as number[]) if (!this.update(pid, timeMs)) gone.push(pid);
    }
    const vanished = this.forget(timeMs, gone);
    this.pss.spend(timeMs, (pid) => this.readPss(pid, timeMs));
    return vanished;
  }

  private forget(timeMs: number, pids: number[]): Vanished[] {
    if (pids.length === 0) return [];
    const vanished: Vanished[] = [];
    for (const pid of pids) {
      const tracked = this.tracked.get(pid);
      if (!tracked) continue;
      const { rssAnon, rssShmem, swap } = tracked.last;
      vanished.push({ pid, name: tracked.name, size: rssAnon + rssShmem + swap });
      this.writer.processExit(timeMs, pid);
      tracked.reader.close();
      this.tracked.delete(pid);
      this.pss.remove(pid);
      const turn = this.turns[tracked.turn] as number[];
      turn.splice(turn.indexOf(pid), 1);
    }
    return vanished;
  }

  /**
   * Releases every process. One whose argv was never read gets a last read here, synchronous: the job has
   * ended, so no OOM in it can hold the read, and the capture is about to be closed.
   */
  close(): void {
    this.closed = true;
    for (const [pid, tracked] of this.tracked) {
      if (tracked.argv.length === 0) {
        const argv = readArgv(pid);
        const memory = argv.length > 0 ? tracked.reader.read() : undefined;
        if (memory) this.writer.processStart(tracked.statusMs, pid, memory.ppid, memory.name, argv);
      }
      tracked.reader.close();
    }
    this.tracked.clear();
  }

  /** A followed process's argv as last read: undefined before the first read returns, or once it is gone. */
  argvOf(pid: number): readonly string[] | undefined {
    const argv = this.tracked.get(pid)?.argv;
    return argv && argv.length > 0 ? argv : undefined;
  }

  /** Resolves once the argv reads under way are recorded (or dropped). */
  async argvSettled(): Promise<void> {
    while (this.argvReads.size > 0) await Promise.all(this.argvReads);
  }

  /**
   * Reads argv off the sampling tick and records it when it differs from what was recorded. Reading
   * cmdline takes the process's memory map lock, which a process caught in its cgroup's OOM can hold as
   * long as the kill takes: a synchronous read would stop the sampling at the moment that matters most.
   * A read of a process gone meanwhile, or of a pid since reused, is dropped.
   */
  private readArgv(pid: number, tracked: Tracked, timeMs: number): void {
    if (tracked.argvReading) return;
    tracked.argvReading = true;
    this.argvQueue.push({ pid, tracked, timeMs });
    this.startArgvReads();
  }

  /**
   * At most ARGV_READS at once: each holds a 64 KiB buffer (a /proc file has no size to read by) and a
   * thread of libuv's pool while it waits, and a job that starts a hundred workers at once would
   * otherwise have a hundred under way, some MiB of headroom's memory in the job's cgroup.
   */
  private startArgvReads(): void {
    while (this.argvReads.size < ARGV_READS && this.argvQueue.length > 0) {
      const { pid, tracked, timeMs } = this.argvQueue.shift() as ArgvRead;
      if (this.closed || this.tracked.get(pid) !== tracked) {
        tracked.argvReading = false;
        continue;
      }
      const read = readArgvAsync(pid).then((argv) => {
        tracked.argvReading = false;
        this.argvReads.delete(read);
        this.recordArgv(pid, tracked, timeMs, argv);
        this.startArgvReads();
      });
      this.argvReads.add(read);
    }
  }

  private recordArgv(pid: number, tracked: Tracked, timeMs: number, argv: string[]): void {
    if (this.closed || this.tracked.get(pid) !== tracked) return;
    if (argv.length === 0 || argv.join('\0') === tracked.argv.join('\0')) return;
    const memory = tracked.reader.read();
    if (!memory) return;
    tracked.name = memory.name;
    tracked.argv = argv;
    this.writer.processStart(timeMs, pid, memory.ppid, memory.name, argv);
  }

  private start(pid: number, timeMs: number): boolean {
    let reader: ProcessReader;
    try {
      reader = new ProcessReader(pid);
    } catch {
      return false; // exited between listing and opening
    }
    const resident = reader.readResident();
    const memory = reader.read();
    if (!resident || !memory) {
      reader.close();
      return false;
    }
    // Its argv follows in a second start record when read (see readArgv).
    this.writer.processStart(timeMs, pid, memory.ppid, memory.name, []);
    this.writer.processMemory(timeMs, memory);
    const turn = this.nextTurn++ % this.quietEvery;
    const tracked: Tracked = {
      reader,
      name: memory.name,
      resident,
      statusMs: timeMs,
      last: memory,
      written: memory,
      turn,
      argv: [],
      argvReading: false,
      argvCheckUntilMs: timeMs + ARGV_SETTLE_MS,
    };
    this.tracked.set(pid, tracked);
    this.readArgv(pid, tracked, timeMs);
    (this.turns[turn] as number[]).push(pid);
    this.pss.add(pid);
    return true;
  }

  private update(pid: number, timeMs: number): boolean {
    const tracked = this.tracked.get(pid) as Tracked;
    const resident = tracked.reader.readResident();
    if (!resident) return false;
    if (tracked.argvCheckUntilMs !== undefined) {
      if (timeMs <= tracked.argvCheckUntilMs) this.readArgv(pid, tracked, timeMs);
      else tracked.argvCheckUntilMs = undefined;
    }
    const before = tracked.resident;
    const floor = Math.max(CHANGE_FLOOR, before.resident / 100);
    const moved =
      Math.abs(resident.resident - before.resident) >= floor ||
      Math.abs(resident.shared - before.shared) >= floor ||
      resident.text !== before.text;
    if (!moved && timeMs - tracked.statusMs < STATUS_REFRESH_MS) return true;

    const memory = tracked.reader.read();
    if (!memory) return false;
    tracked.resident = resident;
    tracked.statusMs = timeMs;
    tracked.last = memory;
    if (memory.name !== tracked.name) {
      // exec'd another program under the same pid: its name now, its argv when read
      tracked.name = memory.name;
      this.writer.processStart(timeMs, pid, memory.ppid, memory.name, tracked.argv);
      this.readArgv(pid, tracked, timeMs);
    }
    if (changed(tracked.written, memory)) {
      this.writer.processMemory(timeMs, memory);
      tracked.written = memory;
    }
    return true;
  }

  private readPss(pid: number, timeMs: number): number {
    // hrtime, not performance.now(): Node loads perf_hooks on the global's first use, a few ms that the
    // first tick of every run would pay while a short job waits to be seen exiting.
    const started = process.hrtime.bigint();
    const pss = readPss(pid);
    if (pss) this.writer.processPss(timeMs, pid, pss);
    return Number(process.hrtime.bigint() - started) / 1e6;
  }
}

function changed(before: ProcessMemory, after: ProcessMemory): boolean {
  const total = before.rssAnon + before.rssFile + before.rssShmem + before.swap;
  const floor = Math.max(CHANGE_FLOOR, total / 100);
  return (
    Math.abs(after.rssAnon - before.rssAnon) >= floor ||
    Math.abs(after.rssFile - before.rssFile) >= floor ||
    Math.abs(after.rssShmem - before.rssShmem) >= floor ||
    Math.abs(after.swap - before.swap) >= floor
  );
}
