import { formatBytes, formatDuration, formatPercent } from '../format.js';
import { lastAtOrBefore } from '../last-at-or-before.js';
import type { SummaryProfile } from '../profile/profile-summary.js';
import type { ProcessTrack } from '../record/capture-reader.js';
import type { Evidence, Finding } from './finding.js';
import {
  anonAt,
  at,
  type Context,
  counterRise,
  isNode,
  MiB,
  max,
  processName,
  psiPeak,
  time,
} from './findings/context.js';
import { firstKillContext, fullestBefore } from './findings/kill-context.js';
import { defaultHeap, maxOldSpace } from './findings/runtime-heap.js';
import { MIN_SWAP, swapRise } from './findings/swap.js';
import type { Summary } from './summarize.js';

/** The one mechanism that explains the run; stable names that scripts may match on. */
export type VerdictKind =
  | 'healthy'
  | 'anon-growth'
  | 'child-process'
  | 'workers'
  | 'page-cache'
  | 'dirty-page-cache'
  | 'tmpfs'
  | 'runtime-heap-limit'
  | 'parent-limit'
  | 'kernel-memory';

export type Confidence = 'high' | 'medium' | 'low';

/** One sentence naming what filled memory (or that nothing did), ahead of the findings. */
export interface Verdict {
  kind: VerdictKind;
  cause: string;
  confidence: Confidence;
  evidence: Evidence;
}

/** A part this share of the memory that could not be reclaimed is "most" of it. */
const DOMINANT = 0.6;
/** One process holding at least this share of the anonymous memory is the one to name. */
const ONE_HOLDER = 0.5;
/** This many processes, none holding most, are a pool of workers. */
const MIN_WORKERS = 3;
/** Dirty cache this large during the run makes a cache-filled limit a writer's doing. */
const MIN_DIRTY = 32 * MiB;
/** tmpfs still held at the end from this size on outlives the job worth saying so. */
const MIN_LEFT = 16 * MiB;
/** A sample this close before the moment that matters shows what memory was made of then. */
const FRESH_MS = 1000;
/** Fewer samples than this cannot show how memory filled: the verdict says so, with low confidence. */
const FEW_SAMPLES = 3;
/** PSI "some" avg10 (percent) from which tasks stalled on memory. */
const PSI_STALL = 10;

type Part = 'anon' | 'shmem' | 'kernel' | 'dirty';

/**
 * The verdict reads the capture in a fixed order: a runtime that stopped itself before the kernel had to,
 * then the moment memory mattered (the kill, the guard's catch, or the limit being pressed) and what
 * made up the memory that could not be reclaimed then. A run that never pressed its limit is healthy
 * unless its anonymous memory is on course to fill it. With fewer than three samples it says so.
 */
export function decideVerdict(
  ctx: Context,
  findings: readonly Finding[],
  profile: SummaryProfile | undefined,
): Verdict {
  const verdict = decide(ctx, findings, profile);
  if (ctx.length === 0 || ctx.length >= FEW_SAMPLES) return verdict;
  // A post-mortem of a cgroup killed as it started, or a run cut short: one or two samples can show
  // memory before it filled, and the cause read from them can be another.
  const some = ctx.length === 1 ? 'Only one sample was' : `Only ${ctx.length} samples were`;
  return {
    ...verdict,
    cause: `${verdict.cause} ${some} recorded: too few to be sure of this.`,
    confidence: 'low',
  };
}

function decide(ctx: Context, findings: readonly Finding[], profile: SummaryProfile | undefined): Verdict {
  const { summary } = ctx;
  const heap = heapAbort(ctx);
  if (heap) return heap;
  const moment = criticalMoment(ctx);
  const refused = summary.guard.actions.find((a) => a.action === 'memory-error');
  if (refused && !summary.oomKilled) return memoryError(ctx, refused);
  if (!moment) {
    const growth = findings.find((f) => f.kind === 'anon-growth' && f.severity !== 'info');
    if (growth) return fromGrowth(ctx, growth, profile);
    const shmem = findings.find((f) => f.kind === 'shmem' && f.severity !== 'info');
    if (shmem) return fromShmem(ctx, shmem);
    return healthy(ctx);
  }
  const { index } = moment;
  const parts: Record<Part, number> = {
    anon: at(ctx.anon, index),
    shmem: at(ctx.shmem, index),
    kernel: at(ctx.kernel, index),
    dirty: at(ctx.dirty, index),
  };
  const pinned = parts.anon + parts.shmem + parts.kernel + parts.dirty;
  const clean = Math.max(0, at(ctx.file, index) - parts.dirty);
  const usage = at(ctx.usage, index);
  const confidenceFor = (share: number): Confidence =>
    ctx.length < FEW_SAMPLES || summary.truncated
      ? 'low'
      : share >= DOMINANT && time(ctx, index) >= moment.timeMs - FRESH_MS
        ? 'high'
        : 'medium';
  const evidenceFor = (series: string[], pids: number[] = []): Evidence => ({
    fromMs: Math.max(0, moment.timeMs - 3000),
    toMs: moment.timeMs,
    series,
    pids,
  });

  // Clean cache the kernel dropped as it needed: the limit was reached, nothing was lost.
  if (!moment.failed && clean >= 0.5 * usage && clean > pinned) {
    const dirtiest = max(ctx.dirty).value;
    const writer = dirtiest >= MIN_DIRTY;
    return {
      kind: writer ? 'dirty-page-cache' : 'page-cache',
      cause: writer
        ? `Page cache from writing files filled the limit: dirty cache peaked at ${formatBytes(dirtiest)}, and each time the ${formatBytes(ctx.limit)} limit was reached the kernel had to write pages to disk before it could drop them${files(ctx)}.`
        : `Clean page cache filled the limit: ${formatBytes(clean)} of ${formatBytes(usage)} at ${formatDuration(time(ctx, index))} was cache of files the job read or wrote, already on disk${files(ctx)}, which the kernel drops as soon as memory is needed. Not a leak; the job was not at risk.`,
      confidence: confidenceFor(clean / Math.max(1, usage)),
      evidence: evidenceFor(['file', 'fileDirty', 'limitHits']),
    };
  }

  const part = largestPart(parts);
  const share = pinned > 0 ? parts[part] / pinned : 0;
  const what = moment.what;
  let verdict: Verdict;
  if (part === 'shmem') {
    verdict = {
      kind: 'tmpfs',
      cause: `Files on tmpfs filled memory: ${formatBytes(parts.shmem)} of shared memory${tmpfsWhere(ctx)} ${what}; the kernel cannot reclaim tmpfs without swap, and only deleting the files frees it.`,
      confidence: confidenceFor(share),
      evidence: evidenceFor(['shmem']),
    };
  } else if (part === 'dirty') {
    verdict = {
      kind: 'dirty-page-cache',
      cause: `Dirty page cache from writing files filled memory: ${formatBytes(parts.dirty)} waiting for the disk${files(ctx)} ${what}; the kernel cannot drop it until it is written.`,
      confidence: confidenceFor(share),
      evidence: evidenceFor(['fileDirty', 'fileWriteback']),
    };
  } else if (part === 'kernel') {
    verdict = {
      kind: 'kernel-memory',
      cause: `Kernel memory filled the limit: ${formatBytes(parts.kernel)} of kernel objects charged to the job (pipes, sockets, inotify watches, page tables and the like) ${what}, against ${formatBytes(parts.anon)} of the processes' own memory.`,
      confidence: confidenceFor(share),
      evidence: evidenceFor(['kernel']),
    };
  } else {
    const grew = findings.some((f) => f.kind === 'anon-growth');
    verdict = anonVerdict(ctx, index, what, confidenceFor(share), evidenceFor(['anon']), profile, grew);
  }
  return parentLimit(ctx, moment, verdict) ?? verdict;
}

interface Moment {
  /** The sample that shows what memory was made of. */
  index: number;
  timeMs: number;
  /** Whether a process was killed or refused memory (versus the limit merely being pressed). */
  failed: boolean;
  /** "when the OOM killer struck at 2.1 s", to end the cause with. */
  what: string;
  /** The kill came with usage well under the job's own limit. */
  outside: boolean;
}

function criticalMoment(ctx: Context): Moment | undefined {
  const { summary } = ctx;
  const first = firstKillContext(ctx);
  if (first) {
    const { kill, index, atLimit } = first;
    return {
      index: Math.max(0, index),
      timeMs: kill.timeMs,
      failed: true,
      what: `when the OOM killer struck at ${formatDuration(kill.timeMs)}`,
      outside: !atLimit,
    };
  }
  const caught = summary.guard.actions.find((a) => a.action === 'kill');
  if (caught) {
    const index = Math.max(0, fullestBefore(ctx, caught.timeMs));
    return {
      index,
      timeMs: caught.timeMs,
      failed: true,
      what: `when the guard killed it at ${formatDuration(caught.timeMs)}, before the OOM killer`,
      outside: false,
    };
  }
  if (ctx.peakIndex < 0 || ctx.limit === null) return undefined;
  const pinnedPeak = max(ctx.pinned);
  const psi = psiPeak(ctx, ctx.capture.series.values.psiSome)?.value ?? 0;
  const pressed =
    summary.limitHits > 0 ||
    swapRise(ctx).value >= MIN_SWAP ||
    counterRise(ctx, ctx.capture.series.values.highHits) > 0 ||
    pinnedPeak.value >= 0.9 * ctx.limit ||
    psi >= PSI_STALL;
  if (!pressed) return undefined;
  // Pinned memory at its fullest tells what pressed; when only cache reached the limit, the peak does.
  const index = pinnedPeak.value >= 0.5 * ctx.limit ? pinnedPeak.index : ctx.peakIndex;
  return {
    index,
    timeMs: time(ctx, index),
    failed: false,
    what: `at ${formatDuration(time(ctx, index))}, at the ${formatBytes(ctx.limit)} limit`,
    outside: false,
  };
}

/** Anonymous memory: the process that held most of it, a child of the job, or a pool none of which did. */
function anonVerdict(
  ctx: Context,
  index: number,
  what: string,
  confidence: Confidence,
  evidence: Evidence,
  profile: SummaryProfile | undefined,
  /** Its floor rose steadily (the anon-growth finding), rather than in one step. */
  grew: boolean,
): Verdict {
  const t = time(ctx, index);
  const holders = ctx.capture.processes
    .map((track) => ({ track, bytes: anonAt(track, t) || lastReading(track, t) }))
    .filter((h) => h.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  const total = holders.reduce((sum, h) => sum + h.bytes, 0);
  const anon = at(ctx.anon, index);
  const top = holders[0];
  if (!top) {
    // No process was read near the moment (a slow host, a fast allocator): the OOM killer's victim, which
    // it picks for its size, is the one the kernel names.
    const victim = ctx.summary.oomKills.find((kill) => kill.pid !== null && kill.name);
    return {
      kind: 'anon-growth',
      cause: victim
        ? `Anonymous memory in ${processName({ pid: victim.pid ?? 0, name: victim.name ?? '' })}, the OOM killer's victim, filled memory: ${formatBytes(anon)} of anonymous memory ${what}.`
        : `The job's own (anonymous) memory filled the limit: ${formatBytes(anon)} ${what}.`,
      confidence: confidence === 'high' ? 'medium' : confidence,
      evidence: victim?.pid ? { ...evidence, pids: [victim.pid] } : evidence,
    };
  }
  if (top.bytes < ONE_HOLDER * total && holders.length >= MIN_WORKERS) {
    const alive = holders.length;
    return {
      kind: 'workers',
      cause: `${alive} processes together filled memory with anonymous memory, none holding most of it: ${formatBytes(total)} in all, the largest ${processName(top.track)} with ${formatBytes(top.bytes)}, ${what}. Fewer workers, or less memory each, is the fix.`,
      confidence,
      evidence: { ...evidence, pids: holders.slice(0, 8).map((h) => h.track.pid) },
    };
  }
  const child = !isJobRoot(ctx, top.track);
  const site = profiledSite(profile, top.track.pid);
  // A process read after the cgroup's last sample before a kill can hold more than that sample's anon:
  // "255 MiB of the 113 MiB" would then be said.
  return {
    kind: child ? 'child-process' : 'anon-growth',
    cause:
      `${child ? `A child process, ${processName(top.track)},` : `Anonymous memory in ${processName(top.track)}`} ` +
      `${grew ? 'grew steadily to fill memory' : 'filled memory'}: it held ${formatBytes(top.bytes)}${top.bytes <= anon ? ` of the ${formatBytes(anon)}` : ''} of anonymous memory ${what}` +
      `${site ? `, most of it allocated in ${site}` : ''}.`,
    confidence,
    evidence: { ...evidence, pids: [top.track.pid] },
  };
}

/**
 * The guard's knob refused an allocation: the process asked for more than the limit holds and got a
 * MemoryError it could handle, where it would otherwise have been OOM-killed.
 */
function memoryError(ctx: Context, action: Summary['guard']['actions'][number]): Verdict {
  const track = ctx.capture.processes.find((p) => p.pid === action.pid);
  const who = track ? processName(track) : action.pid === null ? 'the job' : `process ${action.pid}`;
  const knob = ctx.summary.guard.knobs.find((k) => k.runtime === 'python');
  const held = track ? anonAt(track, action.timeMs) : 0;
  return {
    kind: 'anon-growth',
    cause:
      `${who} asked for more memory than the limit holds${knob ? ` (its guard, RLIMIT_DATA ${formatBytes(knob.bytes)})` : ''} and got a MemoryError at ${formatDuration(action.timeMs)} instead of an OOM kill` +
      `${held > 0 ? `, holding ${formatBytes(held)} of anonymous memory then` : ''}: the job's own allocation was too big for the limit.`,
    confidence: track ? 'high' : 'medium',
    evidence: {
      fromMs: Math.max(0, action.timeMs - 3000),
      toMs: action.timeMs,
      series: ['anon'],
      pids: action.pid === null ? [] : [action.pid],
    },
  };
}

/** A runtime's own heap limit ended the run: V8 aborts with "heap out of memory", exit 134. */
function heapAbort(ctx: Context): Verdict | undefined {
  const { summary } = ctx;
  const aborted = summary.signal === 'SIGABRT' || summary.exitCode === 134 || summary.status === 134;
  if (!aborted || summary.oomKilled) return undefined;
  const nodes = ctx.capture.processes.filter(isNode);
  if (nodes.length === 0) return undefined;
  const last = nodes.reduce((a, b) => ((a.endMs ?? Infinity) >= (b.endMs ?? Infinity) ? a : b));
  const heap = heapLimitOf(ctx, last);
  const anonPeak = max(ctx.anon);
  return {
    kind: 'runtime-heap-limit',
    cause:
      `${processName(last)} hit V8's own heap limit${heap ? ` of ${formatBytes(heap.bytes)} (${heap.source})` : ''} and aborted with "heap out of memory" (exit 134), ` +
      `with the cgroup at ${formatBytes(at(ctx.usage, ctx.peakIndex))}${ctx.limit === null ? '' : ` of its ${formatBytes(ctx.limit)} limit`}: the runtime stopped itself before the kernel had to.`,
    confidence: anonPeak.index >= 0 ? 'high' : 'medium',
    evidence: { fromMs: last.startMs, toMs: ctx.capture.lastTimeMs, series: ['anon'], pids: [last.pid] },
  };
}

function heapLimitOf(ctx: Context, track: ProcessTrack): { bytes: number; source: string } | undefined {
  const flag = maxOldSpace(track.argv);
  if (flag !== undefined) return { bytes: flag, source: '--max-old-space-size on its command line' };
  const options = (ctx.capture.header.nodeOptions ?? '').split(/\s+/).filter(Boolean);
  const inherited = maxOldSpace(options);
  if (inherited !== undefined) return { bytes: inherited, source: 'NODE_OPTIONS' };
  const knob = ctx.summary.guard.knobs.find((k) => k.runtime === 'node');
  if (knob) return { bytes: knob.bytes, source: "set by headroom's guard from the limit" };
  return ctx.limit === null ? undefined : { bytes: defaultHeap(ctx.limit), source: "Node's default" };
}

/**
 * The limit that struck was set above the job's cgroup (a pod, a slice, an outer container), or the kill
 * came with usage well under the job's own limit: the fix is there, not in the job's own setting.
 */
function parentLimit(ctx: Context, moment: Moment, filler: Verdict): Verdict | undefined {
  const { header } = ctx.capture;
  const depth = header.limit.depth;
  const above = depth === null ? header.limit.bytes !== null : depth !== undefined && depth > 0;
  if (!above && !moment.outside) return undefined;
  const asked = header.requested.memory;
  const own =
    header.cgroup.mode === 'own' && asked !== null
      ? `, below the ${formatBytes(asked)} asked for the job's own cgroup`
      : '';
  const where = above
    ? `The limit that applies is ${formatBytes(ctx.limit)}, set on a parent cgroup (${ctx.summary.limit.source})${own}`
    : `The kill came with usage under the job's own limit, so a limit above it (a parent cgroup's, or the host running out) struck`;
  return {
    kind: 'parent-limit',
    cause: `${where}. What filled it: ${lowerFirst(filler.cause)}`,
    confidence: filler.confidence,
    evidence: filler.evidence,
  };
}

function fromGrowth(ctx: Context, growth: Finding, profile: SummaryProfile | undefined): Verdict {
  const pid = growth.evidence.pids[0];
  const track = ctx.capture.processes.find((p) => p.pid === pid);
  const site = pid === undefined ? undefined : profiledSite(profile, pid);
  return {
    kind: 'anon-growth',
    cause: `Anonymous memory${track ? ` in ${processName(track)}` : ''} grows steadily and is on course to fill the limit${site ? `; most of it is allocated in ${site}` : ''}: ${lowerFirst(growth.message)}`,
    confidence: (growth.figures.r2 ?? 0) >= 0.95 ? 'high' : 'medium',
    evidence: growth.evidence,
  };
}

/** tmpfs files that took half the limit without pressing it yet: they stay until someone deletes them. */
function fromShmem(ctx: Context, shmem: Finding): Verdict {
  const peak = shmem.figures.shmemPeakBytes ?? 0;
  const left = shmem.figures.shmemAtEndBytes ?? 0;
  return {
    kind: 'tmpfs',
    cause: `Files on tmpfs${tmpfsWhere(ctx)} took ${formatBytes(peak)} of the ${formatBytes(ctx.limit)} limit${left >= MIN_LEFT ? `, and ${formatBytes(left)} of it was still held when the job ended: it stays charged until the files are deleted` : ''}.`,
    confidence: 'high',
    evidence: shmem.evidence,
  };
}

function healthy(ctx: Context): Verdict {
  const { summary } = ctx;
  const whole = { fromMs: 0, toMs: ctx.capture.lastTimeMs, series: ['usage'], pids: [] };
  if (ctx.length === 0)
    return {
      kind: 'healthy',
      cause: 'No samples were recorded: nothing to judge.',
      confidence: 'low',
      evidence: whole,
    };
  const peak = summary.peak.bytes;
  const of =
    ctx.limit === null ? ' (no limit)' : ` of ${formatBytes(ctx.limit)} (${formatPercent(peak, ctx.limit)})`;
  const cache = at(ctx.file, ctx.peakIndex);
  const mostlyCache = ctx.peakIndex >= 0 && cache >= 0.5 * at(ctx.usage, ctx.peakIndex);
  return {
    kind: 'healthy',
    cause: `Healthy: peak ${formatBytes(peak)}${of}, no pressure${mostlyCache ? `; ${formatBytes(cache)} of it was page cache the kernel can drop at any time` : ''}.`,
    confidence:
      ctx.length >= 10 && !summary.truncated ? 'high' : ctx.length >= FEW_SAMPLES ? 'medium' : 'low',
    evidence: whole,
  };
}

/**
 * A victim seen gone on the very tick of the fullest sample still held its memory a moment before: its
 * last reading, if recent, stands in for it.
 */
function lastReading(track: ProcessTrack, timeMs: number): number {
  if (track.endMs === null || track.endMs < timeMs - FRESH_MS) return 0;
  const found = lastAtOrBefore(track.samples.timeMs, timeMs);
  return found < 0 ? 0 : (track.samples.anon[found] ?? 0);
}

/** The job's own top process(es): those whose parent headroom does not track. */
function isJobRoot(ctx: Context, track: ProcessTrack): boolean {
  return !ctx.capture.processes.some((p) => p.pid === track.ppid);
}

function profiledSite(profile: SummaryProfile | undefined, pid: number): string | undefined {
  const site = profile?.topSites.find((s) => s.pids.includes(pid)) ?? profile?.topSites[0];
  return site && site.share >= 0.2 ? site.label : undefined;
}

function largestPart(parts: Record<Part, number>): Part {
  let best: Part = 'anon';
  for (const part of ['shmem', 'kernel', 'dirty'] as const) if (parts[part] > parts[best]) best = part;
  return best;
}

function files(ctx: Context): string {
  const names = ctx.files
    .filter((f) => !f.tmpfs)
    .sort((a, b) => (b.residentBytes ?? b.sizeBytes) - (a.residentBytes ?? a.sizeBytes))
    .slice(0, 2)
    .map((f) => f.path);
  return names.length > 0 ? ` (${names.join(', ')})` : '';
}

function tmpfsWhere(ctx: Context): string {
  const names = ctx.files
    .filter((f) => f.tmpfs)
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, 2)
    .map((f) => f.path);
  if (names.length > 0) return ` in ${names.join(', ')}`;
  const mount = [...ctx.tmpfs].sort((a, b) => b.usedBytes - a.usedBytes)[0];
  return mount ? ` (${mount.mountPoint})` : '';
}

function lowerFirst(text: string): string {
  return text.length > 1 && /^[A-Z][a-z]/.test(text) ? text[0]?.toLowerCase() + text.slice(1) : text;
}
