import type { Summary } from '../../analyze/summarize.js';
import {
  isLibraryFrame,
  type ProcessPart,
  type ProfileTime,
  partsAt,
  resolveProfileTime,
} from '../../profile/profile-at.js';
import type { ProfileMode, ProfileRuntime } from '../../profile/profile-format.js';
import { type Frame, type ProcessProfile, unplacedAncestry } from '../../profile/profile-model.js';
import type { Capture } from '../../record/capture-reader.js';
import { profileJoinLine } from '../profile-join.js';
import { minMaxIndices, pick } from './downsample.js';

/** Slider positions at most; more snapshot times than this are thinned evenly. */
export const MAX_POSITIONS = 200;
/** Nodes of the flame graph's table at most; beyond it the smallest are folded into their callers. */
export const MAX_FLAME_NODES = 20_000;
/** Points of the cgroup usage strip under the slider. */
const STRIP_POINTS = 600;

export const NODE_ROOT = 0;
export const NODE_PROCESS = 1;
/** A frame of the job's own code. */
export const NODE_OWN = 2;
/** A frame of the runtime's library, an installed package or native code. */
export const NODE_LIBRARY = 3;

/**
 * The merged call tree at every slider position, compactly: the nodes once, and per position only the
 * self bytes and counts that changed since the position before. Totals are summed on the page.
 */
export interface FlameData {
  /**
   * Parallel arrays; node 0 is the root. Nodes come in depth-first order with siblings by their largest
   * total at any position, so a parent precedes its children and siblings keep their places as the
   * slider moves.
   */
  nodes: {
    /** -1 for the root. */
    parent: number[];
    /** NODE_ROOT, NODE_PROCESS, NODE_OWN or NODE_LIBRARY. */
    kind: number[];
    /** Index into strings: the function, or the process's label. */
    name: number[];
    /** Index into strings; 0 ("") when unknown. */
    file: number[];
    /** 1-based; 0 when unknown. */
    line: number[];
  };
  /** Every name and path once; strings[0] is "". */
  strings: string[];
  /** The processes, by their node. */
  processes: Array<{ node: number; pid: number; runtime: ProfileRuntime; mode: ProfileMode; argv: string[] }>;
  /**
   * In time order. changes: [node, selfBytes, count, ...] for each node whose values differ from the
   * position before (all zero before the first).
   */
  positions: Array<{ timeMs: number; label: string; changes: number[] }>;
  /** The position shown first. */
  initial: number;
  /** The position at the cgroup's peak; -1 when none is (thinned away, or no samples). */
  peak: number;
  /** Distinct snapshot times in the capture, before thinning. */
  snapshotTimes: number;
  /** Nodes folded into their callers to keep the table small. */
  folded: number;
  /** The cgroup's usage, thinned, for the strip under the slider; null where unknown. */
  usage: { timeMs: number[]; bytes: Array<number | null>; limit: number | null; durationMs: number };
  /** What the profilers noted (a refused snapshot, say), at most a few. */
  notes: Array<{ timeMs: number; pid: number; message: string }>;
  /** How the code view meets the cgroup view, one line; null when not known. */
  join: string | null;
}

const MAX_NOTES = 20;

/** Why the snapshots at a position were taken, in words for the page. */
const REASON_WORDS: Record<string, string> = {
  peak: 'at a new high of a process',
  exit: 'at a process\u2019s exit',
  request: 'on request',
  interval: 'on the profiler\u2019s timer',
  attach: 'by headroom attach',
};

/**
 * The flame graph's data for a capture with snapshots, first showing `at`; undefined when the capture
 * holds no allocation profile snapshot.
 */
export function buildFlameData(
  capture: Capture,
  at: ProfileTime = 'peak',
  options: { maxPositions?: number; maxNodes?: number; join?: string | null } = {},
): FlameData | undefined {
  const maxPositions = Math.max(2, options.maxPositions ?? MAX_POSITIONS);
  const maxNodes = Math.max(2, options.maxNodes ?? MAX_FLAME_NODES);
  const times = snapshotTimes(capture);
  if (times.length === 0) return undefined;

  const initialMs = resolveProfileTime(capture, at);
  const peakMs = resolveProfileTime(capture, 'peak');
  const slots: Array<{ timeMs: number; at: ProfileTime }> = thin(times, maxPositions - 1).map((t) => ({
    timeMs: t,
    at: t,
  }));
  // The first view is exactly the one asked for ("end" keeps processes that exited early).
  const initialSlot = { timeMs: initialMs, at: at === 'end' ? ('end' as const) : initialMs };
  // "end" shows every process's last snapshot, so it stands in for the last snapshot time.
  if (at === 'end') slots.pop();
  const same = slots.findIndex((slot) => slot.timeMs === initialMs);
  if (same >= 0) slots[same] = initialSlot;
  else slots.push(initialSlot);
  slots.sort((a, b) => a.timeMs - b.timeMs);

  const table = new NodeTable();
  const views = slots.map((slot) => table.add(capture, slot.at));
  const reasons = reasonsByTime(capture);
  const { order, folded } = table.order(views, maxNodes);

  const positions: FlameData['positions'] = [];
  let previous = new Map<number, [number, number]>();
  for (let k = 0; k < slots.length; k++) {
    const slot = slots[k] as (typeof slots)[number];
    const current = new Map<number, [number, number]>();
    for (const [node, [self, count]] of views[k] as Map<number, [number, number]>) {
      const index = order.map[node] as number;
      const sum = current.get(index) ?? [0, 0];
      sum[0] += self;
      sum[1] += count;
      current.set(index, sum);
    }
    const changes: number[] = [];
    for (const [index, [self, count]] of current) {
      const before = previous.get(index);
      if (!before || before[0] !== self || before[1] !== count) changes.push(index, self, count);
    }
    for (const index of previous.keys()) if (!current.has(index)) changes.push(index, 0, 0);
    const taken = (reasons.get(slot.timeMs) ?? []).map((reason) => REASON_WORDS[reason] ?? reason);
    const label = [
      slot.timeMs === peakMs ? 'the cgroup\u2019s peak' : '',
      slot.at === 'end' ? 'the end: every process\u2019s last snapshot' : '',
      taken.length ? `snapshot ${taken.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    positions.push({ timeMs: slot.timeMs, label, changes });
    previous = current;
  }

  const notes = capture.profiles
    .flatMap((profile) => profile.notes.map((note) => ({ ...note, pid: profile.pid })))
    .sort((a, b) => a.timeMs - b.timeMs)
    .slice(0, MAX_NOTES);
  return {
    nodes: order.nodes,
    strings: table.strings,
    processes: table.processes
      .map((process) => ({ ...process, node: order.map[process.node] as number }))
      .sort((a, b) => a.node - b.node),
    positions,
    initial: slots.indexOf(initialSlot),
    peak: capture.series.length ? slots.findIndex((slot) => slot.timeMs === peakMs) : -1,
    snapshotTimes: times.length,
    folded,
    usage: usageStrip(capture, times.at(-1) ?? 0),
    notes,
    join: options.join ?? null,
  };
}

/** The line joining the cgroup's peak to the code's top site; null when the summary has no site. */
export function flameJoinLine(summary: Summary): string | null {
  return profileJoinLine(summary.peak.breakdown, summary.profile?.topSites[0]) ?? null;
}

/** The cgroup's usage thinned for the strip; in observe mode without headroom's own memory, as the report. */
function usageStrip(capture: Capture, lastSnapshotMs: number): FlameData['usage'] {
  const { series, header } = capture;
  const observe = header.cgroup.mode === 'observe';
  const usage = new Float64Array(series.length);
  for (let i = 0; i < series.length; i++) {
    const value = series.values.usage[i] ?? -1;
    const self = observe ? Math.max(0, series.values.self[i] ?? 0) : 0;
    usage[i] = value < 0 ? -1 : Math.max(0, value - self);
  }
  const indices = minMaxIndices(usage, STRIP_POINTS);
  return {
    timeMs: pick(series.timeMs, indices),
    bytes: pick(usage, indices).map((bytes) => (bytes < 0 ? null : bytes)),
    limit: header.limit.bytes,
    durationMs: Math.max(capture.lastTimeMs, capture.end?.durationMs ?? 0, lastSnapshotMs),
  };
}

/** Distinct times at which some process took a snapshot, ascending. */
function snapshotTimes(capture: Capture): number[] {
  const times = new Set<number>();
  for (const profile of capture.profiles)
    for (const snapshot of profile.snapshots) times.add(snapshot.timeMs);
  return [...times].sort((a, b) => a - b);
}

function reasonsByTime(capture: Capture): Map<number, string[]> {
  const reasons = new Map<number, string[]>();
  for (const profile of capture.profiles) {
    for (const snapshot of profile.snapshots) {
      const list = reasons.get(snapshot.timeMs) ?? [];
      if (!list.includes(snapshot.reason)) list.push(snapshot.reason);
      reasons.set(snapshot.timeMs, list);
    }
  }
  return reasons;
}

/** At most `max` of the sorted times, evenly by index, the first and the last always among them. */
export function thin(times: readonly number[], max: number): number[] {
  if (times.length <= max) return [...times];
  if (max <= 1) return [times.at(-1) as number];
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(times[Math.round((k * (times.length - 1)) / (max - 1))] as number);
  return [...new Set(out)];
}

const UNKNOWN_FRAME: Frame = { name: '(unknown)', file: '', line: 0 };

/**
 * The snapshots profileAt merges at a time, without building its tree: the slider needs up to 200 views
 * and the tree of a large profile costs tens of ms each.
 */
function partsOf(capture: Capture, at: ProfileTime): ProcessPart[] {
  return partsAt(capture, resolveProfileTime(capture, at), at === 'end');
}

/** Node identities across positions: a frame is the same node when its caller is and it names the same code. */
class NodeTable {
  readonly strings: string[] = [''];
  readonly parent: number[] = [-1];
  readonly kind: number[] = [NODE_ROOT];
  readonly name: number[] = [];
  readonly file: number[] = [0];
  readonly line: number[] = [0];
  readonly processes: FlameData['processes'] = [];
  private readonly stringIndex = new Map<string, number>([['', 0]]);
  private readonly byKey = new Map<string, number>();
  /** Per session: profile node id -> table node. */
  private readonly sessions = new Map<ProcessProfile, Map<number, number>>();

  constructor() {
    this.name.push(this.intern('all'));
  }

  /** The view at a time, as node -> [self bytes, count]. */
  add(capture: Capture, at: ProfileTime): Map<number, [number, number]> {
    const values = new Map<number, [number, number]>();
    for (const part of partsOf(capture, at)) {
      const { snapshot } = part;
      for (let i = 0; i < snapshot.nodeIds.length; i++) {
        const self = snapshot.bytes[i] ?? 0;
        const count = snapshot.counts[i] ?? 0;
        if (self === 0 && count === 0) continue;
        const node = this.frameNode(part, snapshot.nodeIds[i] as number);
        const sum = values.get(node) ?? [0, 0];
        sum[0] += self;
        sum[1] += count;
        values.set(node, sum);
      }
    }
    return values;
  }

  /** The process's node: one per pid and label, under the root. */
  private processNode(part: ProcessPart): number {
    return this.node(`p\u0000${part.pid}\u0000${part.label}`, () => {
      const index = this.push(0, NODE_PROCESS, part.label, '', 0);
      this.processes.push({
        node: index,
        pid: part.pid,
        runtime: part.profile.info.runtime,
        mode: part.profile.info.mode,
        argv: part.track?.argv.length ? [...part.track.argv] : [...part.profile.info.argv],
      });
      return index;
    });
  }

  /**
   * The table's node for a profile node: the same frame under the same caller is one node, as in
   * profileAt's tree but with equal siblings merged. Remembered per session, since its nodes never change.
   */
  private frameNode(part: ProcessPart, id: number): number {
    const { profile } = part;
    let known = this.sessions.get(profile);
    if (!known) {
      known = new Map();
      this.sessions.set(profile, known);
    }
    const chain = unplacedAncestry(profile.nodes, id, (at) => known.has(at));
    const outermost = profile.nodes.get(chain[chain.length - 1] ?? id);
    let placed = chain.length === 0 ? (known.get(id) ?? -1) : (known.get(outermost?.parent ?? -1) ?? -1);
    if (placed < 0) placed = this.processNode(part);
    for (let k = chain.length - 1; k >= 0; k--) {
      const nodeId = chain[k] as number;
      const frame = profile.nodes.get(nodeId)?.frame ?? UNKNOWN_FRAME;
      const parent = placed;
      const kind = isLibraryFrame(profile.info.runtime, frame) ? NODE_LIBRARY : NODE_OWN;
      const key = `${parent}\u0000${frame.name}\u0000${frame.file}\u0000${frame.line}`;
      placed = this.node(key, () => this.push(parent, kind, frame.name, frame.file, frame.line));
      known.set(nodeId, placed);
    }
    return placed;
  }

  /**
   * The final numbering: depth-first, siblings by their largest total at any position; past maxNodes the
   * smallest nodes are folded into their nearest kept ancestor. map[old] is the new index.
   */
  order(
    views: ReadonlyArray<Map<number, [number, number]>>,
    maxNodes: number,
  ): { order: { nodes: FlameData['nodes']; map: number[] }; folded: number } {
    const n = this.parent.length;
    const largest = new Float64Array(n);
    const total = new Float64Array(n);
    for (const view of views) {
      total.fill(0);
      for (const [node, [self]] of view) total[node] = self;
      // Parents were always added before their children.
      for (let i = n - 1; i > 0; i--) {
        const parent = this.parent[i] as number;
        total[parent] = (total[parent] ?? 0) + (total[i] ?? 0);
      }
      for (let i = 0; i < n; i++)
        if ((total[i] as number) > (largest[i] as number)) largest[i] = total[i] as number;
    }
    const keep = new Uint8Array(n).fill(1);
    let folded = 0;
    if (n > maxNodes) {
      // A parent's total is never below its child's, so keeping the largest keeps whole paths from the root.
      const bySize = Array.from({ length: n }, (_, i) => i).sort(
        (a, b) => (largest[b] as number) - (largest[a] as number) || a - b,
      );
      keep.fill(0);
      for (const i of bySize.slice(0, maxNodes)) keep[i] = 1;
      for (let i = 1; i < n; i++) if (keep[i] && !keep[this.parent[i] as number]) keep[i] = 0;
      keep[0] = 1;
      for (let i = 0; i < n; i++) if (!keep[i]) folded++;
    }
    const children: number[][] = Array.from({ length: n }, () => []);
    for (let i = 1; i < n; i++) if (keep[i]) children[this.parent[i] as number]?.push(i);
    for (const list of children)
      list.sort((a, b) => (largest[b] as number) - (largest[a] as number) || a - b);

    const map = new Array<number>(n).fill(-1);
    const nodes: FlameData['nodes'] = { parent: [], kind: [], name: [], file: [], line: [] };
    const stack = [0];
    while (stack.length > 0) {
      const old = stack.pop() as number;
      const index = nodes.parent.length;
      map[old] = index;
      const parent = this.parent[old] as number;
      nodes.parent.push(parent < 0 ? -1 : (map[parent] as number));
      nodes.kind.push(this.kind[old] as number);
      nodes.name.push(this.name[old] as number);
      nodes.file.push(this.file[old] as number);
      nodes.line.push(this.line[old] as number);
      const list = children[old] as number[];
      for (let c = list.length - 1; c >= 0; c--) stack.push(list[c] as number);
    }
    // A folded node's bytes count as its nearest kept ancestor's own.
    for (let i = 1; i < n; i++) if (map[i] === -1) map[i] = map[this.parent[i] as number] as number;
    return { order: { nodes, map }, folded };
  }

  private node(key: string, make: () => number): number {
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const index = make();
    this.byKey.set(key, index);
    return index;
  }

  private push(parent: number, kind: number, name: string, file: string, line: number): number {
    const index = this.parent.length;
    this.parent.push(parent);
    this.kind.push(kind);
    this.name.push(this.intern(name));
    this.file.push(this.intern(file));
    this.line.push(line);
    return index;
  }

  private intern(text: string): number {
    const known = this.stringIndex.get(text);
    if (known !== undefined) return known;
    const index = this.strings.length;
    this.strings.push(text);
    this.stringIndex.set(text, index);
    return index;
  }
}
