import type { ChildLimits } from '../kernel/index.js';

/**
 * The capture file, version 1: JSON Lines, appended while the job runs, so that a capture cut off at any
 * moment parses up to its last complete line.
 *
 *   line 1         CaptureHeader (an object)
 *   [t, d1, d2...] cgroup sample: t = ms since the previous sample record, dN = change of
 *                  SAMPLE_FIELDS[N] in KiB since the previous sample (small numbers keep a line near 40 bytes)
 *   ["K", t, v...] keyframe: absolute time (ms since start) and absolute values in KiB; the first sample
 *                  and every KEYFRAME_EVERY-th are keyframes so that one damaged line loses little
 *   ["P", t, pid, ppid, name, argv]            a process seen for the first time, or after it exec'd
 *   ["p", t, pid, anon, file, shmem, swap]     its resident memory in KiB, written when it changed
 *   ["S", t, pid, pss, pssAnon, pssFile, pssShmem]  PSS in KiB, read on a budget
 *   ["X", t, pid]                              the process is gone
 *   ["E", t, kind, data]                       an event (CaptureEvent); "files" lists the files behind
 *                                              page cache and shmem, once, at the end
 *   ["I"|"N"|"A"|"W", t, pid, ...]             allocation profile records (see profile/profile-format.ts)
 *   ["END", t, EndRecord]                      the job ended and headroom finished cleanly
 *
 * Times in records other than cgroup samples are absolute ms since header.startMs. Unlimited or unknown
 * values in the sample series are written as -1. The peak column holds peak minus usage (KiB), so that it
 * costs nothing while usage climbs to new highs.
 */
export const CAPTURE_FORMAT = 'headroom-capture';
export const CAPTURE_VERSION = 1;
export const KEYFRAME_EVERY = 600;

/** The cgroup series, in the order a sample line lists them. */
export const SAMPLE_FIELDS = [
  'usage',
  'anon',
  'file',
  'activeFile',
  'inactiveFile',
  'fileDirty',
  'fileWriteback',
  'shmem',
  'kernel',
  'swap',
  'peak',
  'oomKills',
  'limitHits',
  'highHits',
  /** PSI "some" avg10 × 100 (a percentage with two decimals), -1 when unreadable. */
  'psiSome',
  /** PSI "full" avg10 × 100. */
  'psiFull',
  /** headroom's own resident memory when it shares the cgroup with the job (observe mode), else 0. */
  'self',
] as const;

export type SampleField = (typeof SAMPLE_FIELDS)[number];

/** Series that are counters or scaled values rather than KiB. */
export const UNSCALED_FIELDS: ReadonlySet<SampleField> = new Set([
  'oomKills',
  'limitHits',
  'highHits',
  'psiSome',
  'psiFull',
]);

export type CgroupMode = 'own' | 'observe';

export interface CaptureHeader {
  format: typeof CAPTURE_FORMAT;
  version: number;
  tool: string;
  hostname: string;
  kernel: string;
  /** Wall-clock start, ms since the epoch; every record time is relative to it. */
  startMs: number;
  intervalMs: number;
  command: string[];
  component: string | null;
  cgroup: {
    version: 1 | 2;
    path: string;
    /** own: a cgroup made for the job; observe: the cgroup headroom itself runs in. */
    mode: CgroupMode;
    /** Why headroom observes instead of making a cgroup (observe mode only). */
    observeReason?: string;
    ancestorsHidden: boolean;
  };
  limit: {
    bytes: number | null;
    /** Plain words: which file of which cgroup the limit comes from. */
    source: string;
    /**
     * Levels above the recorded cgroup where the limit is set: 0 its own, 1 its parent; null when it is
     * above what the mount shows. Absent in captures from before it was recorded.
     */
    depth?: number | null;
    high: number | null;
    swapBytes: number | null;
  };
  /**
   * The job's own cgroup's limits as asked for (--memory / --memory-swap, swap defaulted as docker's),
   * in bytes: null memory when none was asked for, null swap for unlimited.
   */
  requested: { memory: number | null; memorySwap: ChildLimits['memorySwap'] };
  hostMemory: { total: number; swapTotal: number };
  /** NODE_OPTIONS as the job inherited it: Node's heap limit may be set there. */
  nodeOptions?: string | null;
  /** Present when the job's allocations were profiled: which Python profiler ran. */
  profiling?: { python: 'growth' | 'tracemalloc' };
  /** A capture of `headroom attach`: a running process watched for a while, not a job headroom ran. */
  attached?: { pid: number };
  /**
   * A post-mortem of the exporter's flight recorder: a cgroup headroom neither made nor ran in, recorded
   * before one of its processes was OOM-killed. `killedMs` is the kill's time, relative to startMs.
   */
  postmortem?: {
    name: string;
    killedMs: number;
    pod?: { namespace: string; pod: string; container: string | null };
    /** Whose limit the kernel's log says struck: the cgroup's own, or one above it. */
    limitStruck?: 'own' | 'above';
  };
  fields: string[];
}

export type CaptureEvent =
  | { kind: 'oom-kill'; timeMs: number; count: number; victims: Array<{ pid: number; name: string }> }
  | { kind: 'limit-hit'; timeMs: number; count: number; total: number }
  | { kind: 'limit-change'; timeMs: number; limit: number | null; high: number | null }
  | { kind: 'note'; timeMs: number; message: string }
  | { kind: 'files'; timeMs: number; files: FileRecord[]; tmpfs: TmpfsRecord[] }
  | { kind: 'guard-knobs'; timeMs: number; knobs: GuardKnob[]; order?: GuardOrder }
  | {
      kind: 'guard-action';
      timeMs: number;
      action: GuardAction;
      /** The process acted on or reporting, null for the whole job. */
      pid: number | null;
      message: string;
    };

/** A runtime setting the guard made from the limit, before the job started. */
export interface GuardKnob {
  runtime: 'node' | 'go' | 'java' | 'python';
  /** As set: "NODE_OPTIONS=--max-old-space-size=192", "RLIMIT_DATA=966367641". */
  setting: string;
  /** The memory it grants, bytes. */
  bytes: number;
}

/**
 * With a graceful path asked for (the watchdog, a restart threshold): whether it or a knob acts first as
 * memory grows, and why, so the summary can say what the user should expect.
 */
export interface GuardOrder {
  /** The graceful path in words: "the watchdog's SIGTERM at 95% (486 MiB)", "--restart-above 80% (102 MiB)". */
  graceful: string;
  /** Where it acts, bytes of the cgroup's memory. */
  thresholdBytes: number;
  /** graceful: no knob sits below it; knob: a knob (headroom's or the user's own) can act before it. */
  first: 'graceful' | 'knob';
  /** Which mechanism acts first and why, one line. */
  message: string;
}

/** memory-error: a runtime failed an allocation because of a guard knob, instead of being OOM-killed. */
export type GuardAction = 'memory-error' | 'snapshot' | 'term' | 'kill' | 'reclaim';

/** A file the job held open while its page cache or shmem grew (written once, at the end). */
export interface FileRecord {
  path: string;
  sizeBytes: number;
  /** Its pages in memory at the end, bytes; null when they could not be counted. */
  residentBytes: number | null;
  tmpfs: boolean;
  deleted: boolean;
  pids: number[];
}

/** A memory-backed filesystem the job could see, at the end. */
export interface TmpfsRecord {
  mountPoint: string;
  usedBytes: number;
  sizeBytes: number;
}

export interface EndRecord {
  /** The job's exit code, or null when it died of a signal. */
  exitCode: number | null;
  signal: string | null;
  /** The status headroom itself exited with (128+N for signal N). */
  status: number;
  durationMs: number;
  /** The kernel's own high-water mark (v1 max_usage_in_bytes, v2 memory.peak), read at the end. */
  peakBytes: number | null;
  oomKills: number;
  limitHits: number;
}
