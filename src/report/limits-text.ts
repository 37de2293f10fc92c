import type { LimitsReport } from '../analyze/limits.js';
import { formatBytes, formatPercent } from '../format.js';
import { describeLimitSource, type JobCgroupRoom } from '../kernel/index.js';

const JOB_CGROUP_TEXT: Record<JobCgroupRoom['how'], string> = {
  child: 'headroom run makes a child cgroup per job (--memory works)',
  'beside-leaf':
    "headroom run moves this cgroup's processes into a leaf and makes each job's cgroup beside it (--memory works)",
  none: 'headroom run observes this cgroup (--memory cannot be applied)',
};

/** `headroom limits` for people: the real limit first, then what fills it, then what runtimes believe. */
export function renderLimitsText(report: LimitsReport): string {
  const lines: string[] = [];
  const row = (label: string, text: string): void => {
    lines.push(`${label.padEnd(13)}${text}`);
  };
  const host = report.host;
  if (!report.available) {
    row('memory limit', `unknown: ${report.error.message}`);
  } else {
    const { limit, usage, cgroup } = report;
    // The hierarchy's real root has no limit of its own: what bounds it is the machine.
    const atRoot = cgroup.path === '/' && !cgroup.ancestorsHidden;
    const none =
      atRoot && host && host.total > 0
        ? `none (the root cgroup: the host's ${formatBytes(host.total)} of RAM is the ceiling)`
        : 'none (no cgroup on the way up sets one)';
    row('memory limit', limit.bytes === null ? none : formatBytes(limit.bytes));
    if (limit.source) row('  from', describeLimitSource(limit.source));
    if (limit.ancestorsHidden) {
      row(
        '',
        cgroup.version === 1
          ? "ancestors above this mount are hidden; the kernel's hierarchical limit above covers them"
          : 'ancestors above this cgroup namespace are hidden: a lower limit set there would not show here',
      );
    }
    if (limit.high !== null) row('  throttled', `above ${formatBytes(limit.high)} (memory.high)`);
    const used = limit.bytes === null ? '' : ` (${formatPercent(usage.usage, limit.bytes)} of the limit)`;
    row('usage', `${formatBytes(usage.usage)}${used}`);
    row(
      '  made of',
      `anon ${formatBytes(usage.anon)}, page cache ${formatBytes(usage.file)} (dirty ${formatBytes(usage.fileDirty)}, ` +
        `writeback ${formatBytes(usage.fileWriteback)}), shmem ${formatBytes(usage.shmem)}, kernel ${formatBytes(usage.kernel)}, ` +
        `swap ${formatBytes(usage.swap)}`,
    );
    row(
      'working set',
      `${formatBytes(usage.workingSet)} (usage minus inactive page cache: what docker stats and the kubelet show)`,
    );
    if (usage.peak !== null) row('peak', formatBytes(usage.peak));
    row('events', `${usage.oomKills} OOM kills, ${usage.limitHits} limit hits`);
    if (usage.pressure)
      row(
        'pressure',
        `${usage.pressure.some.avg10.toFixed(2)}% of the last 10 s stalled on memory (PSI some)`,
      );
    row(
      'swap',
      limit.swapBytes === null
        ? 'not limited by the cgroup'
        : `up to ${formatBytes(limit.swapBytes)} on top of the limit`,
    );
    row('cgroup', `v${cgroup.version} ${cgroup.path}`);
    row('  jobs', JOB_CGROUP_TEXT[report.jobCgroup.how]);
    row('', `(${report.jobCgroup.reason})`);
  }
  if (host) {
    row(
      'host memory',
      `${formatBytes(host.total)} total, ${formatBytes(host.available)} available, swap ${formatBytes(host.swapTotal)}`,
    );
    row('', 'this is what `free` and /proc/meminfo show inside a container, not the limit');
  }
  const limitBytes = report.available ? report.limit.bytes : null;
  const heap = report.runtimes.nodeHeapLimit;
  const heapNote =
    limitBytes !== null && heap > limitBytes
      ? ' — above the cgroup limit: the kernel kills before V8 can throw'
      : '';
  row('node heap', `${formatBytes(heap)} heap_size_limit${heapNote}`);
  if (report.runtimes.pythonSees !== null) {
    row(
      'python sees',
      `${formatBytes(report.runtimes.pythonSees)} (os.sysconf and psutil read the host, not the limit)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
