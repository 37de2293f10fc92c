import type { ProcessPart } from './profile-at.js';

/**
 * V8's SamplingHeapProfile as the DevTools protocol defines it (HeapProfiler.SamplingHeapProfile): the file
 * Chrome DevTools' Memory panel loads as a .heapprofile, and what Node's --heap-prof writes.
 */
export interface HeapProfile {
  head: HeapProfileNode;
  samples: HeapProfileSample[];
}

export interface HeapProfileNode {
  callFrame: {
    functionName: string;
    /** A string, as in the protocol; "0" when there is no script. */
    scriptId: string;
    url: string;
    /** 0-based, -1 when unknown. */
    lineNumber: number;
    columnNumber: number;
  };
  /** Bytes allocated by this node itself and still live. */
  selfSize: number;
  /** Unique within the profile. */
  id: number;
  children: HeapProfileNode[];
}

export interface HeapProfileSample {
  size: number;
  nodeId: number;
  /** Order of the sample; DevTools uses it to select a time range. */
  ordinal: number;
}

/**
 * One process's snapshot as a heap profile: a "(root)" head and, below it, every frame on a path to
 * memory. V8's own samples (one per sampled allocation) are not in the capture, only each node's sum, so
 * each node holding bytes gets one sample of its whole size.
 */
export function heapProfile(part: ProcessPart): HeapProfile {
  const { profile, snapshot } = part;
  const scriptIds = new Map<string, string>();
  const scriptId = (url: string) => {
    if (url === '') return '0';
    let id = scriptIds.get(url);
    if (id === undefined) {
      id = String(scriptIds.size + 1);
      scriptIds.set(url, id);
    }
    return id;
  };
  let nextId = 1;
  const head: HeapProfileNode = {
    callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
    selfSize: 0,
    id: nextId++,
    children: [],
  };
  const made = new Map<number, HeapProfileNode>();
  const nodeFor = (id: number): HeapProfileNode => {
    const known = made.get(id);
    if (known) return known;
    // Up to the first node already made (or the root), then made from the outside in.
    const chain: number[] = [];
    const inChain = new Set<number>();
    // inChain: a node redefined under its own descendant would otherwise make the walk endless.
    for (let at: number | undefined = id; at !== undefined && !made.has(at) && !inChain.has(at); ) {
      chain.push(at);
      inChain.add(at);
      const node = profile.nodes.get(at);
      at = node && node.parent !== 0 && profile.nodes.has(node.parent) ? node.parent : undefined;
    }
    const top = profile.nodes.get(chain[chain.length - 1] as number);
    let parent = (top && made.get(top.parent)) ?? head;
    for (let i = chain.length - 1; i >= 0; i--) {
      const nodeId = chain[i] as number;
      const frame = profile.nodes.get(nodeId)?.frame ?? { name: '(unknown)', file: '', line: 0 };
      const node: HeapProfileNode = {
        callFrame: {
          functionName: frame.name,
          scriptId: scriptId(frame.file),
          url: frame.file,
          lineNumber: frame.line > 0 ? frame.line - 1 : -1,
          columnNumber: frame.line > 0 ? 0 : -1,
        },
        selfSize: 0,
        id: nextId++,
        children: [],
      };
      parent.children.push(node);
      made.set(nodeId, node);
      parent = node;
    }
    return made.get(id) as HeapProfileNode;
  };
  const samples: HeapProfileSample[] = [];
  for (let i = 0; i < snapshot.nodeIds.length; i++) {
    const bytes = snapshot.bytes[i] ?? 0;
    if (bytes <= 0) continue;
    const node = nodeFor(snapshot.nodeIds[i] as number);
    node.selfSize += bytes;
    samples.push({ size: bytes, nodeId: node.id, ordinal: samples.length + 1 });
  }
  return { head, samples };
}
