/**
 * Allocation profiles: what the profilers inside the job write, and how they reach the capture.
 *
 * Each profiled process (Node: the preload given through NODE_OPTIONS; Python: the sitecustomize given
 * through PYTHONPATH) appends JSON Lines to a spool file of its own, `$HEADROOM_PROFILE_DIR/<pid>.jsonl`,
 * one whole line per write(2) call, so a process killed at any moment leaves only complete lines (or one
 * torn last line) behind. headroom copies the lines into the capture while the job runs, inserting the pid
 * as the third element; a job the kernel OOM-kills keeps every profile it had written.
 *
 * Spool line (no pid)                      Capture record
 *   ["I", t, ProfileInfo]                  ["I", t, pid, ProfileInfo]     a profiling session starts
 *   ["N", t, [id, parent, name, file, line, ...]]
 *                                          ["N", t, pid, [...]]           new call-tree nodes, 5 values each
 *   ["A", t, reason, [id, bytes, count, ...]]
 *                                          ["A", t, pid, reason, [...]]   a snapshot, 3 values per node
 *   ["W", t, message]                      ["W", t, pid, message]         a note from the profiler
 *
 * t: ms since the capture's start (HEADROOM_START_MS, wall-clock ms since the epoch), so the profile and
 * the cgroup timeline share one clock.
 *
 * Nodes form one call tree per session: `id` >= 1, unique within the session; `parent` is 0 for a root
 * frame (outermost call) and otherwise an id defined on an earlier or the same "N" line; `name` is the
 * function ("" when anonymous), `file` the script or module path or URL ("" when unknown), `line` 1-based
 * (0 when unknown). A node is defined once per session and never changes.
 *
 * A snapshot is complete, not a delta: it lists every node holding memory at that moment with the bytes
 * attributed to that node itself (not its callees) and a count (sampled allocations for Node, charged
 * growth steps for the Python growth sampler, live blocks for tracemalloc). Nodes it does not list hold 0.
 * A process writing "I" again (its pid reused, or a new profiler after exec) starts a new session: earlier
 * node ids no longer apply.
 */

/** Spool files are named `<pid>.jsonl` in this directory; set by headroom for the job. */
export const PROFILE_DIR_ENV = 'HEADROOM_PROFILE_DIR';
/** Wall-clock ms since the epoch that profile times count from. */
export const PROFILE_START_ENV = 'HEADROOM_START_MS';
/** Python profiler mode: "growth" (default) or "tracemalloc". */
export const PYTHON_PROFILER_ENV = 'HEADROOM_PYTHON_PROFILER';
/**
 * Present (a path) when headroom asks every profiler for a snapshot now: each profiler checks this file's
 * mtime on its own timer and writes one snapshot (reason "request") when it is newer than its last one.
 */
export const PROFILE_REQUEST_FILE = 'request';
/**
 * Memory the job may still use, for the tracemalloc mode's refusal check: the file holding the cgroup's
 * usage and the limit in bytes.
 */
export const PROFILE_USAGE_FILE_ENV = 'HEADROOM_CGROUP_USAGE_FILE';
export const PROFILE_LIMIT_ENV = 'HEADROOM_LIMIT_BYTES';

export type ProfileRuntime = 'node' | 'python';
/** sampling: V8's sampling heap profiler; growth: Python RSS growth charged to stacks; tracemalloc: exact. */
export type ProfileMode = 'sampling' | 'growth' | 'tracemalloc';

/** Why a snapshot was taken. */
export type SnapshotReason = 'peak' | 'exit' | 'request' | 'interval' | 'attach';

export interface ProfileInfo {
  runtime: ProfileRuntime;
  mode: ProfileMode;
  /** Node: V8's sampling interval in bytes; Python growth: the sampler's period in ms. */
  interval: number;
  /** The process's command line as the profiler saw it. */
  argv: string[];
  /** Node's or Python's version string. */
  version?: string;
  /** Node: the worker thread id when not the main thread. */
  thread?: number;
}

export const SPOOL_TAGS = ['I', 'N', 'A', 'W'] as const;
export type SpoolTag = (typeof SPOOL_TAGS)[number];
