import type { Pressure } from './parse.js';

/**
 * One reading of a memory cgroup, the same shape for v1 and v2. Bytes throughout; `null` limits mean
 * none. `file` is page cache without shmem (active + inactive file LRUs); `shmem` is tmpfs and
 * /dev/shm, which both versions otherwise count as cache but which cannot be reclaimed without swap.
 */
export interface MemorySample {
  /** What the limit is checked against (v1 usage_in_bytes, v2 memory.current). */
  usage: number;
  /** This cgroup's own limit; the one that applies may be an ancestor's (see effectiveLimit). */
  limit: number | null;
  /** v2 memory.high: the throttle point. */
  high: number | null;
  /** Swap this cgroup may use (v1 memsw limit minus memory limit; v2 memory.swap.max). */
  swapLimit: number | null;
  anon: number;
  file: number;
  activeFile: number;
  inactiveFile: number;
  fileDirty: number;
  fileWriteback: number;
  shmem: number;
  /** Slab, stacks, page tables, sockets where the kernel counts them against the cgroup. */
  kernel: number;
  swap: number;
  /** usage - inactive_file: the figure docker stats, cAdvisor and the kubelet show. */
  workingSet: number;
  /** OOM kills inside this cgroup since it was created. */
  oomKills: number;
  /** Times usage hit the limit (v1 failcnt, v2 memory.events "max"). */
  limitHits: number;
  /** v2 memory.events "high": times the cgroup was throttled at memory.high. */
  highHits: number;
  /** Highest usage the kernel saw (v1 max_usage_in_bytes, v2 memory.peak on 5.19+). */
  peak: number | null;
  /** v1 with the OOM killer disabled: tasks are waiting at the limit. */
  underOom: boolean;
  pressure?: Pressure;
}

/** usage - inactive_file, never below 0: the one place the working set is computed. */
export function workingSetOf(usage: number, inactiveFile: number): number {
  return Math.max(0, usage - inactiveFile);
}
