/**
 * V8's sampling heap profile (HeapProfiler.getSamplingProfile) turned into profile spool records (see
 * profile-format). Pure: the Node preload and `headroom attach` both feed it what the inspector returned.
 */
import type { SnapshotReason } from './profile-format.js';

/**
 * V8's SamplingHeapProfile as the DevTools protocol defines it (HeapProfiler.SamplingHeapProfile): what
 * HeapProfiler.getSamplingProfile returns, what Node's --heap-prof writes, and the .heapprofile file Chrome
 * DevTools' Memory panel loads (which `headroom export` writes).
 */
export interface SamplingHeapProfileNode {
  callFrame: {
    functionName: string;
    /** A string, as in the protocol; "0" when there is no script. */
    scriptId: string;
    url: string;
    /** 0-based, as V8 counts; -1 when unknown. */
    lineNumber: number;
    columnNumber: number;
  };
  /** Bytes of the live sampled allocations made by this frame itself. */
  selfSize: number;
  /** Unique within the profile. */
  id: number;
  children: SamplingHeapProfileNode[];
}

export interface SamplingHeapProfileSample {
  size: number;
  nodeId: number;
  /** Order of the sample; DevTools uses it to select a time range. */
  ordinal: number;
}

export interface SamplingHeapProfile {
  head: SamplingHeapProfileNode;
  /** Optional for the encoder: it needs only the tree; the samples only give allocation counts. */
  samples?: SamplingHeapProfileSample[];
}

/** A V8 node seen during one walk: our id is given only once something below it holds memory. */
interface Visit {
  node: SamplingHeapProfileNode;
  parent: Visit | undefined;
  id: number;
}

/**
 * Encodes successive profiles of one process as one session: each node gets an id of ours the first time
 * it (or something below it) holds memory, keyed by its parent and frame rather than by V8's ids, so a
 * frame keeps its id from profile to profile and the same stack reached twice is one node.
 */
export class V8ProfileEncoder {
  private readonly ids = new Map<string, number>();
  private nextId = 1;

  /** Spool records without pid: ["N", t, [...]] for nodes not defined before (if any), then ["A", ...]. */
  encode(profile: SamplingHeapProfile, timeMs: number, reason: SnapshotReason): unknown[][] {
    const samples = new Map<number, number>();
    for (const sample of profile.samples ?? []) {
      samples.set(sample.nodeId, (samples.get(sample.nodeId) ?? 0) + 1);
    }
    const added: Array<number | string> = [];
    // Several V8 nodes can be one of ours (same function and line, another column): summed.
    const bytes = new Map<number, number>();
    const counts = new Map<number, number>();
    // Pre-order, iterative: stacks can be thousands of frames deep. The head is V8's synthetic "(root)".
    const stack: Visit[] = [];
    for (let i = profile.head.children.length - 1; i >= 0; i--) {
      stack.push({ node: profile.head.children[i] as SamplingHeapProfileNode, parent: undefined, id: 0 });
    }
    while (stack.length > 0) {
      const visit = stack.pop() as Visit;
      const { node } = visit;
      const count = samples.get(node.id) ?? 0;
      if (node.selfSize > 0) {
        const id = this.define(visit, added);
        bytes.set(id, (bytes.get(id) ?? 0) + node.selfSize);
        counts.set(id, (counts.get(id) ?? 0) + count);
      }
      for (let i = node.children.length - 1; i >= 0; i--) {
        stack.push({ node: node.children[i] as SamplingHeapProfileNode, parent: visit, id: 0 });
      }
    }
    const snapshot: number[] = [];
    for (const [id, size] of bytes) snapshot.push(id, size, counts.get(id) ?? 0);
    const records: unknown[][] = [];
    if (added.length > 0) records.push(['N', timeMs, added]);
    records.push(['A', timeMs, reason, snapshot]);
    return records;
  }

  /** Our id for a visited node, defining it and any undefined ancestors (outermost first) in `added`. */
  private define(visit: Visit, added: Array<number | string>): number {
    const path: Visit[] = [];
    for (let at: Visit | undefined = visit; at && at.id === 0; at = at.parent) path.push(at);
    for (let i = path.length - 1; i >= 0; i--) {
      const at = path[i] as Visit;
      const parent = at.parent?.id ?? 0;
      const { functionName, url, lineNumber } = at.node.callFrame;
      const line = lineNumber >= 0 ? lineNumber + 1 : 0;
      const key = `${parent}\u0000${functionName}\u0000${url}\u0000${line}`;
      let id = this.ids.get(key);
      if (id === undefined) {
        id = this.nextId++;
        this.ids.set(key, id);
        added.push(id, parent, functionName, url, line);
      }
      at.id = id;
    }
    return visit.id;
  }
}
