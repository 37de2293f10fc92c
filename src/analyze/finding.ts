/** Every kind of finding; stable names that scripts may match on. */
export type FindingKind =
  | 'oom-kill'
  | 'page-cache'
  | 'shmem'
  | 'anon-growth'
  | 'limit-pressure'
  | 'swap'
  | 'runtime-heap'
  | 'right-size';

/** critical: the job failed because of memory; warning: it will, or it suffered; info: worth knowing. */
export type Severity = 'critical' | 'warning' | 'info';

/** Where in the capture a finding comes from, so a report can point at it on the chart. */
export interface Evidence {
  fromMs: number;
  toMs: number;
  /** The cgroup series (SAMPLE_FIELDS names) the finding reads. */
  series: string[];
  /** Processes the finding names. */
  pids: number[];
}

/** A file that held page cache or tmpfs memory. */
export interface CachedFile {
  path: string;
  sizeBytes: number;
  /** Pages of it in memory, bytes; null when they could not be counted. */
  residentBytes: number | null;
  tmpfs: boolean;
  /** Deleted by the end: a deleted file's pages are freed with its last open descriptor. */
  deleted: boolean;
}

/** One explanation of what happened to the job's memory, in plain words with the numbers that back it. */
export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** One or two sentences, with the numbers. */
  message: string;
  /** What to do about it; each entry one concrete step. */
  advice: string[];
  evidence: Evidence;
  /** Key figures by name (bytes, ms, ratios), for scripts and tests. */
  figures: Record<string, number | null>;
  /** Files behind page-cache and shmem findings, largest first. */
  files?: CachedFile[];
  /** Ready-to-paste limits (right-size only). */
  snippets?: { docker: string; compose: string; kubernetes: string };
}

const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export function bySeverity(a: Finding, b: Finding): number {
  return ORDER[a.severity] - ORDER[b.severity];
}
