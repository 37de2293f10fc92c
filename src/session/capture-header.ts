import type { Placement } from '../job/placement.js';
import {
  type ChildLimits,
  describeLimitSource,
  type EffectiveLimit,
  type HostMemory,
  type LimitSource,
} from '../kernel/index.js';
import type { CaptureHeader } from '../record/capture-format.js';
import { captureOrigin } from '../record/capture-origin.js';

/** The first line of a run's capture: what ran, where, under which limit and from where it comes. */
export function captureHeader(run: {
  placement: Placement;
  limit: EffectiveLimit;
  hostMemory: HostMemory;
  command: string[];
  component: string | null;
  /** The job's own cgroup's limits, swap defaulted (withSwapDefault); none for a cgroup observed. */
  requested: ChildLimits;
  startMs: number;
  intervalMs: number;
  nodeOptions: string | null;
}): CaptureHeader {
  const { placement, limit } = run;
  return {
    ...captureOrigin(),
    startMs: run.startMs,
    intervalMs: run.intervalMs,
    command: run.command,
    component: run.component,
    cgroup: {
      version: placement.cgroup.version,
      path: placement.cgroup.path,
      mode: placement.mode,
      ...(placement.mode === 'observe' ? { observeReason: placement.reason } : {}),
      ancestorsHidden: placement.cgroup.ancestorsHidden,
    },
    limit: {
      bytes: limit.bytes,
      source: limitSourceText(limit.source, placement),
      depth: limit.bytes === null ? null : (limit.source?.depth ?? null),
      high: limit.high,
      swapBytes: limit.swapBytes,
    },
    requested: { memory: run.requested.memory ?? null, memorySwap: run.requested.memorySwap },
    hostMemory: { total: run.hostMemory.total, swapTotal: run.hostMemory.swapTotal },
    nodeOptions: run.nodeOptions,
  };
}

/** Where the job's limit comes from, in the job's terms: depth 0 of a fresh cgroup is headroom's --memory. */
function limitSourceText(source: LimitSource | null, placement: Placement): string {
  if (source && placement.mode === 'own' && source.depth === 0) {
    return `--memory, on the job's own cgroup (${source.file}, cgroup v${source.version})`;
  }
  return describeLimitSource(source);
}
