import type { ProfileInfo, SnapshotReason } from './profile-format.js';

/** One frame of a call stack. */
export interface Frame {
  /** The function, "" when anonymous. */
  name: string;
  /** Script, module path or URL; "" when unknown. */
  file: string;
  /** 1-based; 0 when unknown. */
  line: number;
}

export interface ProfileNode {
  id: number;
  /** 0 for a root frame. */
  parent: number;
  frame: Frame;
}

/** What one snapshot says: parallel arrays over the nodes that held memory. */
export interface ProfileSnapshot {
  /** ms since the capture's start. */
  timeMs: number;
  reason: SnapshotReason | string;
  nodeIds: number[];
  /** Bytes attributed to each node itself. */
  bytes: number[];
  counts: number[];
  /** Sum of bytes. */
  totalBytes: number;
}

/** One profiling session of one process: from its "I" record to the next "I" of the same pid. */
export interface ProcessProfile {
  pid: number;
  info: ProfileInfo;
  startMs: number;
  nodes: Map<number, ProfileNode>;
  /** In time order. */
  snapshots: ProfileSnapshot[];
  notes: Array<{ timeMs: number; message: string }>;
}

/**
 * The ids from `id` towards the root that `placed` does not know yet, innermost first: callers build a
 * view's nodes from the last of these back down. Iterative, since stacks can be tens of thousands of
 * frames deep; the walk stops at a root frame, at a node already placed, or at one it has already passed
 * (a damaged profile must not make it endless).
 */
export function unplacedAncestry(
  nodes: ReadonlyMap<number, ProfileNode>,
  id: number,
  placed: (id: number) => boolean,
): number[] {
  const chain: number[] = [];
  const passed = new Set<number>();
  for (let at: number | undefined = id; at !== undefined && !placed(at) && !passed.has(at); ) {
    chain.push(at);
    passed.add(at);
    const node = nodes.get(at);
    at = node && node.parent !== 0 && nodes.has(node.parent) ? node.parent : undefined;
  }
  return chain;
}
