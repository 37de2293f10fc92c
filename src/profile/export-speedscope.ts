import type { ProcessPart, ProfileView } from './profile-at.js';
import type { Frame } from './profile-model.js';

/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json), the parts headroom
 * writes: frames shared by all profiles, one "sampled" profile per process whose samples are stacks of
 * frame indices, outermost call first, weighted in bytes.
 */
export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeProfile[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
}

export interface SpeedscopeProfile {
  type: 'sampled';
  name: string;
  unit: 'bytes';
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

/**
 * The view as a speedscope file: each node of a process's snapshot that holds bytes becomes one sample,
 * its stack from the outermost frame to the node, weighted by the bytes the node holds itself. The first
 * profile shown is the process holding the most.
 */
export function speedscopeFile(view: ProfileView, name: string, exporter: string): SpeedscopeFile {
  const frames: SpeedscopeFrame[] = [];
  const frameIndex = new Map<string, number>();
  const indexOf = (frame: Frame): number => {
    const key = `${frame.name}\u0000${frame.file}\u0000${frame.line}`;
    let index = frameIndex.get(key);
    if (index === undefined) {
      index = frames.length;
      frameIndex.set(key, index);
      frames.push({
        name: frame.name || '(anonymous)',
        ...(frame.file ? { file: frame.file } : {}),
        ...(frame.line > 0 ? { line: frame.line } : {}),
      });
    }
    return index;
  };
  const profiles = view.parts.map((part) => processProfile(part, indexOf));
  let active = 0;
  profiles.forEach((profile, i) => {
    if (profile.endValue > (profiles[active]?.endValue ?? 0)) active = i;
  });
  return {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles,
    name,
    activeProfileIndex: active,
    exporter,
  };
}

function processProfile(part: ProcessPart, indexOf: (frame: Frame) => number): SpeedscopeProfile {
  const { profile, snapshot } = part;
  // Walked up from each node afresh: caching every prefix would cost the square of the depth, and the
  // file holds each sample's whole stack anyway.
  const stackOf = (id: number): number[] => {
    const stack: number[] = [];
    const seen = new Set<number>();
    for (let at: number | undefined = id; at !== undefined && !seen.has(at); ) {
      seen.add(at);
      const node = profile.nodes.get(at);
      stack.push(indexOf(node?.frame ?? { name: '(unknown)', file: '', line: 0 }));
      at = node && node.parent !== 0 && profile.nodes.has(node.parent) ? node.parent : undefined;
    }
    return stack.reverse();
  };
  const samples: number[][] = [];
  const weights: number[] = [];
  let total = 0;
  for (let i = 0; i < snapshot.nodeIds.length; i++) {
    const bytes = snapshot.bytes[i] ?? 0;
    if (bytes <= 0) continue;
    samples.push(stackOf(snapshot.nodeIds[i] as number));
    weights.push(bytes);
    total += bytes;
  }
  return {
    type: 'sampled',
    name: part.label,
    unit: 'bytes',
    startValue: 0,
    endValue: total,
    samples,
    weights,
  };
}
