import fs from 'node:fs';
import { errnoCode } from './errors.js';
import { fileIn } from './file-in.js';
import { readCgroupPids } from './process-memory.js';
import { describeErrno } from './read-file.js';

/**
 * The leaf that the processes of a delegated v2 cgroup move into, so that the cgroup itself holds none
 * and may enable the memory controller for a job's cgroup beside it: the layout systemd documents for
 * delegation (a scope or service with Delegate=yes). Its name does not look like a job's cgroup, so the
 * stale-cgroup cleaner leaves it alone.
 */
export const LEAF_NAME = 'headroom-supervisor';

/** What was changed to give a job a cgroup of its own beside headroom, so that it can be undone. */
export interface LeafMove {
  /** The delegated cgroup: it held the processes and now enables memory for its children. */
  parentDir: string;
  leafDir: string;
  /** The memory controller was off in the parent's subtree_control and we switched it on. */
  enabledMemory: boolean;
  /** We made the leaf (another headroom in the same cgroup may have made it before us). */
  createdLeaf: boolean;
  /** How many processes were moved (headroom and whatever else lived in the parent). */
  moved: number;
}

export type LeafResult = { ok: true; move: LeafMove } | { ok: false; reason: string };

/** A process may fork between the listing and the move: the listing is repeated this often. */
const MOVE_ROUNDS = 10;

/**
 * Moves every process of `parentDir` into its leaf and enables the memory controller for its children.
 * Everything is put back when a step fails, so a refusal leaves the cgroup as it was.
 */
export function moveIntoLeaf(parentDir: string): LeafResult {
  const leafDir = fileIn(parentDir, LEAF_NAME);
  let createdLeaf = false;
  try {
    fs.mkdirSync(leafDir);
    createdLeaf = true;
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST')
      return { ok: false, reason: `cannot create ${leafDir}: ${describeErrno(error)}` };
  }
  const moved = moveAll(parentDir, leafDir);
  const undo = (reason: string): LeafResult => {
    moveAll(leafDir, parentDir);
    if (createdLeaf) rmdirQuietly(leafDir);
    return { ok: false, reason };
  };
  if (typeof moved === 'string') return undo(moved);
  const control = fileIn(parentDir, 'cgroup.subtree_control');
  try {
    fs.writeFileSync(control, '+memory');
  } catch (error) {
    return undo(`cannot enable the memory controller in ${control}: ${describeErrno(error)}`);
  }
  return { ok: true, move: { parentDir, leafDir, enabledMemory: true, createdLeaf, moved } };
}

/**
 * Puts the processes back and switches the controller off again, once no other cgroup than the leaf
 * is left below the parent: a second headroom's job may still run beside ours, and taking the memory
 * controller away would strip its limit. Returns what was done, for the user.
 */
export function restoreFromLeaf(move: LeafMove): { restored: boolean; note?: string } {
  const others = childCgroups(move.parentDir).filter((name) => name !== LEAF_NAME);
  if (others.length > 0) return { restored: false };
  if (move.enabledMemory) {
    try {
      fs.writeFileSync(fileIn(move.parentDir, 'cgroup.subtree_control'), '-memory');
    } catch (error) {
      return {
        restored: false,
        note: `could not switch the memory controller off again in ${move.parentDir}: ${describeErrno(error)}`,
      };
    }
  }
  const moved = moveAll(move.leafDir, move.parentDir);
  if (typeof moved === 'string') return { restored: false, note: moved };
  rmdirQuietly(move.leafDir);
  return { restored: true };
}

/** Moves every process listed in `from` into `to`; a string says why it could not. */
function moveAll(from: string, to: string): number | string {
  const procs = fileIn(to, 'cgroup.procs');
  let count = 0;
  for (let round = 0; round < MOVE_ROUNDS; round++) {
    const pids = readCgroupPids(fileIn(from, 'cgroup.procs'));
    if (pids.length === 0) return count;
    for (const pid of pids) {
      try {
        fs.writeFileSync(procs, String(pid));
        count++;
      } catch (error) {
        // ESRCH: it exited between the listing and the move.
        if (errnoCode(error) !== 'ESRCH')
          return `cannot move process ${pid} into ${to}: ${describeErrno(error)}`;
      }
    }
  }
  return `processes kept appearing in ${from} faster than they could be moved`;
}

function childCgroups(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

function rmdirQuietly(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // Still busy or gone: the stale-cgroup cleaner or the next run deals with it.
  }
}
