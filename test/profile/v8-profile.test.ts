import { Session } from 'node:inspector';
import { describe, expect, it } from 'vitest';
import { checkSpoolRecord, ProfileDecoder } from '../../src/profile/profile-decoder.js';
import type { ProcessProfile } from '../../src/profile/profile-model.js';
import {
  type SamplingHeapProfile,
  type SamplingHeapProfileNode,
  V8ProfileEncoder,
} from '../../src/profile/v8-profile.js';

let v8Ids = 100;

/** A V8 node; ids are V8's own and deliberately differ from profile to profile. */
function node(
  functionName: string,
  lineNumber: number,
  selfSize: number,
  children: SamplingHeapProfileNode[] = [],
  url = '/app/server.js',
  columnNumber = 4,
): SamplingHeapProfileNode {
  return {
    callFrame: { functionName, scriptId: '7', url, lineNumber, columnNumber },
    selfSize,
    id: v8Ids++,
    children,
  };
}

function profile(children: SamplingHeapProfileNode[], samples = true): SamplingHeapProfile {
  const head = node('(root)', -1, 0, children, '', -1);
  if (!samples) return { head };
  // One sample per 1000 bytes of each node's self size, for counts that are easy to predict.
  const list: Array<{ size: number; nodeId: number; ordinal: number }> = [];
  const stack = [head];
  while (stack.length > 0) {
    const at = stack.pop() as SamplingHeapProfileNode;
    for (let i = 0; i < at.selfSize / 1000; i++)
      list.push({ size: 1000, nodeId: at.id, ordinal: list.length });
    stack.push(...at.children);
  }
  return { head, samples: list };
}

/** What the records say, decoded the way the capture reader decodes them. */
function decode(batches: unknown[][][]): ProcessProfile {
  const decoder = new ProfileDecoder();
  const start = ['I', 0, 41, { runtime: 'node', mode: 'sampling', interval: 32768, argv: ['node'] }];
  expect(decoder.record(start, 0)).toBeUndefined();
  for (const records of batches) {
    for (const record of records) {
      expect(checkSpoolRecord(record)).toBe(true);
      // The collector inserts the pid third.
      const withPid = [record[0], record[1], 41, ...record.slice(2)];
      expect(decoder.record(withPid, record[1] as number)).toBeUndefined();
    }
  }
  return decoder.profiles[0] as ProcessProfile;
}

/** "name:line" from the leaf up to the root frame. */
function stackOf(decoded: ProcessProfile, id: number): string[] {
  const names: string[] = [];
  for (let at = decoded.nodes.get(id); at; at = decoded.nodes.get(at.parent)) {
    names.push(`${at.frame.name}:${at.frame.line}`);
  }
  return names;
}

/** The last snapshot as "leaf stack" -> [bytes, count]. */
function lastSnapshot(decoded: ProcessProfile): Map<string, [number, number]> {
  const snapshot = decoded.snapshots.at(-1);
  const result = new Map<string, [number, number]>();
  snapshot?.nodeIds.forEach((id, i) => {
    result.set(stackOf(decoded, id).join(' < '), [snapshot.bytes[i] as number, snapshot.counts[i] as number]);
  });
  return result;
}

describe('V8ProfileEncoder', () => {
  it('skips the (root) head, counts lines from 1, counts samples per node, and lists only nodes holding memory', () => {
    const encoder = new V8ProfileEncoder();
    const tree = profile([
      node('main', 0, 0, [
        node('handleReport', 8, 5000, [node('', 20, 2000)]),
        node('idle', 30, 0, [node('nothing', 31, 0)]),
      ]),
      node('(V8 API)', -1, 1000, [], ''),
    ]);
    const records = encoder.encode(tree, 1234, 'peak');
    expect(records.map((record) => record.slice(0, 2))).toEqual([
      ['N', 1234],
      ['A', 1234],
    ]);
    expect(records[1]?.[2]).toBe('peak');
    const decoded = decode([records]);
    expect(lastSnapshot(decoded)).toEqual(
      new Map([
        ['handleReport:9 < main:1', [5000, 5]],
        [':21 < handleReport:9 < main:1', [2000, 2]],
        ['(V8 API):0', [1000, 1]],
      ]),
    );
    // Only frames on a path to memory are defined: main, handleReport, its callee, (V8 API).
    expect(decoded.nodes.size).toBe(4);
    const main = [...decoded.nodes.values()].find((n) => n.frame.name === 'main');
    expect(main).toMatchObject({ parent: 0, frame: { file: '/app/server.js', line: 1 } });
    expect(decoded.snapshots[0]?.totalBytes).toBe(8000);
  });

  it('keeps ids from profile to profile by frame, whatever ids V8 gives, and defines only new nodes', () => {
    const encoder = new V8ProfileEncoder();
    const first = encoder.encode(profile([node('main', 0, 0, [node('load', 4, 3000)])]), 10, 'peak');
    const firstNodes = first[0]?.[2] as unknown[];
    expect(firstNodes).toEqual([1, 0, 'main', '/app/server.js', 1, 2, 1, 'load', '/app/server.js', 5]);
    // Same stacks again, fresh V8 ids: nothing to define, same ids in the snapshot.
    const again = encoder.encode(profile([node('main', 0, 0, [node('load', 4, 7000)])]), 20, 'request');
    expect(again).toEqual([['A', 20, 'request', [2, 7000, 7]]]);
    // A new callee under a known frame: only it is defined, under the known parent's id.
    const grown = encoder.encode(
      profile([node('main', 0, 0, [node('load', 4, 7000), node('parse', 9, 1000)])]),
      30,
      'exit',
    );
    expect(grown[0]).toEqual(['N', 30, [3, 1, 'parse', '/app/server.js', 10]]);
    expect(grown[1]).toEqual(['A', 30, 'exit', [2, 7000, 7, 3, 1000, 1]]);
    const decoded = decode([first, again, grown]);
    expect(decoded.snapshots.map((s) => s.totalBytes)).toEqual([3000, 7000, 8000]);
    // A frame that no longer holds memory is simply absent from the complete snapshot.
    const freed = encoder.encode(profile([node('main', 0, 0, [node('parse', 9, 1000)])]), 40, 'exit');
    expect(freed).toEqual([['A', 40, 'exit', [3, 1000, 1]]]);
  });

  it('tells the same function apart by its caller, and merges V8 nodes that differ only by column', () => {
    const encoder = new V8ProfileEncoder();
    const records = encoder.encode(
      profile([
        node('a', 0, 0, [node('alloc', 50, 1000)]),
        node('b', 10, 0, [
          node('alloc', 50, 2000, [], '/app/server.js', 4),
          node('alloc', 50, 3000, [], '/app/server.js', 17),
        ]),
      ]),
      5,
      'peak',
    );
    const decoded = decode([records]);
    expect(lastSnapshot(decoded)).toEqual(
      new Map([
        ['alloc:51 < a:1', [1000, 1]],
        ['alloc:51 < b:11', [5000, 5]],
      ]),
    );
  });

  it('gives counts of 0 when the profile has no samples, and an empty snapshot for an empty profile', () => {
    const encoder = new V8ProfileEncoder();
    const records = encoder.encode(profile([node('main', 0, 4096)], false), 1, 'attach');
    expect(records[1]).toEqual(['A', 1, 'attach', [1, 4096, 0]]);
    expect(new V8ProfileEncoder().encode(profile([]), 2, 'exit')).toEqual([['A', 2, 'exit', []]]);
  });

  it('walks a stack 100,000 frames deep without recursion', () => {
    let leaf = node('deepest', 1, 4000);
    for (let depth = 0; depth < 100_000; depth++) leaf = node(`f${depth % 7}`, depth % 1000, 0, [leaf]);
    const records = new V8ProfileEncoder().encode(profile([leaf]), 3, 'peak');
    const nodes = records[0]?.[2] as unknown[];
    expect(nodes.length).toBe(100_001 * 5);
    expect(records[1]).toEqual(['A', 3, 'peak', [100_001, 4000, 4]]);
  });

  it('encodes a real profile from V8 into records the decoder accepts, naming the allocating function', async () => {
    const session = new Session();
    session.connect();
    const post = (method: string, params?: object) =>
      new Promise<unknown>((resolve, reject) =>
        session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
      );
    const kept: object[] = [];
    function fillTheCache(): void {
      for (let i = 0; i < 100_000; i++) kept.push({ i, label: `entry ${i}` });
    }
    await post('HeapProfiler.startSampling', { samplingInterval: 4096 });
    fillTheCache();
    const result = (await post('HeapProfiler.getSamplingProfile')) as { profile: SamplingHeapProfile };
    await post('HeapProfiler.stopSampling');
    session.disconnect();
    const decoded = decode([new V8ProfileEncoder().encode(result.profile, 50, 'peak')]);
    const snapshot = decoded.snapshots[0];
    expect(kept.length).toBe(100_000);
    // The site holding the most is the function that filled the cache, in this file.
    const bytes = snapshot?.bytes ?? [];
    const best = bytes.indexOf(Math.max(...bytes));
    const top = decoded.nodes.get(snapshot?.nodeIds[best] as number);
    expect(top?.frame.name).toBe('fillTheCache');
    expect(top?.frame.file).toContain('v8-profile.test.ts');
    expect(top?.frame.line).toBeGreaterThan(1);
    expect(snapshot?.totalBytes).toBeGreaterThan(3 * 1024 * 1024);
  });
});
