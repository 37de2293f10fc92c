import { Counter, Gauge, Registry } from 'prom-client';
import { type CgroupRow, CgroupTable, type CgroupTableOptions } from './cgroup-table.js';

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
  private readonly table: CgroupTable;

  constructor(options: CgroupTableOptions) {
    // Values are read at scrape time: every scrape reads in full, through files kept open between scrapes.
    this.table = new CgroupTable({ keepOpen: 500, fullEvery: 1, ...options });
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
    for (const metric of [...Object.values(this.gauges), ...Object.values(this.counters)]) metric.reset();
    const rows = this.table.refresh();
    for (const row of rows) this.set(row);
    this.exported.set(rows.length);
  }

  private set(row: CgroupRow): void {
    const labels: Labels = {
      cgroup: row.path,
      name: row.name,
      kind: row.kind,
      component: row.component ?? '',
    };
    const g = this.gauges;
    if (row.limit !== null) g.limit?.set(labels, row.limit);
    g.usage?.set(labels, row.usage);
    g.workingSet?.set(labels, row.workingSet);
    g.anon?.set(labels, row.anon);
    g.file?.set(labels, row.file);
    g.dirty?.set(labels, row.fileDirty);
    g.writeback?.set(labels, row.fileWriteback);
    g.shmem?.set(labels, row.shmem);
    g.kernel?.set(labels, row.kernel);
    g.swap?.set(labels, row.swap);
    if (row.psiSome !== null) g.psiSome?.set(labels, row.psiSome);
    if (row.psiFull !== null) g.psiFull?.set(labels, row.psiFull);
    this.counters.oomKills?.inc(labels, row.oomKills);
    this.counters.limitHits?.inc(labels, row.limitHits);
    if (row.secondsUntilLimit !== null) g.untilLimit?.set(labels, row.secondsUntilLimit);
  }
}
