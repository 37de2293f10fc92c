import type { ProfileInfo } from './profile-format.js';
import type { ProcessProfile, ProfileNode } from './profile-model.js';

const RUNTIMES = new Set(['node', 'python']);
const MODES = new Set(['sampling', 'growth', 'tracemalloc']);

/**
 * Builds each process's profiles from the capture's "I", "N", "A" and "W" records (see profile-format).
 * Records arrive in the order written; a damaged one is refused with a reason and changes nothing.
 */
export class ProfileDecoder {
  readonly profiles: ProcessProfile[] = [];
  private readonly current = new Map<number, ProcessProfile>();

  /** Takes one record whose tag is I, N, A or W; returns what is wrong with it, or undefined. */
  record(record: unknown[], timeMs: number): string | undefined {
    const [tag, , pid] = record;
    if (!isCount(pid)) return 'has no valid pid';
    if (tag === 'I') {
      const info = decodeInfo(record[3]);
      if (!info) return 'is not a valid profile start record';
      const profile: ProcessProfile = {
        pid,
        info,
        startMs: timeMs,
        nodes: new Map(),
        snapshots: [],
        notes: [],
      };
      this.profiles.push(profile);
      this.current.set(pid, profile);
      return undefined;
    }
    const profile = this.current.get(pid);
    if (!profile) return 'belongs to no profile (its start record is missing)';
    if (tag === 'N') return addNodes(profile, record[3]);
    if (tag === 'A') return addSnapshot(profile, record[3], record[4], timeMs);
    if (tag === 'W') {
      if (typeof record[3] !== 'string') return 'is not a valid profiler note';
      profile.notes.push({ timeMs, message: record[3] });
      return undefined;
    }
    return 'has an unknown profile record type';
  }
}

/** Checks one line a profiler wrote to its spool file: whether headroom may copy it into the capture. */
export function checkSpoolRecord(record: unknown): record is unknown[] {
  if (!Array.isArray(record) || typeof record[1] !== 'number' || !Number.isFinite(record[1])) return false;
  switch (record[0]) {
    case 'I':
      return decodeInfo(record[2]) !== undefined;
    case 'N':
      return flatNumbersAndStrings(record[2], 5);
    case 'A':
      return typeof record[2] === 'string' && flatNumbers(record[3], 3);
    case 'W':
      return typeof record[2] === 'string';
    default:
      return false;
  }
}

function decodeInfo(value: unknown): ProfileInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.runtime !== 'string' || !RUNTIMES.has(v.runtime)) return undefined;
  if (typeof v.mode !== 'string' || !MODES.has(v.mode)) return undefined;
  if (typeof v.interval !== 'number') return undefined;
  const argv = Array.isArray(v.argv) ? v.argv.filter((arg): arg is string => typeof arg === 'string') : [];
  return {
    runtime: v.runtime as ProfileInfo['runtime'],
    mode: v.mode as ProfileInfo['mode'],
    interval: v.interval,
    argv,
    ...(typeof v.version === 'string' ? { version: v.version } : {}),
    ...(typeof v.thread === 'number' ? { thread: v.thread } : {}),
  };
}

function addNodes(profile: ProcessProfile, value: unknown): string | undefined {
  if (!flatNumbersAndStrings(value, 5)) return 'is not a valid profile node record';
  const flat = value as unknown[];
  const added: ProfileNode[] = [];
  const addedIds = new Set<number>();
  for (let i = 0; i < flat.length; i += 5) {
    const [id, parent, name, file, line] = flat.slice(i, i + 5) as [number, number, string, string, number];
    const known = parent === 0 || profile.nodes.has(parent) || addedIds.has(parent);
    if (!isCount(id) || id === 0 || !known) return 'defines a profile node under an unknown parent';
    // Nodes never change: a second definition could make the tree a cycle.
    if (profile.nodes.has(id) || addedIds.has(id)) return 'defines a profile node a second time';
    added.push({ id, parent, frame: { name, file, line } });
    addedIds.add(id);
  }
  for (const node of added) profile.nodes.set(node.id, node);
  return undefined;
}

function addSnapshot(
  profile: ProcessProfile,
  reason: unknown,
  value: unknown,
  timeMs: number,
): string | undefined {
  if (typeof reason !== 'string' || !flatNumbers(value, 3)) return 'is not a valid profile snapshot';
  const flat = value as number[];
  const nodeIds: number[] = [];
  const bytes: number[] = [];
  const counts: number[] = [];
  let totalBytes = 0;
  for (let i = 0; i < flat.length; i += 3) {
    const id = flat[i] as number;
    // A node the snapshot names but no record defined cannot be placed in the tree: drop it alone.
    if (!profile.nodes.has(id)) continue;
    const size = Math.max(0, flat[i + 1] as number);
    nodeIds.push(id);
    bytes.push(size);
    counts.push(Math.max(0, flat[i + 2] as number));
    totalBytes += size;
  }
  profile.snapshots.push({ timeMs, reason, nodeIds, bytes, counts, totalBytes });
  return undefined;
}

function flatNumbers(value: unknown, width: number): boolean {
  return (
    Array.isArray(value) &&
    value.length % width === 0 &&
    value.every((item) => typeof item === 'number' && Number.isFinite(item))
  );
}

/** [number, number, string, string, number] repeated. */
function flatNumbersAndStrings(value: unknown, width: number): boolean {
  if (!Array.isArray(value) || value.length % width !== 0) return false;
  for (let i = 0; i < value.length; i += width) {
    if (
      typeof value[i] !== 'number' ||
      typeof value[i + 1] !== 'number' ||
      typeof value[i + 2] !== 'string' ||
      typeof value[i + 3] !== 'string' ||
      typeof value[i + 4] !== 'number'
    )
      return false;
  }
  return true;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
