import { lastAtOrBefore } from '../last-at-or-before.js';
import type { Capture, ProcessTrack } from '../record/capture-reader.js';
import type { ProfileRuntime } from './profile-format.js';
import { type Frame, type ProcessProfile, type ProfileSnapshot, unplacedAncestry } from './profile-model.js';

/** When to look: the cgroup's peak, the end of the capture, or ms since its start. */
export type ProfileTime = 'peak' | 'end' | number;

/** One node of the merged call tree: the root, a process, or a frame. */
export interface TreeNode {
  /** Null for the root and for process nodes. */
  frame: Frame | null;
  /** "load_everything (etl.py:12)", "python etl.py (pid 41)", "all". */
  label: string;
  /** Bytes attributed to this node itself. */
  self: number;
  /** self plus every descendant. */
  total: number;
  count: number;
  children: TreeNode[];
}

/** One process's part of a view: the snapshot that applies at the chosen time. */
export interface ProcessPart {
  pid: number;
  profile: ProcessProfile;
  /** The process as the sampler saw it (name, argv), when it did. */
  track: ProcessTrack | undefined;
  snapshot: ProfileSnapshot;
  label: string;
}

/** An allocation site: the innermost frame of the job's own code on the stacks that held memory. */
export interface Site {
  frame: Frame;
  label: string;
  bytes: number;
  count: number;
  pids: number[];
  runtime: ProfileRuntime;
}

export interface ProfileView {
  /** The time asked for, ms since the capture's start. */
  timeMs: number;
  parts: ProcessPart[];
  totalBytes: number;
  tree: TreeNode;
}

/** The time a ProfileTime names, in ms since the capture's start. */
export function resolveProfileTime(capture: Capture, at: ProfileTime): number {
  if (typeof at === 'number') return at;
  if (at === 'end') return Math.max(capture.lastTimeMs, ...capture.profiles.map(lastSnapshotMs));
  const { timeMs, values, length } = capture.series;
  const usage = values.usage;
  let best = -1;
  let bestMs = capture.lastTimeMs;
  for (let i = 0; i < length; i++) {
    const value = usage[i] ?? -1;
    if (value > best) {
      best = value;
      bestMs = timeMs[i] ?? bestMs;
    }
  }
  return bestMs;
}

/**
 * Every profiled process's snapshot at a time, merged into one call tree (one branch per process). For
 * each process the latest snapshot at or before the time applies; a process whose first snapshot came
 * later contributes that one, so a job that only wrote its profile at exit still shows it. At "end",
 * every process's last snapshot.
 */
export function profileAt(capture: Capture, at: ProfileTime): ProfileView {
  const timeMs = resolveProfileTime(capture, at);
  const parts = partsAt(capture, timeMs, at === 'end');
  const root: TreeNode = { frame: null, label: 'all', self: 0, total: 0, count: 0, children: [] };
  for (const part of parts) root.children.push(processTree(part));
  root.total = root.children.reduce((sum, child) => sum + child.total, 0);
  root.count = root.children.reduce((sum, child) => sum + child.count, 0);
  return { timeMs, parts, totalBytes: root.total, tree: root };
}

/**
 * The snapshots that apply at a time, one per process: of the session running then, the latest at or
 * before the time, else the first. But when the process's anonymous memory then was far from what it
 * held at the time, the snapshot taken nearest that amount: a process too busy to write a snapshot until
 * it exited gets its exit snapshot rather than one from its start. A process gone before the time held
 * nothing then, unless `everything` (the "end" view: every process's last word).
 */
export function partsAt(capture: Capture, timeMs: number, everything = false): ProcessPart[] {
  const slack = capture.header.intervalMs;
  const parts: ProcessPart[] = [];
  for (const profile of sessionsAt(capture.profiles, timeMs)) {
    const track = capture.processByPid.get(profile.pid);
    const snapshot = everything ? profile.snapshots.at(-1) : chooseSnapshot(profile.snapshots, track, timeMs);
    if (!snapshot) continue;
    if (!everything) {
      if (track?.endMs != null && track.endMs < timeMs - slack) continue;
      if (snapshot.timeMs > timeMs && Math.min(profile.startMs, track?.startMs ?? Infinity) > timeMs + slack)
        continue;
    }
    parts.push({ pid: profile.pid, profile, track, snapshot, label: processLabel(profile, track) });
  }
  return parts;
}

/** Allocation sites across the view's processes, largest first by bytes (or by count). */
export function topSites(view: ProfileView, by: 'bytes' | 'count' = 'bytes', limit = 10): Site[] {
  const sites = new Map<string, Site>();
  for (const part of view.parts) {
    const { profile, snapshot } = part;
    for (let i = 0; i < snapshot.nodeIds.length; i++) {
      const frame = siteFrame(profile, snapshot.nodeIds[i] as number);
      if (!frame || isProfilerFrame(frame)) continue;
      const key = frameKey(frame);
      let site = sites.get(key);
      if (!site) {
        site = {
          frame,
          label: frameLabel(frame),
          bytes: 0,
          count: 0,
          pids: [],
          runtime: profile.info.runtime,
        };
        sites.set(key, site);
      }
      site.bytes += snapshot.bytes[i] ?? 0;
      site.count += snapshot.counts[i] ?? 0;
      if (!site.pids.includes(part.pid)) site.pids.push(part.pid);
    }
  }
  return (
    [...sites.values()]
      .filter((site) => (by === 'bytes' ? site.bytes : site.count) > 0)
      // Ties by label, so the order does not depend on the order processes were seen in.
      .sort(
        (a, b) => (by === 'bytes' ? b.bytes - a.bytes : b.count - a.count) || a.label.localeCompare(b.label),
      )
      .slice(0, limit)
  );
}

/** "load_everything (etl.py:12)"; the file by its last two path parts. */
export function frameLabel(frame: Frame): string {
  const name = frame.name || '(anonymous)';
  if (!frame.file) return name;
  const short = frame.file
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
  return `${name} (${short}${frame.line > 0 ? `:${frame.line}` : ''})`;
}

/**
 * Code the job did not write: the runtime's own library, installed packages, natives. A site is the
 * innermost frame outside these, since "csv.py:__next__" or "node:buffer" says little about the job.
 */
export function isLibraryFrame(runtime: ProfileRuntime, frame: Frame): boolean {
  const file = frame.file;
  if (file === '' || file.startsWith('<') || isProfilerFrame(frame)) return true;
  if (runtime === 'node') return file.startsWith('node:') || file.includes('/node_modules/');
  return /\/lib\/python\d[\d.]*\//.test(file) || /\/(site|dist)-packages\//.test(file);
}

/** headroom's own profilers, running inside the job: what they hold is not the job's doing. */
export function isProfilerFrame(frame: Frame): boolean {
  return /(^|\/)(node-preload\.cjs|_headroom_\w+\.py)$/.test(frame.file);
}

function frameKey(frame: Frame): string {
  return `${frame.name}\u0000${frame.file}\u0000${frame.line}`;
}

/** The innermost own-code frame of a node's stack, else the node's own frame. */
function siteFrame(profile: ProcessProfile, id: number): Frame | undefined {
  const leaf = profile.nodes.get(id);
  let node = leaf;
  for (let depth = 0; node && depth < 1000; depth++) {
    if (!isLibraryFrame(profile.info.runtime, node.frame)) return node.frame;
    node = node.parent === 0 ? undefined : profile.nodes.get(node.parent);
  }
  return leaf?.frame;
}

function processTree(part: ProcessPart): TreeNode {
  const { profile, snapshot } = part;
  const top: TreeNode = { frame: null, label: part.label, self: 0, total: 0, count: 0, children: [] };
  // One tree node per profile node on a path to memory, made on demand from the leaves up.
  const made = new Map<number, TreeNode>();
  const nodeFor = (id: number): TreeNode => {
    const chain = unplacedAncestry(profile.nodes, id, (at) => made.has(at));
    const outermost = profile.nodes.get(chain[chain.length - 1] ?? id);
    let parent = (outermost && made.get(outermost.parent)) ?? top;
    for (let i = chain.length - 1; i >= 0; i--) {
      const chainId = chain[i] as number;
      const frame = profile.nodes.get(chainId)?.frame ?? { name: '(unknown)', file: '', line: 0 };
      const treeNode: TreeNode = {
        frame,
        label: frameLabel(frame),
        self: 0,
        total: 0,
        count: 0,
        children: [],
      };
      made.set(chainId, treeNode);
      parent.children.push(treeNode);
      parent = treeNode;
    }
    return made.get(id) as TreeNode;
  };
  for (let i = 0; i < snapshot.nodeIds.length; i++) {
    const treeNode = nodeFor(snapshot.nodeIds[i] as number);
    treeNode.self += snapshot.bytes[i] ?? 0;
    treeNode.count += snapshot.counts[i] ?? 0;
  }
  sumUp(top);
  return top;
}

/** Totals from the leaves up, and children largest first. Iterative: stacks can be thousands deep. */
function sumUp(root: TreeNode): void {
  const order: TreeNode[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop() as TreeNode;
    order.push(node);
    for (const child of node.children) stack.push(child);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i] as TreeNode;
    node.total = node.self;
    let count = node.count;
    for (const child of node.children) {
      node.total += child.total;
      count += child.count;
    }
    node.count = count;
    node.children.sort((a, b) => b.total - a.total);
  }
}

/** "python3 etl.py (pid 41)". */
export function processLabel(profile: ProcessProfile, track: ProcessTrack | undefined): string {
  const argv = track?.argv.length ? track.argv : profile.info.argv;
  const command = argv.length
    ? argv.map((arg) => arg.split('/').pop() ?? arg).join(' ')
    : profile.info.runtime;
  const short = command.length > 60 ? `${command.slice(0, 57)}...` : command;
  return `${short} (pid ${profile.pid})`;
}

/** For each pid, the session running at the time (or its first one, if none had started). */
function sessionsAt(profiles: readonly ProcessProfile[], timeMs: number): ProcessProfile[] {
  const byPid = new Map<number, ProcessProfile>();
  for (const profile of profiles) {
    const known = byPid.get(profile.pid);
    if (!known || profile.startMs <= timeMs) byPid.set(profile.pid, profile);
  }
  return [...byPid.values()];
}

/** A snapshot taken when the process held this share more or less than at the time asked for is far off. */
const FAR_OFF = 0.25;

/**
 * The latest snapshot at or before the time; the first one after it instead when the latest was taken
 * far from what the process held at the time and the next one near it, with the process's memory never
 * falling far below that amount in between (the same allocations, still held, not a later phase).
 */
function chooseSnapshot(
  snapshots: readonly ProfileSnapshot[],
  track: ProcessTrack | undefined,
  timeMs: number,
): ProfileSnapshot | undefined {
  const latest = snapshotAt(snapshots, timeMs);
  const samples = track?.samples;
  if (!latest || latest.timeMs > timeMs || !samples || samples.timeMs.length === 0) return latest;
  const next = snapshots.find((snapshot) => snapshot.timeMs > timeMs);
  if (!next) return latest;
  const at = lastAtOrBefore(samples.timeMs, timeMs);
  const target = samples.anon[at] ?? 0;
  if (at < 0 || target <= 0) return latest;
  const anonAt = (t: number): number => samples.anon[lastAtOrBefore(samples.timeMs, t)] ?? 0;
  const off = (t: number): number => Math.abs(anonAt(t) - target) / target;
  if (off(latest.timeMs) <= FAR_OFF || off(next.timeMs) > FAR_OFF) return latest;
  for (let i = at + 1; i < samples.timeMs.length && (samples.timeMs[i] ?? 0) <= next.timeMs; i++) {
    if ((samples.anon[i] ?? 0) < target * (1 - FAR_OFF)) return latest;
  }
  return next;
}

function snapshotAt(snapshots: readonly ProfileSnapshot[], timeMs: number): ProfileSnapshot | undefined {
  let chosen: ProfileSnapshot | undefined;
  for (const snapshot of snapshots) {
    if (snapshot.timeMs <= timeMs) chosen = snapshot;
    else return chosen ?? snapshot;
  }
  return chosen;
}

function lastSnapshotMs(profile: ProcessProfile): number {
  return profile.snapshots.at(-1)?.timeMs ?? 0;
}
