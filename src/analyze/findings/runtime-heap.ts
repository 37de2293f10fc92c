import { formatBytes } from '../../format.js';
import type { ProcessTrack } from '../../record/capture-reader.js';
import type { Finding } from '../finding.js';
import { anonAt, at, type Context, isNode, MiB, time } from './context.js';
import { firstKillContext } from './kill-context.js';

/** Share of the limit to give V8's heap: the rest is the process's own native memory and the cache. */
const HEAP_SHARE = 0.75;
/** Python that got this close to the limit, or was killed, is told it cannot see it. */
const PYTHON_NEAR = 0.8;
/**
 * A runtime is only worth a finding when its processes held this share of usage at the kill or the
 * peak: a Python that wrote /dev/shm and held 8 MiB did not fill the limit, whatever it can see.
 */
const SIGNIFICANT = 0.25;

/**
 * Runtimes that size themselves from the wrong number: V8's heap limit above the cgroup limit (the kernel
 * kills before V8 collects hard or throws), several Node processes each sizing to the whole limit, and
 * CPython, which never looks at the limit at all.
 */
export function runtimeHeapFindings(ctx: Context): Finding[] {
  const { limit } = ctx;
  if (limit === null) return [];
  return [nodeFinding(ctx, limit), pythonFinding(ctx, limit)].filter((f): f is Finding => f !== undefined);
}

interface NodeProcess {
  track: ProcessTrack;
  heapBytes: number;
  explicit: boolean;
}

function nodeFinding(ctx: Context, limit: number): Finding | undefined {
  const tracks = ctx.capture.processes.filter(isNode);
  if (!significant(ctx, tracks)) return undefined;
  const nodes: NodeProcess[] = tracks.map((track) => {
    const flag = maxOldSpace(track.argv) ?? maxOldSpace(splitOptions(ctx.capture.header.nodeOptions));
    return flag === undefined
      ? { track, heapBytes: defaultHeap(limit), explicit: false }
      : { track, heapBytes: flag, explicit: true };
  });
  if (nodes.length === 0) return undefined;
  const together = mostAtOnce(nodes);
  const heap = Math.max(...together.map((node) => node.heapBytes));
  const total = together.reduce((sum, node) => sum + node.heapBytes, 0);
  const suggested = Math.max(16, Math.floor((limit * HEAP_SHARE) / together.length / MiB));
  const sized = (node: NodeProcess) =>
    node.explicit
      ? `--max-old-space-size=${Math.round(node.heapBytes / MiB)}`
      : 'sized by Node from the limit';
  let message: string;
  if (together.length >= 2 && total > limit) {
    message = `${together.length} Node processes ran at once and each may grow its heap to about ${formatBytes(heap)} (${sized(together[0] as NodeProcess)}): together ${formatBytes(total)}, above the ${formatBytes(limit)} limit they share. Node sizes its heap from the cgroup limit as if it had the container to itself, so the kernel kills one before V8 collects garbage hard.`;
  } else {
    const big = nodes.find((node) => node.heapBytes > limit);
    if (!big) return undefined;
    message = `${big.track.name} (${big.track.pid}) may grow its V8 heap to ${big.explicit ? '' : 'about '}${formatBytes(big.heapBytes)} (${sized(big)}), above the ${formatBytes(limit)} limit: the kernel OOM-kills it before V8 collects garbage hard or reports "heap out of memory".`;
  }
  // A guess from the defaults is only worth a warning when the job came close enough for it to matter.
  const mattered =
    together.some((node) => node.explicit) || ctx.summary.oomKilled || anonPeak(ctx) >= limit / 2;
  return {
    kind: 'runtime-heap',
    severity: mattered ? 'warning' : 'info',
    message,
    advice: [
      `Set --max-old-space-size=${suggested} (in NODE_OPTIONS or on the command line): about ${Math.round(HEAP_SHARE * 100)}% of the limit${together.length >= 2 ? `, split between ${together.length} processes` : ''}, leaving room for buffers and native memory outside the heap.`,
    ],
    evidence: {
      fromMs: Math.min(...together.map((node) => node.track.startMs)),
      toMs: ctx.capture.lastTimeMs,
      series: ['anon'],
      pids: together.map((node) => node.track.pid),
    },
    figures: {
      heapLimitBytes: heap,
      processes: together.length,
      totalHeapBytes: total,
      limitBytes: limit,
      suggestedMaxOldSpaceMiB: suggested,
    },
  };
}

function pythonFinding(ctx: Context, limit: number): Finding | undefined {
  const pythons = ctx.capture.processes.filter((track) => /^python/.test(track.name));
  const first = pythons[0];
  if (!first || !significant(ctx, pythons)) return undefined;
  const { summary } = ctx;
  const killedPids = new Set(summary.oomKills.map((kill) => kill.pid));
  const killed = pythons.some((track) => killedPids.has(track.pid));
  if (!killed && anonPeak(ctx) < PYTHON_NEAR * limit) return undefined;
  const host = ctx.capture.header.hostMemory.total;
  return {
    kind: 'runtime-heap',
    severity: killed ? 'warning' : 'info',
    message: `Python (${first.name}, ${pythons.length} process${pythons.length === 1 ? '' : 'es'}) cannot see the ${formatBytes(limit)} limit: os.sysconf and psutil report the host's ${formatBytes(host)}, and CPython raises no MemoryError before the kernel ${killed ? 'killed it' : 'kills it'}.`,
    advice: [
      'Size batches from the limit, not from psutil: read /sys/fs/cgroup/memory.max (v2) or memory/memory.limit_in_bytes (v1).',
      'For a MemoryError instead of SIGKILL, set resource.setrlimit(resource.RLIMIT_DATA, ...) a little below the limit inside the Python process (not on the whole job: Node also sizes its heap from RLIMIT_DATA).',
    ],
    evidence: {
      fromMs: first.startMs,
      toMs: ctx.capture.lastTimeMs,
      series: ['anon'],
      pids: pythons.map((track) => track.pid),
    },
    figures: { limitBytes: limit, hostBytes: host, processes: pythons.length, killed: killed ? 1 : 0 },
  };
}

/** Whether these processes held a significant share of usage at the first kill, or else at the peak. */
function significant(ctx: Context, tracks: readonly ProcessTrack[]): boolean {
  if (tracks.length === 0 || ctx.peakIndex < 0) return false;
  const kill = firstKillContext(ctx);
  const index = kill ? Math.max(0, kill.index) : ctx.peakIndex;
  const t = time(ctx, index);
  const held = tracks.reduce((sum, track) => sum + anonAt(track, t), 0);
  return held >= SIGNIFICANT * Math.max(1, at(ctx.usage, index));
}

/** Page cache says nothing about a runtime's heap: the peak of anon and shmem does. */
function anonPeak(ctx: Context): number {
  let peak = 0;
  for (let i = 0; i < ctx.length; i++) peak = Math.max(peak, (ctx.anon[i] ?? 0) + (ctx.shmem[i] ?? 0));
  return peak;
}

/** --max-old-space-size=N (or with underscores, or as two arguments), in bytes. */
export function maxOldSpace(args: readonly string[]): number | undefined {
  let found: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const match = /^--max[-_]old[-_]space[-_]size(?:=(\d+))?$/.exec(arg);
    if (!match) continue;
    const value = Number(match[1] ?? args[i + 1]);
    if (Number.isFinite(value) && value > 0) found = value * MiB;
  }
  return found;
}

function splitOptions(options: string | null | undefined): string[] {
  return options ? options.split(/\s+/).filter(Boolean) : [];
}

/**
 * Node's default heap limit under a cgroup limit, as Node 20 and 22 pick it (measured: 256 MiB gives
 * 259 MiB, 1 GiB gives 524 MiB, 4 GiB gives 2 GiB): half the limit, never below about 256 MiB, at most
 * about 4 GiB on 64-bit.
 */
export function defaultHeap(limit: number): number {
  return Math.min(4096 * MiB, Math.max(256 * MiB, limit / 2));
}

/** The largest set of these processes alive at one moment. */
function mostAtOnce(nodes: NodeProcess[]): NodeProcess[] {
  let best: NodeProcess[] = [];
  for (const candidate of nodes) {
    const t = candidate.track.startMs;
    const alive = nodes.filter(
      (node) => node.track.startMs <= t && (node.track.endMs === null || node.track.endMs > t),
    );
    if (alive.length > best.length) best = alive;
  }
  return best;
}
