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
