import { Counter, Gauge, Registry } from 'prom-client';
import { nameCgroup } from '../analyze/cgroup-name.js';
import { linearFit, type Point } from '../analyze/linear-fit.js';
import { listCgroups, type MemoryCgroup, type MemorySample, openCgroupReader } from '../kernel/index.js';

export interface CgroupMetricsOptions {
  /** The cgroup to start from: the top of the visible hierarchy for a host, a container's own inside it. */
  top: MemoryCgroup;
  maxDepth?: number;
  maxCount?: number;
  /** Only cgroups whose path matches. */
  filter?: RegExp;
  now?: () => number;
}

/** The trend of the working set is read over this much history, kept from earlier scrapes. */
const TREND_WINDOW_MS = 5 * 60_000;
const TREND_MIN_POINTS = 3;

const LABELS = ['cgroup', 'name', 'kind', 'component'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

/**
 * Prometheus metrics of every memory cgroup at and below `top`, read when scraped (refresh()), in a
 * registry of their own. Names follow the conventions: one prefix, base units, _bytes, _seconds, _total.
 */
export class CgroupMetrics {
  readonly registry = new Registry();
  private readonly gauges: Record<string, Gauge<(typeof LABELS)[number]>>;
  private readonly counters: Record<string, Counter<(typeof LABELS)[number]>>;
  private readonly exported: Gauge;
  private readonly history = new Map<string, Point[]>();

  constructor(private readonly options: CgroupMetricsOptions) {
    const gauge = (name: string, help: string) =>
      new Gauge({ name: `headroom_memory_${name}`, help, labelNames: LABELS, registers: [this.registry] });
    const counter = (name: string, help: string) =>
      new Counter({ name: `headroom_memory_${name}`, help, labelNames: LABELS, registers: [this.registry] });
    this.gauges = {
      limit: gauge(
        'limit_bytes',
        "The cgroup's own memory limit (memory.max, memory.limit_in_bytes); absent when none.",
      ),
      usage: gauge(
        'usage_bytes',
        'Memory charged to the cgroup, page cache included: what the limit is checked against.',
      ),
      workingSet: gauge(
        'working_set_bytes',
        'Usage minus inactive page cache, as the kubelet and docker stats count it.',
      ),
      anon: gauge('anon_bytes', 'Anonymous memory: what the processes allocated.'),
      file: gauge('file_bytes', 'Page cache, shmem excluded.'),
      dirty: gauge('file_dirty_bytes', 'Page cache waiting to be written to disk.'),
      writeback: gauge('file_writeback_bytes', 'Page cache being written to disk.'),
      shmem: gauge('shmem_bytes', 'tmpfs and /dev/shm: not reclaimable without swap.'),
      kernel: gauge(
        'kernel_bytes',
        'Kernel memory charged to the cgroup (slab, stacks, page tables, sockets).',
      ),
      swap: gauge('swap_bytes', 'Swap used by the cgroup.'),
      psiSome: gauge(
        'pressure_some_ratio',
        'Share of the last 10 s some tasks stalled waiting for memory (PSI).',
      ),
      psiFull: gauge(
        'pressure_full_ratio',
        'Share of the last 10 s all tasks stalled waiting for memory (PSI).',
      ),
      untilLimit: gauge(
        'seconds_until_limit',
        'At the working set trend of the last 5 minutes, seconds until the limit; absent when not growing.',
      ),
    };
    this.counters = {
      oomKills: counter('oom_kills_total', 'Processes the OOM killer killed in the cgroup.'),
      limitHits: counter('limit_hits_total', 'Times usage hit the limit (v1 failcnt, v2 memory.events max).'),
    };
    this.exported = new Gauge({
      name: 'headroom_exporter_cgroups',
      help: 'Cgroups exported by the last scrape.',
      registers: [this.registry],
    });
  }

  /** Reads every cgroup now and replaces the previous values; cgroups gone since are dropped. */
  refresh(): void {
    const now = (this.options.now ?? Date.now)();
    for (const metric of [...Object.values(this.gauges), ...Object.values(this.counters)]) metric.reset();
    const seen = new Set<string>();
    const cgroups = listCgroups(this.options.top, {
      ...(this.options.maxDepth === undefined ? {} : { maxDepth: this.options.maxDepth }),
      ...(this.options.maxCount === undefined ? {} : { maxCount: this.options.maxCount }),
    });
    for (const listed of cgroups) {
      if (this.options.filter && !this.options.filter.test(listed.path)) continue;
      const sample = readOnce({ version: this.options.top.version, dir: listed.dir });
      if (!sample) continue;
      seen.add(listed.path);
      this.set(listed.path, sample, now);
    }
    for (const key of this.history.keys()) if (!seen.has(key)) this.history.delete(key);
    this.exported.set(seen.size);
  }

  private set(cgroupPath: string, sample: MemorySample, now: number): void {
    const named = nameCgroup(cgroupPath);
    const labels: Labels = {
      cgroup: cgroupPath,
      name: named.name,
      kind: named.kind,
      component: named.component ?? '',
    };
    const g = this.gauges;
    const workingSet = Math.max(0, sample.usage - sample.inactiveFile);
    if (sample.limit !== null) g.limit?.set(labels, sample.limit);
    g.usage?.set(labels, sample.usage);
    g.workingSet?.set(labels, workingSet);
    g.anon?.set(labels, sample.anon);
    g.file?.set(labels, sample.file);
    g.dirty?.set(labels, sample.fileDirty);
    g.writeback?.set(labels, sample.fileWriteback);
    g.shmem?.set(labels, sample.shmem);
    g.kernel?.set(labels, sample.kernel);
    g.swap?.set(labels, sample.swap);
    if (sample.pressure) {
      g.psiSome?.set(labels, sample.pressure.some.avg10 / 100);
      if (sample.pressure.full) g.psiFull?.set(labels, sample.pressure.full.avg10 / 100);
    }
    this.counters.oomKills?.inc(labels, sample.oomKills);
    this.counters.limitHits?.inc(labels, sample.limitHits);
    const until = this.secondsUntilLimit(cgroupPath, workingSet, sample.limit, now);
    if (until !== null) g.untilLimit?.set(labels, until);
  }

  private secondsUntilLimit(
    key: string,
    workingSet: number,
    limit: number | null,
    now: number,
  ): number | null {
    const points = this.history.get(key) ?? [];
    points.push({ t: now, value: workingSet });
    while (points.length > 0 && (points[0]?.t ?? now) < now - TREND_WINDOW_MS) points.shift();
    this.history.set(key, points);
    if (limit === null || points.length < TREND_MIN_POINTS) return null;
    const fit = linearFit(points);
    if (fit.slope <= 0 || fit.r2 < 0.8) return null;
    return Math.max(0, (limit - workingSet) / fit.slope / 1000);
  }
}

/** One full read, files opened and closed at once: keeping hundreds of cgroups' files open costs descriptors. */
function readOnce(cgroup: Pick<MemoryCgroup, 'version' | 'dir'>): MemorySample | undefined {
  let reader: ReturnType<typeof openCgroupReader> | undefined;
  try {
    reader = openCgroupReader(cgroup);
    return reader.read(true);
  } catch {
    // Removed while we read, or not a memory cgroup (the root of a v2 tree has no memory.current).
    return undefined;
  } finally {
    reader?.close();
  }
}
