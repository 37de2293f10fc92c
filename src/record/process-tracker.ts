import { type ProcessMemory, ProcessReader, type ResidentMemory, readPss } from '../kernel/index.js';
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
  /** argv as last recorded. */
  argv: string[];
  /**
   * Until when argv is read again on each sample (undefined once it changed or the time passed): a process
   * first seen between fork and exec shows its parent's argv, and an exec of the same program (python3
   * starting a multiprocessing worker, node a node child) keeps the name that would otherwise tell. On a
   * busy machine the exec can come well after the fork, hence a while rather than one more look.
   */
  argvCheckUntilMs: number | undefined;
}

const CHANGE_FLOOR = 64 * 1024;
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

  close(): void {
    for (const tracked of this.tracked.values()) tracked.reader.close();
    this.tracked.clear();
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
    const argv = reader.argv();
    this.writer.processStart(timeMs, pid, memory.ppid, memory.name, argv);
    this.writer.processMemory(timeMs, memory);
    const turn = this.nextTurn++ % this.quietEvery;
    this.tracked.set(pid, {
      reader,
      name: memory.name,
      resident,
      statusMs: timeMs,
      last: memory,
      written: memory,
      turn,
      argv,
      argvCheckUntilMs: timeMs + ARGV_SETTLE_MS,
    });
    (this.turns[turn] as number[]).push(pid);
    this.pss.add(pid);
    return true;
  }

  private update(pid: number, timeMs: number): boolean {
    const tracked = this.tracked.get(pid) as Tracked;
    const resident = tracked.reader.readResident();
    if (!resident) return false;
    if (tracked.argvCheckUntilMs !== undefined) {
      const argv = timeMs <= tracked.argvCheckUntilMs ? tracked.reader.argv() : [];
      if (argv.length > 0 && argv.join('\0') !== tracked.argv.join('\0')) {
        const memory = tracked.reader.read();
        if (!memory) return false;
        tracked.name = memory.name;
        tracked.argv = argv;
        this.writer.processStart(timeMs, pid, memory.ppid, memory.name, argv);
        tracked.argvCheckUntilMs = undefined;
      } else if (timeMs > tracked.argvCheckUntilMs) tracked.argvCheckUntilMs = undefined;
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
      // exec'd another program under the same pid
      tracked.name = memory.name;
      tracked.argv = tracked.reader.argv();
      this.writer.processStart(timeMs, pid, memory.ppid, memory.name, tracked.argv);
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
