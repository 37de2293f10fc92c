import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import { profileAt } from '../../src/profile/profile-at.js';
import { readCapture } from '../../src/record/capture-reader.js';
import {
  buildFlameData,
  type FlameData,
  flameJoinLine,
  NODE_LIBRARY,
  NODE_OWN,
  NODE_PROCESS,
  thin,
} from '../../src/report/html/flamegraph-data.js';
import { MiB, removeCaptureDirs } from '../fixtures/captures.js';
import { END_MS, NODE_PID, PEAK_MS, PYTHON_PID, writeProfileCapture } from '../fixtures/profile-captures.js';

afterAll(removeCaptureDirs);

/** What the page computes: each node's self and total bytes (and counts) at position k, by label. */
function at(data: FlameData, k: number): Map<string, { self: number; total: number; count: number }> {
  const n = data.nodes.parent.length;
  const self = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  for (let p = 0; p <= k; p++) {
    const changes = data.positions[p]?.changes ?? [];
    for (let c = 0; c < changes.length; c += 3) {
      self[changes[c] as number] = changes[c + 1] as number;
      count[changes[c] as number] = changes[c + 2] as number;
    }
  }
  const total = [...self];
  const totalCount = [...count];
  for (let i = n - 1; i > 0; i--) {
    const parent = data.nodes.parent[i] as number;
    total[parent] = (total[parent] ?? 0) + (total[i] ?? 0);
    totalCount[parent] = (totalCount[parent] ?? 0) + (totalCount[i] ?? 0);
  }
  const byLabel = new Map<string, { self: number; total: number; count: number }>();
  for (let i = 0; i < n; i++) {
    if ((total[i] ?? 0) === 0) continue;
    byLabel.set(data.strings[data.nodes.name[i] as number] as string, {
      self: self[i] as number,
      total: total[i] as number,
      count: totalCount[i] as number,
    });
  }
  return byLabel;
}

function nodeNamed(data: FlameData, name: string): number {
  const index = data.nodes.name.findIndex((s) => data.strings[s] === name);
  if (index < 0) throw new Error(`no node ${name}`);
  return index;
}

describe('buildFlameData', () => {
  it('starts at the cgroup peak with the merged tree of both processes', () => {
    const capture = readCapture(writeProfileCapture());
    const data = buildFlameData(capture) as FlameData;
    expect(data.positions.map((p) => p.timeMs)).toEqual([1000, 1500, PEAK_MS, 3000, END_MS]);
    expect(data.initial).toBe(2);
    expect(data.peak).toBe(2);
    expect(data.positions[2]?.label).toContain('the cgroup\u2019s peak');
    expect(data.snapshotTimes).toBe(5);

    const peak = at(data, data.initial);
    expect(peak.get('all')?.total).toBe(274 * MiB);
    expect(peak.get('load_everything')?.total).toBe(210 * MiB);
    expect(peak.get('load_everything')?.self).toBe(60 * MiB);
    expect(peak.get('cacheResult')).toMatchObject({ self: 30 * MiB, total: 40 * MiB });
    expect(peak.get('parseBody')?.total).toBe(4 * MiB);
    expect(peak.get('all')?.count).toBe(111);
    expect(peak.get('handleRequest')?.count).toBe(88);

    expect(data.nodes.kind[nodeNamed(data, '__next__')]).toBe(NODE_LIBRARY);
    expect(data.nodes.kind[nodeNamed(data, 'from')]).toBe(NODE_LIBRARY);
    expect(data.nodes.kind[nodeNamed(data, 'load_everything')]).toBe(NODE_OWN);
    const processes = data.processes.map((p) => [p.pid, p.runtime, p.mode, data.nodes.kind[p.node]]);
    expect(processes).toEqual(
      expect.arrayContaining([
        [PYTHON_PID, 'python', 'growth', NODE_PROCESS],
        [NODE_PID, 'node', 'sampling', NODE_PROCESS],
      ]),
    );
    // The larger process comes first, and a parent always precedes its children.
    expect(data.processes[0]?.pid).toBe(PYTHON_PID);
    data.nodes.parent.forEach((parent, i) => {
      expect(parent).toBeLessThan(i);
    });
    expect(data.notes.map((n) => n.message)).toEqual([expect.stringContaining('snapshot refused')]);
    expect(data.usage.limit).toBe(512 * MiB);
    expect(Math.max(...data.usage.bytes.map((b) => b ?? 0))).toBe(400 * MiB);
  });

  it('sends per position only what changed since the one before', () => {
    const data = buildFlameData(readCapture(writeProfileCapture())) as FlameData;
    const python = new Set(['load_everything', '__next__', 'transform'].map((name) => nodeNamed(data, name)));
    // At 3000 ms only the node process took a snapshot: nothing of python's is repeated.
    const changed = (k: number) => (data.positions[k]?.changes ?? []).filter((_, c) => c % 3 === 0);
    expect(data.positions[3]?.timeMs).toBe(3000);
    expect(changed(3).some((node) => python.has(node))).toBe(false);
    expect(changed(3)).toContain(nodeNamed(data, 'cacheResult'));
    expect(changed(2).some((node) => python.has(node))).toBe(true);
    // After node's process exited (3000 ms) its nodes drop to zero at a numeric time.
    const end = at(data, 4);
    expect(end.get('cacheResult')).toBeUndefined();
    expect(end.get('transform')?.total).toBe(5 * MiB);
  });

  it('keeps every process\u2019s last snapshot when asked for the end', () => {
    const capture = readCapture(writeProfileCapture());
    const data = buildFlameData(capture, 'end') as FlameData;
    expect(data.positions.map((p) => p.timeMs)).toEqual([1000, 1500, PEAK_MS, 3000, capture.lastTimeMs]);
    expect(capture.lastTimeMs).toBeGreaterThanOrEqual(END_MS);
    expect(data.initial).toBe(4);
    expect(data.positions[data.initial]?.label).toContain('end');
    const end = at(data, data.initial);
    expect(end.get('cacheResult')).toMatchObject({ self: 40 * MiB, total: 50 * MiB });
    expect(end.get('all')?.total).toBe(55 * MiB);
  });

  it('adds a position for a time between snapshots', () => {
    const data = buildFlameData(readCapture(writeProfileCapture()), 1200) as FlameData;
    expect(data.positions.map((p) => p.timeMs)).toContain(1200);
    expect(data.positions[data.initial]?.timeMs).toBe(1200);
    expect(data.peak).toBe(data.positions.findIndex((p) => p.timeMs === PEAK_MS));
    expect(data.peak).not.toBe(data.initial);
    expect(at(data, data.initial).get('load_everything')?.total).toBe(60 * MiB);
  });

  it('thins the positions and folds small nodes without losing bytes', () => {
    const capture = readCapture(writeProfileCapture());
    const thinned = buildFlameData(capture, 'peak', { maxPositions: 3 }) as FlameData;
    expect(thinned.positions.length).toBeLessThanOrEqual(3);
    expect(thinned.positions[thinned.initial]?.timeMs).toBe(PEAK_MS);
    const small = buildFlameData(capture, 'peak', { maxNodes: 6 }) as FlameData;
    expect(small.nodes.parent.length).toBe(6);
    expect(small.folded).toBeGreaterThan(0);
    const peak = at(small, small.initial);
    expect(peak.get('all')?.total).toBe(274 * MiB);
    expect(peak.get('parseBody')).toBeUndefined();
  });

  it('is undefined without a profile, and the join line names the top site', () => {
    const bare = readCapture(writeProfileCapture({ profiles: false }));
    expect(buildFlameData(bare)).toBeUndefined();
    const capture = readCapture(writeProfileCapture());
    expect(flameJoinLine(summarize(capture))).toMatch(
      /^at peak: 150 MiB page cache \+ 250 MiB anon, of which 210 MiB was allocated in load_everything/,
    );
    expect(flameJoinLine(summarize(bare))).toBeNull();
  });

  it('chooses at every position the snapshots profileAt chooses', () => {
    const reused = writeProfileCapture({
      extra: [
        ['P', END_MS, NODE_PID, PYTHON_PID, 'node', ['node', '/app/again.mjs']],
        [
          'I',
          END_MS,
          NODE_PID,
          { runtime: 'node', mode: 'sampling', interval: 1, argv: ['node', '/app/again.mjs'] },
        ],
        ['N', END_MS, NODE_PID, [1, 0, 'again', 'file:///app/again.mjs', 3, 2, 9, 'orphan', '', 0]],
        ['A', END_MS, NODE_PID, 'exit', [1, 3 * MiB, 2, 2, MiB, 1, 77, MiB, 1]],
      ],
    });
    for (const file of [writeProfileCapture(), reused]) {
      const capture = readCapture(file);
      for (const first of ['peak', 'end', 0, 1200, 2500, 99_999] as const) {
        const data = buildFlameData(capture, first) as FlameData;
        data.positions.forEach((position, k) => {
          const view = profileAt(capture, position.label.includes('the end') ? 'end' : position.timeMs);
          const values = at(data, k);
          expect(values.get('all')?.total ?? 0).toBe(view.totalBytes);
          // A process whose snapshot holds nothing has no bar.
          for (const process of view.tree.children) {
            expect(values.get(process.label)?.total ?? 0).toBe(process.total);
          }
          const shown = data.processes.filter((p) =>
            values.has(data.strings[data.nodes.name[p.node] as number] as string),
          );
          expect(shown.length).toBe(view.parts.filter((part) => part.snapshot.totalBytes > 0).length);
        });
      }
    }
  });

  it('thins evenly, first and last kept', () => {
    expect(thin([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(thin([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toEqual([0, 5, 10]);
    expect(thin([1, 2, 3], 1)).toEqual([3]);
  });
});
