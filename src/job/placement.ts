import fs from 'node:fs';
import path from 'node:path';
import { HeadroomError } from '../errors.js';
import {
  type ChildLimits,
  createChildCgroup,
  fileIn,
  type HostPaths,
  LEAF_NAME,
  type LeafMove,
  locateMemoryCgroup,
  type MemoryCgroup,
  moveIntoLeaf,
  pidAlive,
  readCgroupPids,
  realHost,
  removeCgroup,
  restoreFromLeaf,
  withSwapDefault,
} from '../kernel/index.js';

export interface PlacementRequest extends ChildLimits {
  /** Do not try to make a cgroup: observe the one headroom runs in. */
  observe?: boolean;
  /** Named in the job's cgroup, so that views of many cgroups can label it. */
  component?: string;
  host?: HostPaths;
}

export type Placement =
  | {
      mode: 'own';
      cgroup: MemoryCgroup;
      parent: MemoryCgroup;
      /** cgroup v2: headroom moved the parent's processes into a leaf beside the job's cgroup. */
      leaf?: LeafMove;
    }
  | { mode: 'observe'; cgroup: MemoryCgroup; parent: MemoryCgroup; reason: string };

const PREFIX = 'headroom-';

/**
 * A cgroup of the job's own below headroom's, so that the job's figures are its alone and --memory can
 * be applied; otherwise the cgroup headroom is in, and the reason.
 */
export function placeJob(request: PlacementRequest): Placement {
  const located = locateMemoryCgroup('self', request.host ?? realHost);
  if (!located.ok) throw new HeadroomError(located.code, `cannot observe memory: ${located.message}`);
  const parent = besideLeaf(located.cgroup);
  const limited = request.memory !== undefined || request.memorySwap !== undefined;
  if (request.observe) {
    if (limited)
      throw new HeadroomError(
        'E_USAGE',
        "--memory and --memory-swap need a cgroup of the job's own; drop --observe",
        {
          option: '--observe',
        },
      );
    return { mode: 'observe', cgroup: parent, parent, reason: '--observe was given' };
  }
  // The component in the name lets `headroom top` and the exporter label the job's cgroup.
  const component = request.component ? `-${cgroupSafe(request.component)}` : '';
  const name = `${PREFIX}${process.pid}-${Date.now().toString(36)}${component}`;
  const limits = withSwapDefault(request);
  let created = createChildCgroup(parent, name, limits);
  let leaf: LeafMove | undefined;
  if (!created.ok && created.internalProcesses) {
    // A delegated v2 scope or service holds headroom itself: move its processes into a leaf so the
    // job's cgroup can sit beside it with the memory controller on.
    const moved = moveIntoLeaf(parent.dir);
    if (moved.ok) {
      leaf = moved.move;
      created = createChildCgroup(parent, name, limits);
      if (!created.ok) {
        restoreFromLeaf(leaf);
        leaf = undefined;
      }
    } else {
      created = { ok: false, reason: `${created.reason}, and ${moved.reason}` };
    }
  }
  if (created.ok) return { mode: 'own', cgroup: created.cgroup, parent, ...(leaf ? { leaf } : {}) };
  if (limited)
    throw new HeadroomError(
      'E_NO_OWN_CGROUP',
      `--memory needs a cgroup of the job's own, and ${created.reason}`,
    );
  return { mode: 'observe', cgroup: parent, parent, reason: created.reason };
}

/**
 * headroom started from inside an earlier headroom's leaf (a shell that was moved there) makes its job
 * beside that leaf too, not in a leaf of the leaf.
 */
function besideLeaf(cgroup: MemoryCgroup): MemoryCgroup {
  if (cgroup.version !== 2 || path.basename(cgroup.dir) !== LEAF_NAME || cgroup.dir === cgroup.mountDir)
    return cgroup;
  return { ...cgroup, dir: path.dirname(cgroup.dir), path: path.posix.dirname(cgroup.path) };
}

/**
 * Removes the job's cgroup and, once no other job is left beside it, puts the processes moved into the
 * leaf back. A note says what could not be undone.
 */
export function releasePlacement(placement: Placement): string | undefined {
  if (placement.mode !== 'own') return undefined;
  removeCgroup(placement.cgroup.dir, 100);
  return placement.leaf ? restoreFromLeaf(placement.leaf).note : undefined;
}

/** A component name as a cgroup directory may carry it: lower case letters, digits, _ and ., 40 at most. */
function cgroupSafe(component: string): string {
  return component
    .toLowerCase()
    .replace(/[^a-z0-9_.]+/g, '_')
    .slice(0, 40);
}

/**
 * Removes cgroups that an earlier headroom made and did not remove (it was killed and its sentinel
 * too). Ones that still hold processes are left alone and reported.
 */
export function cleanStaleCgroups(parent: MemoryCgroup): string[] {
  const notes: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(parent.dir).filter((entry) => entry.startsWith(PREFIX));
  } catch {
    return notes;
  }
  for (const entry of entries) {
    const owner = Number(entry.slice(PREFIX.length).split('-')[0]);
    if (!Number.isInteger(owner) || pidAlive(owner)) continue;
    const dir = path.join(parent.dir, entry);
    const pids = readCgroupPids(fileIn(dir, 'cgroup.procs'));
    if (pids.length > 0) {
      notes.push(
        `stale cgroup ${entry} from an earlier run still holds processes ${pids.join(', ')}; left alone`,
      );
    } else if (removeCgroup(dir, 5)) {
      notes.push(`removed stale cgroup ${entry} left by an earlier run`);
    }
  }
  return notes;
}
