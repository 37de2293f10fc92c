import { type CgroupName, nameCgroup } from '../analyze/cgroup-name.js';
import type { MemoryBreakdown } from '../analyze/summarize.js';
import {
  type CgroupReader,
  type HostPaths,
  type ListedCgroup,
  listCgroups,
  type MemoryCgroup,
  type MemorySample,
  openCgroupReader,
} from '../kernel/index.js';
import { linearFit, type Point } from '../linear-fit.js';

export interface CgroupTableOptions {
  /** The cgroup to start from: the top of the visible hierarchy for a host, a container's own inside it. */
  top: MemoryCgroup;
  maxDepth?: number;
  maxCount?: number;
  /** Only cgroups whose path matches. */
  filter?: RegExp;
  now?: () => number;
  /**
   * Keep this many cgroups' files open between refreshes (default 0: open and close them each time). Open
   * files make a refresh much cheaper: most refreshes then re-read usage and memory.stat alone, and the
   * limits and event counters every `fullEvery`-th time. Each cgroup holds about ten descriptors.
   */
  keepOpen?: number;
  /** With files kept open: a full read (and a fresh listing) every this many refreshes; default 5. */
  fullEvery?: number;
  /** Where /proc is: the v2 root's figures come from /proc/meminfo and /proc/vmstat. */
  host?: HostPaths;
}

/** One cgroup at one moment, bytes, with its trend across refreshes. */
export interface CgroupRow extends CgroupName, MemoryBreakdown {
  path: string;
  depth: number;
  /** The cgroup's own limit, null when none. */
  limit: number | null;
  usage: number;
  workingSet: number;
  /** PSI "some" avg10 as a share (0..1), null when unreadable. */
  psiSome: number | null;
  psiFull: number | null;
  oomKills: number;
  limitHits: number;
  /** Working set growth, bytes per second, over the trend window; null until known or when not steady. */
  growthPerSecond: number | null;
  /** At that growth, seconds until the limit; null when not growing or no limit. */
  secondsUntilLimit: number | null;
}

/** The trend of the working set is read over this much history, kept from earlier refreshes. */
const TREND_WINDOW_MS = 5 * 60_000;
const TREND_MIN_POINTS = 3;
const TREND_STEP_MS = 5000;

/**
 * Every memory cgroup at and below a top, read on demand: what `headroom top` shows and the exporter
 * serves. Files are opened and closed per read, since keeping hundreds of cgroups' files open would cost
 * descriptors; the trend comes from the history of earlier refreshes.
 */
export class CgroupTable {
  private readonly history = new Map<
    string,
    { points: Point[]; fit: { slope: number; r2: number } | null }
  >();
  private readonly readers = new Map<string, CgroupReader>();
  /** The rows of the last refresh, kept by cgroups not read again between full reads. */
  private rows = new Map<string, CgroupRow>();
  private refreshes = 0;
  private listed: ListedCgroup[] | undefined;

  constructor(private readonly options: CgroupTableOptions) {}

  private readonly names = new Map<string, CgroupName>();

  /** Names are read off paths with a few regular expressions: once per cgroup, not per refresh. */
  private nameOf(path: string): CgroupName {
    let name = this.names.get(path);
    if (!name) {
      name = nameCgroup(path);
      this.names.set(path, name);
    }
    return name;
  }

  /** Closes the files kept open. */
  close(): void {
    for (const reader of this.readers.values()) reader.close();
    this.readers.clear();
  }

  /**
   * Reads the cgroups. With files kept open, a refresh that is not a full one may read only some of them:
   * `detail` is given the rows as of their last read and names the ones to read again, such as the rows
   * a screen shows; the others keep their values until the next full refresh.
   */
  refresh(detail?: (rows: readonly CgroupRow[]) => Iterable<string>): CgroupRow[] {
    const now = (this.options.now ?? Date.now)();
    let rows: CgroupRow[] = [];
    const full = this.refreshes % (this.options.fullEvery ?? 5) === 0;
    // Listing walks every directory (about 25 µs each): with files kept open, cgroups that appeared are
    // found on the next full refresh, and ones that vanished drop out when their files read as gone.
    if (full || !this.listed || !this.options.keepOpen) {
      this.listed = listCgroups(this.options.top, {
        ...(this.options.maxDepth === undefined ? {} : { maxDepth: this.options.maxDepth }),
        ...(this.options.maxCount === undefined ? {} : { maxCount: this.options.maxCount }),
      });
    }
    const listed = this.listed;
    this.refreshes++;
    const light = !full && detail !== undefined;
    const gone = new Set<string>();
    for (const cgroup of listed) {
      if (this.options.filter && !this.options.filter.test(cgroup.path)) continue;
      // Between full reads, a cgroup not asked for keeps its row as it was.
      const kept = light ? this.rows.get(cgroup.path) : undefined;
      if (kept) {
        rows.push(kept);
        continue;
      }
      const sample = this.read(cgroup.path, cgroup.dir, full);
      if (sample) rows.push(this.row(cgroup.path, cgroup.depth, sample, now));
    }
    if (light) {
      const index = new Map(rows.map((row, i) => [row.path, i]));
      const byPath = new Map(listed.map((cgroup) => [cgroup.path, cgroup]));
      for (const key of detail(rows)) {
        const at = index.get(key);
        const cgroup = byPath.get(key);
        if (at === undefined || !cgroup) continue;
        const sample = this.read(key, cgroup.dir, false);
        if (sample) rows[at] = this.row(key, cgroup.depth, sample, now);
        else gone.add(key);
      }
    }
    // A row whose cgroup could not be read (gone since) is dropped.
    if (gone.size > 0) rows = rows.filter((row) => !gone.has(row.path));
    this.rows = new Map(rows.map((row) => [row.path, row]));
    const seen = new Set(rows.map((row) => row.path));
    for (const key of this.history.keys()) if (!seen.has(key)) this.history.delete(key);
    for (const key of this.names.keys()) if (!seen.has(key)) this.names.delete(key);
    for (const [key, reader] of this.readers) {
      if (seen.has(key)) continue;
      reader.close();
      this.readers.delete(key);
    }
    return rows;
  }

  private read(key: string, dir: string, full: boolean): MemorySample | undefined {
    const cgroup = { version: this.options.top.version, dir };
    let reader = this.readers.get(key);
    if (!reader) {
      if (this.readers.size >= (this.options.keepOpen ?? 0)) return readOnce(cgroup, this.options.host);
      try {
        reader = openCgroupReader(cgroup, this.options.host);
      } catch {
        // Out of descriptors, or gone: a one-off read says which.
        return readOnce(cgroup, this.options.host);
      }
      this.readers.set(key, reader);
      full = true;
    }
    try {
      return reader.read(full);
    } catch {
      // Removed since: its files read as gone.
      reader.close();
      this.readers.delete(key);
      return undefined;
    }
  }

  private row(path: string, depth: number, sample: MemorySample, now: number): CgroupRow {
    const { workingSet } = sample;
    const trend = this.trend(path, workingSet, sample.limit, now);
    return {
      ...this.nameOf(path),
      path,
      depth,
      limit: sample.limit,
      usage: sample.usage,
      workingSet,
      anon: sample.anon,
      file: sample.file,
      fileDirty: sample.fileDirty,
      fileWriteback: sample.fileWriteback,
      shmem: sample.shmem,
      kernel: sample.kernel,
      swap: sample.swap,
      psiSome: sample.pressure ? sample.pressure.some.avg10 / 100 : null,
      psiFull: sample.pressure?.full ? sample.pressure.full.avg10 / 100 : null,
      oomKills: sample.oomKills,
      limitHits: sample.limitHits,
      ...trend,
    };
  }

  private trend(
    key: string,
    workingSet: number,
    limit: number | null,
    now: number,
  ): { growthPerSecond: number | null; secondsUntilLimit: number | null } {
    const history = this.history.get(key) ?? { points: [], fit: null };
    this.history.set(key, history);
    const { points } = history;
    // A point every TREND_STEP_MS is plenty for a five-minute trend, and the fit is redone only when one
    // is added: at 1 Hz over hundreds of cgroups, fitting every refresh would cost more than reading them.
    if (points.length === 0 || now - (points[points.length - 1]?.t ?? now) >= TREND_STEP_MS) {
      points.push({ t: now, value: workingSet });
      while (points.length > 0 && (points[0]?.t ?? now) < now - TREND_WINDOW_MS) points.shift();
      history.fit = points.length < TREND_MIN_POINTS ? null : linearFit(points);
    }
    if (!history.fit) return { growthPerSecond: null, secondsUntilLimit: null };
    const growthPerSecond = history.fit.r2 >= 0.8 ? history.fit.slope * 1000 : 0;
    const secondsUntilLimit =
      limit !== null && growthPerSecond > 0 ? Math.max(0, (limit - workingSet) / growthPerSecond) : null;
    return { growthPerSecond, secondsUntilLimit };
  }
}

function readOnce(
  cgroup: Pick<MemoryCgroup, 'version' | 'dir'>,
  host: HostPaths | undefined,
): MemorySample | undefined {
  let reader: ReturnType<typeof openCgroupReader> | undefined;
  try {
    reader = openCgroupReader(cgroup, host);
    return reader.read(true);
  } catch {
    // Removed while we read, or not a memory cgroup (memory not enabled for it).
    return undefined;
  } finally {
    reader?.close();
  }
}
