import type { ProcessPart } from './profile-at.js';
import { unplacedAncestry } from './profile-model.js';
import type {
  SamplingHeapProfile,
  SamplingHeapProfileNode,
  SamplingHeapProfileSample,
} from './v8-profile.js';

/** The file written: V8's SamplingHeapProfile, its samples always present, as Node's --heap-prof has them. */
export type HeapProfile = SamplingHeapProfile & { samples: SamplingHeapProfileSample[] };

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
  const head: SamplingHeapProfileNode = {
    callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
    selfSize: 0,
    id: nextId++,
    children: [],
  };
  const made = new Map<number, SamplingHeapProfileNode>();
  const nodeFor = (id: number): SamplingHeapProfileNode => {
    const known = made.get(id);
    if (known) return known;
    // Up to the first node already made (or the root), then made from the outside in.
    const chain = unplacedAncestry(profile.nodes, id, (at) => made.has(at));
    const top = profile.nodes.get(chain[chain.length - 1] as number);
    let parent = (top && made.get(top.parent)) ?? head;
    for (let i = chain.length - 1; i >= 0; i--) {
      const nodeId = chain[i] as number;
      const frame = profile.nodes.get(nodeId)?.frame ?? { name: '(unknown)', file: '', line: 0 };
      const node: SamplingHeapProfileNode = {
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
    return made.get(id) as SamplingHeapProfileNode;
  };
  const samples: SamplingHeapProfileSample[] = [];
  for (let i = 0; i < snapshot.nodeIds.length; i++) {
    const bytes = snapshot.bytes[i] ?? 0;
    if (bytes <= 0) continue;
    const node = nodeFor(snapshot.nodeIds[i] as number);
    node.selfSize += bytes;
    samples.push({ size: bytes, nodeId: node.id, ordinal: samples.length + 1 });
  }
  return { head, samples };
}
