import path from 'node:path';
import { formatBytes } from '../format.js';
import type { GuardKnob, GuardOrder } from '../record/capture-format.js';

const MiB = 1024 * 1024;

/** A graceful path the user asked for (the watchdog, a restart threshold): it should act before any knob. */
export interface GracefulPath {
  /** In words, with where it acts: "the watchdog's SIGTERM at 95% (486 MiB)", "--restart-above 100 MiB". */
  label: string;
  /** Where it acts, bytes of the cgroup's memory. */
  bytes: number;
}

export interface KnobRequest {
  /** The limit that applies to the job, bytes; null: none, and nothing to set. */
  limit: number | null;
  /** The job's environment as the user gave it. */
  env: NodeJS.ProcessEnv;
  /** The command and its arguments: a flag given there counts as the user's own. */
  command: readonly string[];
  /** How many Node processes share the limit at once (Node sizes each heap as if it were alone). */
  nodeProcesses: number;
  /** The directory holding the Python preload (sitecustomize.py). */
  pythonPreload: string;
  /** Where the Python preload reports a MemoryError it raised. */
  guardLog: string;
  /** The knobs go above it, between it and the limit, where there is room; absent: no graceful path. */
  graceful?: GracefulPath | undefined;
  /** The soft RLIMIT_DATA the job inherits, bytes, null when unlimited: the preload keeps a lower one. */
  inheritedDataLimit?: number | null;
  /** false: set nothing, only say where the user's own knobs sit (--guard watch without knobs). */
  set?: boolean;
}

export interface Knobs {
  /** The job's environment with the knobs set. */
  env: NodeJS.ProcessEnv;
  /** What was set, for the capture and the user. */
  knobs: GuardKnob[];
  /** With a graceful path: which acts first, it or a knob, and why. */
  order?: GuardOrder;
}

/**
 * Above a graceful threshold a knob leaves one poll of the watchdog or the sampler, plus the allocation a
 * job finishes after SIGTERM before its handler runs: a Python job allocating 16 MiB at a time met its
 * RLIMIT_DATA set 14 MiB above the watchdog's threshold, and no longer at 20 MiB.
 */
export function gapAboveGraceful(limit: number): number {
  return Math.max(32 * MiB, Math.floor(0.05 * limit));
}

/** Room a knob leaves below the limit for what the cgroup counts and the knob does not, per runtime. */
const BESIDE = {
  // Code, buffers and the young generation live outside V8's old space.
  node: (_limit: number) => 64 * MiB,
  // Metaspace, code cache, thread stacks and the GC's own structures.
  java: (limit: number) => Math.max(64 * MiB, Math.floor(0.1 * limit)),
  // Only what the Go runtime does not map itself (cgo, other processes): the limit is soft anyway.
  go: (limit: number) => Math.max(16 * MiB, Math.floor(0.05 * limit)),
  // RLIMIT_DATA counts a process's data segment and private anonymous mappings; the cgroup also counts
  // the interpreter's file pages, page tables and the kernel's slab, and other processes.
  python: (limit: number) => Math.max(16 * MiB, Math.floor(0.03 * limit)),
};

/**
 * Runtime settings that make a job's runtimes respect the limit, computed from the limit that really
 * applies. Only what the user has not set is set: their own flag always wins.
 *
 * Without a graceful path each knob sits where it is a backstop just below the limit. With one (the
 * watchdog, a restart threshold), a knob that acts below its threshold (Python's RLIMIT_DATA at 90 % under
 * a 95 % watchdog) takes the graceful stop away from the job, so each knob is raised to at least
 * `gapAboveGraceful` above the threshold, as long as that still leaves its room below the limit. Where it
 * does not, Python's rlimit goes the same gap above the limit (the kernel's limit, where the watchdog
 * holds the job on v1, comes first), and a heap knob stays as high as it is still a backstop, below the
 * threshold. The order says which acts first, and why.
 */
export function runtimeKnobs(request: KnobRequest): Knobs {
  const { limit, command } = request;
  const env = { ...request.env };
  const knobs: GuardKnob[] = [];
  if (limit === null) return { env, knobs };
  const set = request.set !== false;
  const graceful = request.graceful !== undefined && request.graceful.bytes < limit ? request.graceful : null;
  const floor = graceful ? graceful.bytes + gapAboveGraceful(limit) : null;
  const order = new Order(floor, set);

  /** A knob's bytes: its default, or raised above the graceful threshold; null when there is no room. */
  const place = (preferred: number, beside: number): number | null => {
    if (floor === null) return preferred;
    const wanted = Math.max(preferred, floor);
    return wanted <= limit - beside ? wanted : null;
  };
  /** Where there is no room: as high as it is still a backstop, never below where it would have been. */
  const highest = (preferred: number, beside: number): number => Math.max(preferred, limit - beside);

  // V8's heap is only part of a Node process: code, buffers and the young generation live outside it.
  const userHeap = maxOldSpace(command) ?? maxOldSpace(words(env.NODE_OPTIONS));
  if (userHeap !== undefined) {
    order.own('node', `--max-old-space-size=${userHeap}`, userHeap * MiB * request.nodeProcesses);
  } else if (set) {
    const preferred = Math.min(0.75 * limit, limit - BESIDE.node(limit));
    const total = place(preferred, BESIDE.node(limit)) ?? highest(preferred, BESIDE.node(limit));
    // Raised above a threshold, rounded up so that it stays above it.
    const perProcess = total / request.nodeProcesses / MiB;
    const heapMiB = Math.max(16, total > preferred ? Math.ceil(perProcess) : Math.floor(perProcess));
    const flag = `--max-old-space-size=${heapMiB}`;
    env.NODE_OPTIONS = env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${flag}` : flag;
    knobs.push({ runtime: 'node', setting: `NODE_OPTIONS=${flag}`, bytes: heapMiB * MiB });
    order.ours('node', heapMiB * MiB * request.nodeProcesses);
  }

  // Go's soft limit covers everything the Go runtime maps; leave a tenth for the rest. It stops nothing
  // (the collector works harder above it), so it never takes a graceful path's place.
  if (!env.GOMEMLIMIT && set) {
    const go = place(0.9 * limit, BESIDE.go(limit)) ?? highest(0.9 * limit, BESIDE.go(limit));
    const goBytes = Math.floor(go / MiB) * MiB;
    env.GOMEMLIMIT = `${goBytes / MiB}MiB`;
    knobs.push({ runtime: 'go', setting: `GOMEMLIMIT=${env.GOMEMLIMIT}`, bytes: goBytes });
  }

  // MaxRAM pins what the JVM believes it has, so it no longer depends on which cgroup it reads.
  const javaOptions = `${env.JAVA_TOOL_OPTIONS ?? ''} ${env.JDK_JAVA_OPTIONS ?? ''} ${env._JAVA_OPTIONS ?? ''} ${command.join(' ')}`;
  const javaUserSet = /-XX:(MaxRAM|MaxRAMPercentage|MaxRAMFraction|MaxHeapSize)=|-Xmx/.test(javaOptions);
  if (javaUserSet) {
    const heap = javaMaxHeap(javaOptions);
    if (heap) order.own('java', heap.text, heap.bytes);
  } else if (set) {
    const heap = place(0.75 * limit, BESIDE.java(limit)) ?? highest(0.75 * limit, BESIDE.java(limit));
    // Tenths of a percent, rounded up when raised above a threshold so that it stays above it.
    const round = heap > 0.75 * limit ? Math.ceil : Math.floor;
    const percent = (round((heap / limit) * 1000) / 10).toFixed(1);
    const options = `-XX:MaxRAM=${limit} -XX:MaxRAMPercentage=${percent}`;
    env.JAVA_TOOL_OPTIONS = env.JAVA_TOOL_OPTIONS ? `${env.JAVA_TOOL_OPTIONS} ${options}` : options;
    const bytes = Math.floor((Number(percent) / 100) * limit);
    knobs.push({ runtime: 'java', setting: `JAVA_TOOL_OPTIONS=${options}`, bytes });
    order.ours('java', bytes);
  }

  // Below the limit by a tenth (at least 32 MiB): room for the kernel's share, other processes and the
  // interpreter's file-backed pages, which RLIMIT_DATA does not count.
  // HEADROOM_PYTHON_RLIMIT_DATA already set (empty to opt out) is the user's own choice.
  const inherited = request.inheritedDataLimit ?? null;
  if (env.HEADROOM_PYTHON_RLIMIT_DATA !== undefined) {
    const theirs = Number(env.HEADROOM_PYTHON_RLIMIT_DATA);
    const own = [env.HEADROOM_PYTHON_RLIMIT_DATA && theirs > 0 ? theirs : null, inherited].filter(
      (value): value is number => value !== null,
    );
    if (own.length > 0) order.own('python', `RLIMIT_DATA ${formatBytes(Math.min(...own))}`, Math.min(...own));
    return { env, knobs, ...order.result(graceful, limit) };
  }
  if (!set) {
    if (inherited !== null) order.own('python', `RLIMIT_DATA ${formatBytes(inherited)}`, inherited);
    return { env, knobs, ...order.result(graceful, limit) };
  }
  const preferred = limit - Math.max(32 * MiB, Math.floor(0.1 * limit));
  const placed = place(preferred, BESIDE.python(limit));
  // No room below the limit: the same gap above the limit itself. RLIMIT_DATA is checked when memory is
  // mapped, before a page of it is charged to the cgroup, so an rlimit at the limit (or just above the
  // threshold) refused the job's next chunk while the cgroup still had room, ahead of the watchdog; a
  // gap above the limit lets the limit come first for any allocation smaller than the gap.
  const raised = placed ?? (floor === null ? limit : limit + gapAboveGraceful(limit));
  const dataBytes = Math.max(16 * MiB, raised > preferred ? Math.ceil(raised / MiB) * MiB : raised);
  if (placed === null && floor !== null) {
    order.pythonOverLimit(dataBytes, BESIDE.python(limit), gapAboveGraceful(limit));
  }
  env.PYTHONPATH = env.PYTHONPATH
    ? `${request.pythonPreload}${path.delimiter}${env.PYTHONPATH}`
    : request.pythonPreload;
  env.HEADROOM_PYTHON_RLIMIT_DATA = String(dataBytes);
  env.HEADROOM_GUARD_LOG = request.guardLog;
  knobs.push({ runtime: 'python', setting: `RLIMIT_DATA=${dataBytes}`, bytes: dataBytes });
  // The preload keeps a lower rlimit the job already has: that one is the user's own.
  if (inherited !== null && inherited < dataBytes) {
    order.own('python', `RLIMIT_DATA ${formatBytes(inherited)}`, inherited);
  } else if (placed !== null) {
    order.ours('python', dataBytes);
  }
  return { env, knobs, ...order.result(graceful, limit) };
}

const GRANTED: Record<GuardKnob['runtime'], string> = {
  node: 'Node heap',
  go: 'GOMEMLIMIT',
  java: 'JVM heap',
  python: 'Python RLIMIT_DATA',
};

const RUNTIME: Record<GuardKnob['runtime'], string> = {
  node: 'Node',
  go: 'Go',
  java: 'the JVM',
  python: 'Python',
};

/** One line for the user: what was set, as set; or, compact, what each runtime was granted. */
export function describeKnobs(knobs: readonly GuardKnob[], compact = false): string {
  return knobs
    .map((knob) =>
      compact || knob.runtime === 'python'
        ? `${GRANTED[knob.runtime]} ${Math.round(knob.bytes / MiB)} MiB`
        : knob.setting,
    )
    .join(', ');
}

/** Collects where each knob sits against the graceful threshold, and says it in one line. */
class Order {
  private readonly before: Array<{ text: string; why: string }> = [];
  private readonly above: string[] = [];
  /** The runtimes whose knobs leave the graceful path first, for a mixed answer. */
  private readonly gracefulFor: string[] = [];
  private overLimit: string | undefined;

  /** floor: the threshold plus the gap, null without a graceful path; set: headroom sets knobs. */
  constructor(
    private readonly floor: number | null,
    private readonly set: boolean,
  ) {}

  ours(runtime: GuardKnob['runtime'], bytes: number): void {
    if (this.floor === null) return;
    if (bytes >= this.floor) {
      this.above.push(`${GRANTED[runtime]} ${mib(bytes)}`);
      this.gracefulFor.push(RUNTIME[runtime]);
    } else
      this.before.push({
        text: `${GRANTED[runtime]} ${mib(bytes)}`,
        why: 'a heap needs room beside it below the limit',
      });
  }

  own(runtime: GuardKnob['runtime'], setting: string, bytes: number): void {
    if (this.floor === null || bytes >= this.floor) return;
    this.before.push({
      text: `your own ${runtime === 'java' ? 'JVM' : RUNTIME[runtime]} ${setting}`,
      why: `headroom leaves a setting of yours alone: raise it to ${Math.ceil(this.floor / MiB)} MiB or lower the threshold`,
    });
  }

  pythonOverLimit(bytes: number, beside: number, gap: number): void {
    this.gracefulFor.push(RUNTIME.python);
    this.overLimit = `Python RLIMIT_DATA ${mib(bytes)} sits ${mib(gap)} above the limit, as there is no room for it ${mib(gap)} above the threshold and ${mib(beside)} below the limit (the limit comes first; the rlimit still stops an allocation the limit could never hold)`;
  }

  result(graceful: GracefulPath | null, limit: number): { order?: GuardOrder } {
    if (this.floor === null || graceful === null) return {};
    // Setting nothing itself, headroom has something to say only about the user's own knobs.
    if (!this.set && this.before.length === 0) return {};
    const head = graceful.label;
    const clauses: string[] = [];
    if (this.above.length > 0) {
      clauses.push(
        `${listed(this.above)} ${this.above.length === 1 ? 'sits' : 'sit'} ${mib(gapAboveGraceful(limit))} or more above it, below the limit`,
      );
    }
    if (this.overLimit) clauses.push(this.overLimit);
    // Knobs with the same reason share it: "Node heap 448 MiB and JVM heap 448 MiB (a heap needs ...)".
    const reasons = [...new Set(this.before.map((knob) => knob.why))].map(
      (why) => `${listed(this.before.filter((knob) => knob.why === why).map((knob) => knob.text))} (${why})`,
    );
    const before = `${reasons.join(', ')} can act before`;
    let message: string;
    if (this.before.length === 0)
      message = `${head} acts first${clauses.length > 0 ? `: ${clauses.join('; ')}` : ''}`;
    else if (clauses.length === 0) message = `${before} ${head}`;
    else
      message = `${head} acts first for ${listed(this.gracefulFor)}: ${clauses.join('; ')}; but ${before} it`;
    return {
      order: {
        graceful: graceful.label,
        thresholdBytes: graceful.bytes,
        first: this.before.length === 0 ? 'graceful' : 'knob',
        message,
      },
    };
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`;
}

function listed(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** A --max-old-space-size given there, in MiB; undefined when none is. */
function maxOldSpace(args: readonly string[]): number | undefined {
  let found: number | undefined;
  for (const arg of args) {
    const match = /^--max[-_]old[-_]space[-_]size(?:=(\d+))?$/.exec(arg);
    // The flag without a value (its value the next word) still counts as the user's own.
    if (match) found = match[1] === undefined ? Number.POSITIVE_INFINITY : Number(match[1]);
  }
  return found;
}

/** -Xmx or -XX:MaxHeapSize among the JVM's options, the last one given; undefined when only a share is. */
function javaMaxHeap(options: string): { text: string; bytes: number } | undefined {
  const units: Record<string, number> = { '': 1, k: 1024, m: MiB, g: 1024 * MiB, t: 1024 * 1024 * MiB };
  let found: { text: string; bytes: number } | undefined;
  for (const match of options.matchAll(/(?:^|\s)(-Xmx|-XX:MaxHeapSize=)(\d+)([kKmMgGtT]?)(?=\s|$)/g)) {
    const [text = '', , digits = '0', unit = ''] = match;
    found = { text: text.trim(), bytes: Number(digits) * (units[unit.toLowerCase()] ?? 1) };
  }
  return found;
}

function words(text: string | undefined): string[] {
  return text ? text.split(/\s+/).filter(Boolean) : [];
}
