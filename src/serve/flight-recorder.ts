import fs from 'node:fs';
import path from 'node:path';
import { nameCgroup } from '../analyze/cgroup-name.js';
import { messageOf } from '../errors.js';
import {
  type CgroupReader,
  fileIn,
  type HostPaths,
  isRootCgroup,
  KernelOomLog,
  type ListedCgroup,
  type LoggedOomKill,
  listCgroups,
  type MemoryCgroup,
  type MemorySample,
  openCgroupReader,
  PodLogNames,
} from '../kernel/index.js';
import type { SampleValues } from '../record/capture-writer.js';
import { sampleValuesOf } from '../record/sampler.js';
import { writePostmortem } from './postmortem-capture.js';
import type { PostmortemStore } from './postmortem-store.js';
import { ProcessRoster, type SeenProcess } from './process-roster.js';
import { type RingSample, SampleRing } from './sample-ring.js';

export interface FlightRecorderOptions {
  top: MemoryCgroup;
  host: HostPaths;
  store: PostmortemStore;
  maxDepth?: number;
  maxCount?: number;
  filter?: RegExp;
  /** Bytes all rings may take together; cgroups beyond it are not recorded (default 32 MiB). */
  ringBudget?: number;
  now?: () => number;
  /** headroom's own messages: a cgroup left out, a post-mortem written or refused. */
  note?: (line: string) => void;
}

/** One watched cgroup. */
interface Watched {
  listed: ListedCgroup;
  reader: CgroupReader;
  ring: SampleRing;
  roster: ProcessRoster;
  last: MemorySample | undefined;
  /** When `last` was read, and the values it gave, as the ring stores them. */
  lastMs: number;
  lastValues: SampleValues | undefined;
  /** Usage at the last full read: a cool cgroup whose usage holds near it is not read in full again. */
  fullUsage: number;
  fullAtMs: number;
  /** The kill counter at the last read. */
  oomKills: number | undefined;
  /** Until when it is sampled at the fine rate (it was hot). */
  fineUntilMs: number;
  lastRosterMs: number;
  /** When its usage last moved enough to be read in full, and when it was last read at all. */
  movedMs: number;
  readMs: number;
  /** inotify on memory.events (v2) and on the directory, for new child cgroups. */
  watchers: fs.FSWatcher[];
  /** Whether the directory's watch is in place: cgroups made below it are adopted as they appear. */
  dirWatched: boolean;
  /** memory.events changed (v2 tells through inotify): read it at the next tick, hot or not. */
  poked: boolean;
  /** Kills the kernel logged in this cgroup, not yet in a post-mortem. */
  logged: LoggedOomKill[];
  /** The hierarchy's root: its counter is the host's (v2: /proc/vmstat), never a kill of its own. */
  root: boolean;
}

interface PendingKill {
  watched: Watched;
  atMs: number;
  count: number;
  /** Processes that vanished as the counter rose, largest first: the victims when the kernel's log is shut. */
  vanished: SeenProcess[];
  writeAtMs: number;
}

const TICK_MS = 100;
const COARSE_MS = 1000;
/**
 * New cgroups are found by listing the hierarchy this often (walking 500 cgroups takes about 12 ms) where
 * a part of it has no inotify watch: cgroups left out by the filter or the budget, or a watch refused.
 */
const LIST_MS = 5000;
/**
 * Where every watched cgroup's directory has its inotify watch, a new cgroup is adopted as it is made and
 * one removed is noticed then: the listing is only a net under that, at this pace.
 */
const LIST_COVERED_MS = 60_000;
/** After inotify told of a new cgroup; at most this often when containers come and go in numbers. */
const RELIST_SOON_MS = 200;
/**
 * A cool cgroup is read in full (usage, memory.stat, limits, counters: ten files on v1) at least this
 * often, and otherwise only when its usage moved from the last full read by a quarter MiB or 1 %. A kill
 * moves usage (the victim's memory is freed) and v2 and the kernel's log tell of it at once. What waits
 * for the full read is a shift between anon and cache at a steady total, which a post-mortem can take a
 * minute late: growth toward a limit moves usage, and a hot cgroup is read in full each second.
 */
const FULL_EVERY_MS = 60_000;
/** A fine cgroup whose usage holds still is read in full this often. */
const FINE_FULL_EVERY_MS = 5000;
/**
 * A cool cgroup whose usage has held still this long is read every QUIET_EVERY_MS rather than each
 * second, until it moves: most cgroups on a node idle for hours, and usage of each every second was most
 * of the recorder's own CPU. Its ring stores it once a minute either way.
 */
const QUIET_MS = 60_000;
const QUIET_EVERY_MS = 2000 - TICK_MS / 2;
const STILL_BYTES = 256 * 1024;
const SWEEP_BYTES = 1024 * 1024;
/** Above this share of its limit a cgroup is sampled at the fine rate, and its processes read each second. */
const HOT_SHARE = 0.8;
/**
 * From this share of its limit on, a hot cgroup that holds cache or swap has its memory.stat read every
 * fine tick, still or not.
 */
const PRESSED_SHARE = 0.95;
/** Growth per coarse tick, as a share of the limit (or bytes without one), that makes a cgroup hot. */
const HOT_GROWTH_SHARE = 0.1;
const HOT_GROWTH_BYTES = 256 * 1024 * 1024;
/** A cgroup stays at the fine rate this long after it was last hot. */
const FINE_HOLD_MS = 60_000;
/** A cgroup that appears while the recorder runs is sampled at the fine rate this long. */
const YOUNG_MS = 10_000;
/** A cool cgroup's processes are read about this often, a few cgroups per tick. */
const COOL_ROSTER_MS = 30_000;
/** A cool cgroup whose usage has not moved since its processes were last read is read this often. */
const QUIET_ROSTER_MS = 300_000;
/** A hot cgroup's processes are read each second while its usage moves, and this often while it holds still. */
const STILL_ROSTER_MS = 5000;
/** After a kill, wait this long for kills counted in its ancestors and for its victim to be reaped. */
const SETTLE_MS = 300;
/** A kill counted in an ancestor this long after one below it is the same kill. */
const RECENT_MS = 15_000;

/**
 * A flight recorder for every memory cgroup below a top: a ring of recent samples each (see SampleRing),
 * their processes as last seen, and a post-mortem capture written for each OOM kill. Kills are seen
 * through each cgroup's kill counter: on v2 memory.events, whose changes inotify reports at once, and
 * on v1 memory.oom_control, read each tick while a cgroup is hot and each second otherwise. A v2 kill
 * is counted in the victim's cgroup and in each of its ancestors: only the deepest gets the post-mortem.
 */
export class FlightRecorder {
  private readonly watched = new Map<string, Watched>();
  private readonly pending: PendingKill[] = [];
  private readonly names: PodLogNames;
  private kernelLog: KernelOomLog | undefined;
  private readonly now: () => number;
  private readonly coarseBytes: number;
  private readonly fineBytes: number;
  private listedAtMs = Number.NEGATIVE_INFINITY;
  private listings = 0;
  /** A cgroup was made below a watched one: list again soon. */
  private relistSoon = false;
  /** Whether inotify watches cover every cgroup that could appear (see LIST_COVERED_MS). */
  private covered = false;
  private coarseAtMs = Number.NEGATIVE_INFINITY;
  private rosterTurn = 0;
  private fineCount = 0;
  /** Kills the kernel logged in cgroups not watched (gone before a listing found them), for a while. */
  private unplaced: Array<{ kill: LoggedOomKill; atMs: number }> = [];
  /** Kills recorded (or left to a deeper cgroup) lately: a kill counted again in an ancestor is not new. */
  private recent: Array<{ path: string; atMs: number }> = [];
  private readonly budget: number;
  private timer: NodeJS.Timeout | undefined;
  private toldDropped = 0;
  /** Post-mortems written since the start. */
  written = 0;
  /** Kills seen whose post-mortem the bounds refused. */
  refused = 0;
  /** Cgroups not recorded because the rings' budget is spent. */
  dropped = 0;

  constructor(private readonly options: FlightRecorderOptions) {
    this.names = new PodLogNames(options.host);
    this.now = options.now ?? Date.now;
    const bytes = SampleRing.bytesFor();
    this.coarseBytes = bytes.coarse;
    this.fineBytes = bytes.fine;
    this.budget = options.ringBudget ?? 32 * 1024 * 1024;
  }

  /** Ticks every 100 ms until stop(). */
  start(): void {
    this.kernelLog = KernelOomLog.open(this.options.host);
    if (!this.kernelLog) {
      this.options.note?.(
        "the kernel's log (/dev/kmsg) cannot be read here: OOM victims are named from the processes that vanished at the kill",
      );
    }
    this.tick();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const watched of this.watched.values()) this.forget(watched);
    this.kernelLog?.close();
    this.kernelLog = undefined;
  }

  /** How many cgroups are recorded, and the bytes their rings hold. */
  get size(): { cgroups: number; bytes: number } {
    let bytes = 0;
    for (const watched of this.watched.values()) bytes += watched.ring.bytes;
    return { cgroups: this.watched.size, bytes };
  }

  /** One step: list when due, read what is due, and write the post-mortems whose kills have settled. */
  tick(): void {
    const now = this.now();
    const listEvery = this.relistSoon ? RELIST_SOON_MS : this.covered ? LIST_COVERED_MS : LIST_MS;
    if (now - this.listedAtMs >= listEvery) this.relist(now);
    const coarse = now - this.coarseAtMs >= COARSE_MS;
    if (coarse) this.coarseAtMs = now;
    for (const kill of this.kernelLog?.read() ?? []) {
      const watched = this.watchedAt(kill.taskCgroup);
      if (!watched) {
        // Its cgroup came and went between two listings: the ancestor that counted it will take it.
        this.unplaced.push({ kill, atMs: now });
        continue;
      }
      watched.logged.push(kill);
      watched.poked = true; // v1 has no inotify on its counter: the log tells first
    }
    for (const watched of this.watched.values()) {
      if (watched.poked || watched.ring.isFine) this.read(watched, now, coarse);
      else if (coarse && (now - watched.movedMs < QUIET_MS || now - watched.readMs >= QUIET_EVERY_MS))
        this.read(watched, now, coarse);
    }
    if (coarse) this.refreshCoolRosters(now);
    this.writeSettled(now);
  }

  private relist(now: number): void {
    this.listings++;
    this.listedAtMs = now;
    this.relistSoon = false;
    const { top, maxDepth, maxCount, filter } = this.options;
    const listed = listCgroups(top, {
      ...(maxDepth === undefined ? {} : { maxDepth }),
      ...(maxCount === undefined ? {} : { maxCount }),
    });
    const seen = new Set<string>();
    let dropped = 0;
    // A cgroup left out has no watch, so one made below it would be found only by listing.
    let covered = maxCount === undefined || listed.length < maxCount;
    for (const cgroup of listed) {
      if (filter && !filter.test(cgroup.path)) {
        covered = false;
        continue;
      }
      seen.add(cgroup.path);
      const known = this.watched.get(cgroup.path);
      if (known) {
        covered &&= known.dirWatched;
        continue;
      }
      if (!this.hasRoom()) {
        dropped++;
        covered = false;
        continue;
      }
      // A cgroup that appears while the recorder runs is new: every kill it has counted is one to record,
      // even one before its first read. Those there at the start have counted kills of the past.
      const watched = this.watch(cgroup, this.listings > 1);
      covered &&= watched?.dirWatched ?? false;
    }
    this.covered = covered;
    for (const [cgroupPath, watched] of this.watched) {
      // A cgroup with a kill waiting keeps its ring until the post-mortem is written.
      if (seen.has(cgroupPath)) continue;
      this.killedIfLogged(watched, now);
      if (!this.pending.some((kill) => kill.watched === watched)) this.forget(watched);
    }
    this.dropped = dropped;
    if (dropped > 0 && dropped !== this.toldDropped) {
      this.options.note?.(
        `${dropped} cgroup(s) are not recorded: the rings' budget is spent (raise --ring-budget)`,
      );
    }
    this.toldDropped = dropped;
  }

  /**
   * The watched cgroup the kernel names: its paths are the host's, which end with ours when headroom
   * sees only a part of the tree (a cgroup namespace).
   */
  private watchedAt(kernelPath: string): Watched | undefined {
    const exact = this.watched.get(kernelPath);
    if (exact) return exact;
    // The longest such path: "/a/b" ends "/x/a/b", and so does "/b", which is another cgroup.
    let found: Watched | undefined;
    for (const watched of this.watched.values()) {
      const own = watched.listed.path;
      if (own !== '/' && kernelPath.endsWith(own) && own.length > (found?.listed.path.length ?? 0))
        found = watched;
    }
    return found;
  }

  /**
   * The bytes the rings may come to: each at its full coarse capacity, and the fine tiers there are. They
   * start smaller and grow as they fill; the budget bounds where they can get to.
   */
  private reserved(): number {
    return this.watched.size * this.coarseBytes + this.fineCount * this.fineBytes;
  }

  /** Whether the budget has room for one more cgroup's ring. */
  private hasRoom(): boolean {
    return this.reserved() + this.coarseBytes <= this.budget;
  }

  private watch(listed: ListedCgroup, isNew: boolean): Watched | undefined {
    let reader: CgroupReader;
    try {
      reader = openCgroupReader({ version: this.options.top.version, dir: listed.dir }, this.options.host);
    } catch {
      return undefined; // gone while listed, or not a memory cgroup we can read
    }
    const watched: Watched = {
      listed,
      reader,
      ring: new SampleRing(),
      roster: new ProcessRoster(fileIn(listed.dir, 'cgroup.procs'), this.options.host),
      last: undefined,
      lastMs: Number.NEGATIVE_INFINITY,
      lastValues: undefined,
      fullUsage: Number.NEGATIVE_INFINITY,
      fullAtMs: Number.NEGATIVE_INFINITY,
      // The v2 root counts every kill on the host (/proc/vmstat): never a kill of its own.
      oomKills: isNew ? 0 : undefined,
      root: isRootCgroup(this.options.top.version, listed.dir),
      // A young cgroup is read at the fine rate for its first seconds: a container that runs out of memory
      // as it starts fills its limit in well under the second between coarse reads.
      fineUntilMs: isNew ? this.now() + YOUNG_MS : Number.NEGATIVE_INFINITY,
      lastRosterMs: Number.NEGATIVE_INFINITY,
      movedMs: this.now(),
      readMs: Number.NEGATIVE_INFINITY,
      watchers: [],
      dirWatched: false,
      poked: isNew,
      logged: [],
    };
    // kernfs reports every change of v2's memory.events: a kill is read within a tick, not a second.
    if (this.options.top.version === 2) {
      this.inotify(watched, path.join(listed.dir, 'memory.events'), () => {
        watched.poked = true;
      });
    }
    // And a cgroup made below this one (a container starting): listed at the next tick, not in seconds,
    // so that one killed soon after its start is watched already.
    watched.dirWatched = this.inotify(
      watched,
      listed.dir,
      (event, name) => {
        if (event === 'rename' && name) this.adopt(watched, name);
      },
      () => {
        watched.dirWatched = false; // the next listings keep the 5 s pace
      },
    );
    if (!watched.dirWatched) this.covered = false;
    this.watched.set(listed.path, watched);
    return watched;
  }

  /**
   * A directory appeared in (or left) a watched cgroup: a new cgroup is watched and read at once, not at
   * the next listing, so that a container killed as it starts is seen; one gone is forgotten then.
   */
  private adopt(parent: Watched, name: string): void {
    const listed: ListedCgroup = {
      path: path.posix.join(parent.listed.path, name),
      dir: path.join(parent.listed.dir, name),
      depth: parent.listed.depth + 1,
    };
    const { filter, maxDepth } = this.options;
    if (this.watched.has(listed.path) || listed.depth > (maxDepth ?? 8)) return;
    if ((filter && !filter.test(listed.path)) || !this.hasRoom()) {
      this.covered = false; // what is made below it can only be listed
      return;
    }
    try {
      if (!fs.statSync(listed.dir).isDirectory()) return;
    } catch {
      this.relistSoon = true; // removed: the listing forgets it
      return;
    }
    const watched = this.watch(listed, true);
    if (watched) this.read(watched, this.now(), true);
  }

  /** Watches `file` through inotify where it can; without, the periodic reads and listings still see all. */
  private inotify(
    watched: Watched,
    file: string,
    onEvent: (event: string, name: string | null) => void,
    onLost?: () => void,
  ): boolean {
    try {
      const watcher = fs.watch(file, { persistent: false }, (event, name) => onEvent(event, name));
      watcher.on('error', () => {
        watcher.close();
        this.covered = false;
        onLost?.();
      });
      watched.watchers.push(watcher);
      return true;
    } catch {
      return false; // no inotify here, or out of watches
    }
  }

  private forget(watched: Watched): void {
    if (watched.ring.isFine) this.fineCount--;
    for (const watcher of watched.watchers) watcher.close();
    watched.reader.close();
    this.watched.delete(watched.listed.path);
  }

  private read(watched: Watched, now: number, coarse: boolean): void {
    const poked = watched.poked;
    watched.poked = false;
    watched.readMs = now;
    const wasFine = watched.ring.isFine;
    let sample: MemorySample;
    let full: boolean;
    try {
      // Usage first, one file: most cgroups, most reads, hold still, and then nothing else is read.
      const usage = watched.reader.readUsage();
      if (Math.abs(usage - watched.fullUsage) >= Math.max(STILL_BYTES, 0.01 * usage)) watched.movedMs = now;
      if (!poked && watched.lastValues && this.holdsStill(watched, usage, now)) {
        watched.ring.push(now, watched.lastValues);
        return;
      }
      // A cool cgroup is read in full; a fine one's limits and counters are read each second or when
      // usage moved by a MiB, as a kill moves it, and its memory.stat each time.
      full =
        !wasFine ||
        coarse ||
        poked ||
        Math.abs(usage - watched.fullUsage) >= SWEEP_BYTES ||
        now - watched.fullAtMs >= FINE_FULL_EVERY_MS;
      sample = watched.reader.read(full, usage);
    } catch {
      // The cgroup is going. One the kernel logged a kill in gets its post-mortem from what its ring
      // holds (a container killed as it started, removed before its counter was read); the next listing
      // forgets the others.
      this.killedIfLogged(watched, now);
      return;
    }
    const previous = watched.last;
    watched.last = sample;
    watched.lastMs = now;
    watched.lastValues = sampleValuesOf(sample);
    if (full) {
      watched.fullUsage = sample.usage;
      watched.fullAtMs = now;
    }
    watched.ring.push(now, watched.lastValues);
    const limit = this.limitOf(watched).bytes;
    const hot =
      (limit !== null && sample.usage >= HOT_SHARE * limit) ||
      (coarse &&
        previous !== undefined &&
        sample.usage - previous.usage >= (limit === null ? HOT_GROWTH_BYTES : HOT_GROWTH_SHARE * limit));
    if (hot) watched.fineUntilMs = now + FINE_HOLD_MS;
    const fine = now < watched.fineUntilMs;
    if (fine !== watched.ring.isFine) {
      // The fine tier only fits while the budget has room; a cgroup refused it stays at 1 s.
      if (!fine || this.reserved() + this.fineBytes <= this.budget) {
        watched.ring.setFine(fine);
        this.fineCount += fine ? 1 : -1;
      }
    }
    if (hot && now - watched.lastRosterMs >= COARSE_MS) this.refreshRoster(watched, now);
    const kills = watched.oomKills === undefined || watched.root ? 0 : sample.oomKills - watched.oomKills;
    watched.oomKills = sample.oomKills;
    if (kills > 0) this.killed(watched, now, kills);
  }

  /**
   * Whether the last values stand: usage moved less than STILL_BYTES (or 1 %, at the coarse rate) from
   * the last full read, and that read is recent enough. At the fine rate not when the cgroup is pressed
   * against its limit and holds cache or swap, where reclaim trades them for anon at a steady total; a
   * hot cgroup that holds still stays at the fine rate, its processes read every few seconds.
   */
  private holdsStill(watched: Watched, usage: number, now: number): boolean {
    const moved = Math.abs(usage - watched.fullUsage);
    if (!watched.ring.isFine)
      return now - watched.fullAtMs < FULL_EVERY_MS && moved < Math.max(STILL_BYTES, 0.01 * usage);
    if (moved >= STILL_BYTES || now - watched.fullAtMs >= FINE_FULL_EVERY_MS) return false;
    const limit = this.limitOf(watched).bytes;
    // Pressed against its limit with cache (or swap) to trade: the total holds while anon takes over.
    const last = watched.last;
    const tradable = last !== undefined && (last.file >= SWEEP_BYTES || last.swap > 0);
    if (limit !== null && usage >= PRESSED_SHARE * limit && tradable) return false;
    if (limit !== null && usage >= HOT_SHARE * limit) {
      watched.fineUntilMs = now + FINE_HOLD_MS;
      if (now - watched.lastRosterMs >= STILL_ROSTER_MS) this.refreshRoster(watched, now);
    }
    return true;
  }

  /** The lowest of the cgroup's own limit and its watched ancestors', with how many levels up it is. */
  private limitOf(watched: Watched): { bytes: number | null; depth: number | null } {
    let bytes = watched.last?.limit ?? null;
    let depth: number | null = bytes === null ? null : 0;
    let at = watched.listed.path;
    for (let up = 1; at !== '/' && at !== '.'; up++) {
      at = path.posix.dirname(at);
      const ancestor = this.watched.get(at)?.last?.limit ?? null;
      if (ancestor !== null && (bytes === null || ancestor < bytes)) {
        bytes = ancestor;
        depth = up;
      }
    }
    return { bytes, depth };
  }

  private refreshRoster(watched: Watched, now: number): void {
    watched.roster.refresh(now);
    watched.lastRosterMs = now;
  }

  /** A few cool cgroups' processes per second, in turn, so that a sudden kill still finds a recent list. */
  private refreshCoolRosters(now: number): void {
    const all = [...this.watched.values()];
    const perTick = Math.max(1, Math.ceil(all.length / (COOL_ROSTER_MS / COARSE_MS)));
    for (let i = 0; i < perTick && all.length > 0; i++) {
      const watched = all[this.rosterTurn++ % all.length] as Watched;
      const age = now - watched.lastRosterMs;
      // Processes come and go with memory: one whose usage has not moved since has the same ones, most
      // likely, and is read again only after a while.
      if (age >= COOL_ROSTER_MS && (watched.movedMs >= watched.lastRosterMs || age >= QUIET_ROSTER_MS))
        this.refreshRoster(watched, now);
    }
  }

  /** A cgroup with kills in the kernel's log and none waiting: they are its kills, counter or not. */
  private killedIfLogged(watched: Watched, now: number): void {
    if (watched.logged.length > 0 && !this.pending.some((kill) => kill.watched === watched))
      this.killed(watched, now, watched.logged.length);
  }

  private killed(watched: Watched, now: number, count: number): void {
    // The victim is gone by now: what vanished since the last read of its processes, largest first.
    this.refreshRoster(watched, now);
    watched.fineUntilMs = now + FINE_HOLD_MS;
    const vanished = watched.roster.takeVanished();
    this.pending.push({ watched, atMs: now, count, vanished, writeAtMs: now + SETTLE_MS });
  }

  private writeSettled(now: number): void {
    const due = this.pending.filter((kill) => kill.writeAtMs <= now);
    if (due.length === 0) return;
    for (const kill of due) this.pending.splice(this.pending.indexOf(kill), 1);
    this.recent = this.recent.filter((kill) => now - kill.atMs <= RECENT_MS);
    this.unplaced = this.unplaced.filter((entry) => now - entry.atMs <= RECENT_MS);
    for (const kill of due) {
      // Counted again in an ancestor: the kill belongs to the deepest cgroup that counted it. An
      // ancestor's counter may be read later than its child's (one without inotify), so recent
      // kills below count as well as those waiting.
      const below = (path: string) => isBelow(path, kill.watched.listed.path);
      const deeper =
        [...due, ...this.pending].some(
          (other) =>
            other !== kill &&
            below(other.watched.listed.path) &&
            Math.abs(other.atMs - kill.atMs) <= 2 * SETTLE_MS,
        ) ||
        this.recent.some((other) => below(other.path) && kill.atMs - other.atMs <= RECENT_MS) ||
        // The kernel named a watched cgroup below as the victim's: its post-mortem is on its way.
        [...this.watched.values()].some((other) => other.logged.length > 0 && below(other.listed.path));
      this.recent.push({ path: kill.watched.listed.path, atMs: kill.atMs });
      if (!deeper) this.record(kill);
    }
    for (const kill of due) {
      if (
        !fs.existsSync(kill.watched.listed.dir) &&
        this.watched.get(kill.watched.listed.path) === kill.watched
      )
        this.forget(kill.watched);
    }
  }

  /** Kernel-logged kills in cgroups below `watched` that were never watched: it counted them. */
  private takeUnplaced(watched: Watched): LoggedOomKill[] {
    const taken = this.unplaced.filter(({ kill }) => isBelow(kill.taskCgroup, watched.listed.path, true));
    this.unplaced = this.unplaced.filter((entry) => !taken.includes(entry));
    return taken.map(({ kill }) => kill);
  }

  private record(kill: PendingKill): void {
    const { watched } = kill;
    // A victim may still have been exiting when the counter rose: it has vanished by now.
    watched.roster.refresh(this.now());
    kill.vanished.push(...watched.roster.takeVanished());
    const own = watched.logged.length > 0;
    const below = own ? [] : this.takeUnplaced(watched);
    // The kill was in a cgroup made and gone between two reads (a container killed as it started): the
    // post-mortem is named after it, from the samples of this ancestor, which held its memory.
    const gone = below[0] ? viewPath(below[0].taskCgroup, watched.listed.path) : undefined;
    const cgroupPath = gone ?? watched.listed.path;
    const admission = this.options.store.admit(cgroupPath);
    if (!admission.ok) {
      this.refused++;
      this.options.note?.(`no post-mortem for the OOM kill in ${cgroupPath}: ${admission.reason}`);
      return;
    }
    const named = nameCgroup(cgroupPath);
    const pod = named.podUid ? this.names.lookup(named.podUid, named.containerId) : undefined;
    // A file name that says whose it is: the pod's names, the engine's short name, else the last part of the path.
    const name = pod
      ? `${pod.namespace}_${pod.pod}${pod.container ? `_${pod.container}` : ''}`
      : named.kind === 'cgroup'
        ? path.posix.basename(cgroupPath)
        : named.name;
    try {
      const id = this.options.store.write(name, kill.atMs, (file) =>
        writePostmortem(file, {
          cgroup: { version: this.options.top.version, path: cgroupPath },
          name: pod
            ? `pod ${pod.namespace}/${pod.pod}${pod.container ? ` container ${pod.container}` : ''}`
            : named.name,
          ...(pod ? { pod } : {}),
          limit: gone ? { bytes: null, depth: null } : this.limitOf(watched),
          last: watched.last,
          samples: withLatest(watched),
          processes: watched.roster.processes,
          // The kernel says whose limit struck: the cgroup's own, or one above it.
          ...limitStruck(own ? watched.logged : below),
          victims: victimsOf(kill, below),
          ...(gone
            ? {
                note: `${gone} was made and OOM-killed between two of headroom's reads and is gone; the samples are of ${watched.listed.path}, which held its memory, and the limit is not its own`,
              }
            : {}),
          killedAtMs: kill.atMs,
          kills: kill.count,
          intervalMs: watched.ring.isFine ? TICK_MS : COARSE_MS,
          host: this.options.host,
        }),
      );
      this.written++;
      this.options.note?.(`post-mortem of the OOM kill in ${cgroupPath}: ${id}`);
    } catch (error) {
      this.options.note?.(`could not write the post-mortem of ${cgroupPath}: ${messageOf(error)}`);
    }
  }
}

/**
 * Whom the kill took: the kernel's own record where it could be read, with what the roster knew of each
 * pid (its parent and command line); else the largest processes that vanished as the counter rose.
 */
function victimsOf(kill: PendingKill, below: LoggedOomKill[]): SeenProcess[] {
  const own = kill.watched.logged.splice(0);
  const logged = own.length > 0 ? own : below;
  if (logged.length === 0) return kill.vanished.slice(0, kill.count);
  return logged.map((entry) => {
    const seen =
      kill.vanished.find((process) => process.pid === entry.pid) ?? kill.watched.roster.lastSeen(entry.pid);
    return {
      pid: entry.pid,
      ppid: seen?.ppid ?? 0,
      name: entry.name,
      argv: seen?.argv ?? [],
      rssAnon: entry.anonRss,
      rssFile: entry.fileRss,
      rssShmem: entry.shmemRss,
      swap: seen?.swap ?? 0,
      seenMs: kill.atMs,
    };
  });
}

/** The ring's samples, and the last full read after them when the ring did not store it (it held still). */
function withLatest(watched: Watched): RingSample[] {
  const samples = watched.ring.samples();
  const last = samples.at(-1)?.timeMs ?? Number.NEGATIVE_INFINITY;
  if (watched.lastValues && watched.lastMs > last)
    samples.push({ timeMs: watched.lastMs, values: watched.lastValues });
  return samples;
}

/**
 * Whether cgroup `path` is strictly below `ancestor`. `kernel` paths are the host's, which may have more
 * in front than the recorder's view of the tree (a cgroup namespace): there `ancestor` may sit anywhere.
 */
function isBelow(path: string, ancestor: string, kernel = false): boolean {
  const prefix = ancestor === '/' ? '/' : `${ancestor}/`;
  if (path.startsWith(prefix) && path !== ancestor) return true;
  return kernel && ancestor !== '/' && path.includes(prefix);
}

/** A path the kernel logged, in the recorder's view: from where `ancestor` (one of ours) begins in it. */
function viewPath(kernelPath: string, ancestor: string): string {
  if (ancestor === '/') return kernelPath;
  const at = kernelPath.indexOf(`${ancestor}/`);
  return at === -1 ? kernelPath : kernelPath.slice(at);
}

function limitStruck(logged: LoggedOomKill[]): { limitStruck?: 'own' | 'above' } {
  const first = logged[0];
  if (!first) return {};
  return { limitStruck: first.oomCgroup === first.taskCgroup ? 'own' : 'above' };
}
