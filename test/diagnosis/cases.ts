// The diagnosis corpus of issue 13: small real workloads, each with the verdict headroom must reach and
// the findings that would send a reader after the wrong cause.
import type { FindingKind } from '../../src/analyze/finding.js';
import type { VerdictKind } from '../../src/analyze/verdict.js';
import {
  type Check,
  childHeldMost,
  dirtyAtLeast,
  guardCaught,
  hitLimit,
  lastsAtLeast,
  limitOf,
  mostly,
  neverAtLimit,
  notOomKilled,
  oomKilled,
  peakShare,
  spreadOver,
  status,
} from './workload-checks.js';

/** Where a case's command finds its interpreter, its script and its files; made fresh for every run. */
export interface CasePaths {
  python: string;
  node: string;
  /** A workload script in test/diagnosis/jobs. */
  job: (name: string) => string;
  /** The input file `input` asks for, written before the run with its pages out of the cache. */
  input: string;
  /** A path in the case's scratch directory for a file the job writes. */
  output: string;
  /** A path on /dev/shm, removed after the run whatever happened. */
  shm: string;
}

export interface DiagnosisCase {
  name: string;
  command: (at: CasePaths) => string[];
  /** Options of `headroom run` before `--` (the runner adds -o and -q). */
  headroomArgs: string[];
  expected: VerdictKind;
  /** Finding kinds that, present, are false alarms. */
  mustNot: FindingKind[];
  /** What the run must show for the workload to have done what it claims, whatever the verdict. */
  shows: Check[];
  /** A file of this many MiB at `input`, not in the page cache when the job starts. */
  inputMiB?: number;
  /**
   * Runs headroom itself inside a cgroup of the runner's with this limit, in bytes, below the one the
   * job's own cgroup gets from --memory: the limit that strikes is then a parent's.
   */
  parentLimitBytes?: number;
}

const MiB = 1024 * 1024;

/**
 * Files are 384 MiB under a 256 MiB limit: half again the limit is enough to make the kernel reclaim, and
 * little enough for CI's disk and time. Python's guard (RLIMIT_DATA below the limit) would turn every
 * OOM kill of a Python job into a MemoryError, so the cases that need the kernel's kill run --no-guard.
 */
export const CASES: DiagnosisCase[] = [
  {
    name: 'read-twice',
    command: (at) => [at.python, at.job('read-twice.py'), at.input],
    headroomArgs: ['--memory', '256m'],
    expected: 'page-cache',
    mustNot: ['oom-kill', 'anon-growth', 'shmem', 'runtime-heap'],
    shows: [status(0), notOomKilled, hitLimit, mostly('file')],
    inputMiB: 384,
  },
  {
    name: 'write-no-fsync',
    command: (at) => [at.python, at.job('write-file.py'), at.output, '384'],
    headroomArgs: ['--memory', '256m'],
    expected: 'dirty-page-cache',
    mustNot: ['oom-kill', 'anon-growth', 'shmem', 'runtime-heap'],
    shows: [status(0), notOomKilled, hitLimit, mostly('file'), dirtyAtLeast(64 * MiB)],
  },
  {
    name: 'mmap-read',
    command: (at) => [at.python, at.job('mmap-read.py'), at.input],
    headroomArgs: ['--memory', '256m'],
    expected: 'page-cache',
    mustNot: ['oom-kill', 'anon-growth', 'shmem', 'runtime-heap'],
    shows: [status(0), notOomKilled, hitLimit, mostly('file')],
    inputMiB: 384,
  },
  {
    name: 'dev-shm',
    command: (at) => [at.python, at.job('fill-shm.py'), at.shm, '384'],
    headroomArgs: ['--memory', '256m'],
    expected: 'tmpfs',
    mustNot: ['anon-growth', 'page-cache', 'runtime-heap'],
    shows: [oomKilled, mostly('shmem')],
  },
  {
    name: 'python-leak',
    command: (at) => [at.python, at.job('leak.py'), '3'],
    headroomArgs: ['--memory', '256m', '--no-guard'],
    expected: 'anon-growth',
    mustNot: ['page-cache', 'shmem'],
    shows: [oomKilled, mostly('anon'), lastsAtLeast(5000)],
  },
  {
    name: 'one-allocation',
    command: (at) => [at.python, at.job('one-allocation.py'), '384'],
    headroomArgs: ['--memory', '256m', '--no-guard'],
    expected: 'anon-growth',
    mustNot: ['page-cache', 'shmem'],
    shows: [oomKilled, mostly('anon')],
  },
  {
    name: 'fat-child',
    command: (at) => [at.python, at.job('fat-child.py')],
    headroomArgs: ['--memory', '256m', '--no-guard'],
    expected: 'child-process',
    mustNot: ['page-cache', 'shmem'],
    shows: [status(1), oomKilled, mostly('anon'), childHeldMost],
  },
  {
    name: 'workers',
    command: (at) => [at.python, at.job('workers.py'), '8', '40'],
    headroomArgs: ['--memory', '256m', '--no-guard'],
    expected: 'workers',
    mustNot: ['page-cache', 'shmem', 'anon-growth'],
    shows: [hitLimit, mostly('anon'), spreadOver(8)],
  },
  {
    name: 'node-heap-limit',
    command: (at) => [at.node, at.job('node-heap.mjs')],
    headroomArgs: ['--memory', '256m'],
    expected: 'runtime-heap-limit',
    mustNot: ['oom-kill', 'page-cache', 'shmem'],
    shows: [status(134), notOomKilled, mostly('anon')],
  },
  {
    name: 'python-memory-error',
    command: (at) => [at.python, at.job('memory-error.py')],
    headroomArgs: ['--memory', '256m'],
    expected: 'anon-growth',
    mustNot: ['oom-kill', 'page-cache', 'shmem'],
    shows: [status(1), notOomKilled, guardCaught('memory-error'), mostly('anon')],
  },
  {
    name: 'parent-limit',
    command: (at) => [at.python, at.job('grow.py')],
    headroomArgs: ['--memory', '1g', '--no-guard'],
    expected: 'parent-limit',
    mustNot: ['page-cache', 'shmem'],
    shows: [oomKilled, limitOf(256 * MiB), mostly('anon')],
    parentLimitBytes: 256 * MiB,
  },
  {
    name: 'pipe-buffers',
    command: (at) => [at.python, at.job('pipes.py')],
    headroomArgs: ['--memory', '256m'],
    expected: 'kernel-memory',
    mustNot: ['anon-growth', 'page-cache', 'shmem', 'runtime-heap'],
    shows: [oomKilled, mostly('kernel')],
  },
  {
    name: 'http-service',
    command: (at) => [at.node, at.job('http-service.mjs'), '4'],
    headroomArgs: ['--memory', '256m'],
    expected: 'healthy',
    mustNot: ['oom-kill', 'anon-growth', 'page-cache', 'shmem', 'limit-pressure'],
    shows: [status(0), neverAtLimit, peakShare(0, 0.5)],
  },
  {
    name: 'batch-near-limit',
    command: (at) => [at.python, at.job('read-once.py'), at.input],
    headroomArgs: ['--memory', '256m'],
    expected: 'healthy',
    mustNot: ['oom-kill', 'anon-growth', 'shmem', 'limit-pressure', 'runtime-heap'],
    shows: [status(0), neverAtLimit, peakShare(0.85, 0.999), mostly('file')],
    inputMiB: 232,
  },
];
