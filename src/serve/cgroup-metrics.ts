import { Gauge, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import { type CgroupRow, CgroupTable, type CgroupTableOptions } from './cgroup-table.js';

const LABELS = ['cgroup', 'name', 'kind', 'component'] as const;
type Label = (typeof LABELS)[number];
type Labels = Record<Label, string>;

/** A metric's value in a row; null leaves the cgroup out of it (no limit, PSI unreadable). */
type Value = (row: CgroupRow) => number | null;

const GAUGES: Array<[string, string, Value]> = [
  [
    'limit_bytes',
    "The cgroup's own memory limit (memory.max, memory.limit_in_bytes); absent when none.",
    (r) => r.limit,
  ],
  [
    'usage_bytes',
    'Memory charged to the cgroup, page cache included: what the limit is checked against.',
    (r) => r.usage,
  ],
  [
    'working_set_bytes',
    'Usage minus inactive page cache, as the kubelet and docker stats count it.',
    (r) => r.workingSet,
  ],
  ['anon_bytes', 'Anonymous memory: what the processes allocated.', (r) => r.anon],
  ['file_bytes', 'Page cache, shmem excluded.', (r) => r.file],
  ['file_dirty_bytes', 'Page cache waiting to be written to disk.', (r) => r.fileDirty],
  ['file_writeback_bytes', 'Page cache being written to disk.', (r) => r.fileWriteback],
  ['shmem_bytes', 'tmpfs and /dev/shm: not reclaimable without swap.', (r) => r.shmem],
  [
    'kernel_bytes',
    'Kernel memory charged to the cgroup (slab, stacks, page tables, sockets).',
    (r) => r.kernel,
  ],
  ['swap_bytes', 'Swap used by the cgroup.', (r) => r.swap],
  [
    'pressure_some_ratio',
    'Share of the last 10 s some tasks stalled waiting for memory (PSI).',
    (r) => r.psiSome,
  ],
  [
    'pressure_full_ratio',
    'Share of the last 10 s all tasks stalled waiting for memory (PSI).',
    (r) => r.psiFull,
  ],
  [
    'seconds_until_limit',
    'At the working set trend of the last 5 minutes, seconds until the limit; absent when not growing.',
    (r) => r.secondsUntilLimit,
  ],
];

const COUNTERS: Array<[string, string, Value]> = [
  ['oom_kills_total', 'Processes the OOM killer killed in the cgroup.', (r) => r.oomKills],
  ['limit_hits_total', 'Times usage hit the limit (v1 failcnt, v2 memory.events max).', (r) => r.limitHits],
];

/**
 * Prometheus metrics of every memory cgroup at and below `top`, read when scraped (refresh()), in a
 * registry of their own. Names follow the conventions: one prefix, base units, _bytes, _seconds, _total.
 * Each metric reads its values straight from the refreshed rows when the registry asks: setting 8000
 * series one by one, and hashing their labels, would cost more than reading the cgroups.
 */
export class CgroupMetrics {
  readonly registry = new Registry();
  private readonly table: CgroupTable;
  private rows: Array<{ row: CgroupRow; labels: Labels }> = [];
  private labels = new Map<string, Labels>();

  constructor(options: CgroupTableOptions) {
    // Values are read at scrape time: every scrape reads in full, through files kept open between scrapes.
    this.table = new CgroupTable({ keepOpen: 500, fullEvery: 1, ...options });
    const values = (value: Value) => (): Array<MetricValue<Label>> =>
      this.rows.flatMap(({ row, labels }) => {
        const v = value(row);
        return v === null ? [] : [shared(v, labels)];
      });
    for (const [name, help, value] of GAUGES) {
      this.registry.registerMetric(new RowMetric(`headroom_memory_${name}`, help, 'gauge', values(value)));
    }
    for (const [name, help, value] of COUNTERS) {
      this.registry.registerMetric(new RowMetric(`headroom_memory_${name}`, help, 'counter', values(value)));
    }
    this.registry.registerMetric(
      new RowMetric('headroom_exporter_cgroups', 'Cgroups exported by the last scrape.', 'gauge', () => [
        { value: this.rows.length, labels: {} },
      ]),
    );
  }

  /** Reads every cgroup now; the metrics show these values until the next refresh. */
  refresh(): void {
    const labels = new Map<string, Labels>();
    this.rows = this.table.refresh().map((row) => {
      // The same labels object for a cgroup from scrape to scrape: prom-client formats and escapes shared
      // labels once per object, instead of 16 metrics times every scrape.
      const known = this.labels.get(row.path);
      const own = known ?? {
        cgroup: row.path,
        name: row.name,
        kind: row.kind,
        component: row.component ?? '',
      };
      labels.set(row.path, own);
      return { row, labels: own };
    });
    this.labels = labels;
  }
}

/**
 * A metric whose values come from a function, not from set(): the kernel's counters are read whole, so
 * a counter differs from a gauge here only in the type the exposition names.
 */
class RowMetric extends Gauge<Label> {
  constructor(
    private readonly metricName: string,
    private readonly metricHelp: string,
    private readonly type: 'gauge' | 'counter',
    private readonly values: () => Array<MetricValue<Label>>,
  ) {
    super({ name: metricName, help: metricHelp, labelNames: LABELS, registers: [] });
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<Label>>> {
    return rowMetric(this.metricName, this.metricHelp, this.type, this.values());
  }
}

/** prom-client's typings name the type with a numeric enum; at run time it is the exposition format's word. */
function rowMetric(
  name: string,
  help: string,
  type: 'gauge' | 'counter',
  values: Array<MetricValue<Label>>,
): MetricObjectWithValues<MetricValue<Label>> {
  const metric = { name, help, type, values, aggregator: 'sum', collect: () => {} };
  return metric as unknown as MetricObjectWithValues<MetricValue<Label>>;
}

/** A value whose labels prom-client takes as shared ones, which it formats once per labels object. */
function shared(value: number, labels: Labels): MetricValue<Label> {
  const entry = { value, labels: {}, sharedLabels: labels };
  return entry as MetricValue<Label>;
}
