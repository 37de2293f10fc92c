import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import { heapProfile } from '../../src/profile/export-heapprofile.js';
import { SPEEDSCOPE_SCHEMA, speedscopeFile } from '../../src/profile/export-speedscope.js';
import { profileAt } from '../../src/profile/profile-at.js';
import { noProfileReason } from '../../src/profile/profile-capture.js';
import { profileStats, renderProfileStats } from '../../src/profile/profile-stats.js';
import { renderSiteTable, siteTable } from '../../src/profile/profile-table.js';
import { describeProfileTime, parseProfileTime } from '../../src/profile/profile-time.js';
import { renderProfileTree } from '../../src/profile/profile-tree-text.js';
import type { SamplingHeapProfileNode } from '../../src/profile/v8-profile.js';
import { parseCapture, readCapture } from '../../src/record/capture-reader.js';
import { profileJoinLine } from '../../src/report/profile-join.js';
import { renderSummaryText } from '../../src/report/summary-text.js';
import { MiB, removeCaptureDirs } from '../fixtures/captures.js';
import {
  NODE_PID,
  PEAK_MS,
  PYTHON_PID,
  profileCaptureText,
  writeProfileCapture,
} from '../fixtures/profile-captures.js';

afterAll(removeCaptureDirs);

const capture = () => parseCapture(profileCaptureText(), 'run.hrc');

describe('--at', () => {
  it.each([
    ['peak', 'peak'],
    ['END', 'end'],
    ['12', 12_000],
    ['12.5', 12_500],
    ['12.5s', 12_500],
    ['1m30s', 90_000],
    ['1h2m', 3_720_000],
    ['800ms', 800],
    ['1s500ms', 1500],
    ['0', 0],
  ])('reads %s', (text, expected) => {
    expect(parseProfileTime(text)).toBe(expected);
  });

  it.each(['', 'x', '-1', '1x', '30s1m', '1m1m', '1.5.2', 's', '12 s', 'peak1'])('refuses %j', (text) => {
    expect(parseProfileTime(text)).toBeUndefined();
  });

  it('names the time in headings', () => {
    expect(describeProfileTime('peak', 2000)).toBe('at peak (2.00s)');
    expect(describeProfileTime('end', 4000)).toBe('at the end (4.00s)');
    expect(describeProfileTime(1500, 1500)).toBe('at 1.50s');
  });
});

describe('table', () => {
  it('ranks sites at the peak by size, the innermost frame of the job code naming each', () => {
    const table = siteTable(profileAt(capture(), 'peak'), 'size');
    expect(table.timeMs).toBe(PEAK_MS);
    expect(table.totalBytes).toBe(274 * MiB);
    expect(table.totalCount).toBe(111);
    expect(table.processes).toBe(2);
    expect(table.more).toBe(0);
    expect(table.sites.map((s) => [s.label, s.bytes, s.count, s.pids, s.runtime])).toEqual([
      ['load_everything (app/etl.py:12)', 210 * MiB, 21, [PYTHON_PID], 'python'],
      ['cacheResult (app/server.mjs:22)', 40 * MiB, 80, [NODE_PID], 'node'],
      ['transform (app/etl.py:18)', 20 * MiB, 2, [PYTHON_PID], 'python'],
      ['parseBody (app/server.mjs:10)', 4 * MiB, 8, [NODE_PID], 'node'],
    ]);
    expect(table.sites[0]).toMatchObject({ name: 'load_everything', file: '/app/etl.py', line: 12 });
    expect(table.sites[0]?.share).toBeCloseTo(210 / 274, 10);
  });

  it('by count, with shares of all counts, and a limit that says how many are left out', () => {
    const table = siteTable(profileAt(capture(), 'peak'), 'count', 2);
    expect(table.sites.map((s) => [s.label, s.count])).toEqual([
      ['cacheResult (app/server.mjs:22)', 80],
      ['load_everything (app/etl.py:12)', 21],
    ]);
    expect(table.sites[0]?.share).toBeCloseTo(80 / 111, 10);
    expect(table.more).toBe(2);
    expect(siteTable(profileAt(capture(), 'peak'), 'count', 0).sites).toHaveLength(4);
  });

  it('at the end and at a time in seconds', () => {
    const end = siteTable(profileAt(capture(), 'end'), 'size');
    expect(end.sites.map((s) => [s.label, s.bytes])).toEqual([
      ['cacheResult (app/server.mjs:22)', 50 * MiB],
      ['transform (app/etl.py:18)', 5 * MiB],
    ]);
    // 1.2 s: python's snapshot of 1.0 s; node's first snapshot (1.5 s) stands in for the time before it.
    const early = siteTable(profileAt(capture(), 1200), 'size');
    expect(early.totalBytes).toBe(114 * MiB);
    expect(early.sites[0]).toMatchObject({ label: 'load_everything (app/etl.py:12)', bytes: 60 * MiB });
  });

  it('renders aligned text', () => {
    const text = renderSiteTable(siteTable(profileAt(capture(), 'peak'), 'size', 3), 'at peak (2.00s)');
    expect(text).toBe(
      [
        'allocation sites at peak (2.00s), by size: 274 MiB, count 111, in 2 processes',
        '     bytes  count  share  site                             pids',
        '   210 MiB     21  76.6%  load_everything (app/etl.py:12)  202',
        '  40.0 MiB     80  14.6%  cacheResult (app/server.mjs:22)  101',
        '  20.0 MiB      2   7.3%  transform (app/etl.py:18)        202',
        '  ... 1 more site (-n 0 shows all)',
        '',
      ].join('\n'),
    );
  });

  it('escapes control characters from the job in labels', () => {
    const text = profileCaptureText().replace('"load_everything"', '"evil\\u001b[2Jname"');
    const table = siteTable(profileAt(parseCapture(text), 'peak'), 'size');
    const rendered = renderSiteTable(table, 'at peak');
    expect(rendered).not.toContain('\x1b');
    expect(rendered).toContain('evil\\x1b[2Jname (app/etl.py:12)');
  });

  it('merges one site over several processes and lists their pids', () => {
    const extra = [
      ['P', 2100, 303, PYTHON_PID, 'python3', ['python3', '/app/etl.py']],
      ['I', 2100, 303, { runtime: 'python', mode: 'growth', interval: 5, argv: ['/app/etl.py'] }],
      ['N', 2100, 303, [1, 0, 'load_everything', '/app/etl.py', 12]],
      ['A', 2200, 303, 'peak', [1, 7 * MiB, 3]],
    ];
    const table = siteTable(profileAt(parseCapture(profileCaptureText({ extra })), 'end'), 'size');
    expect(table.sites.find((s) => s.name === 'load_everything')).toMatchObject({
      bytes: 7 * MiB,
      pids: [303],
    });
    const both = profileCaptureText({
      extra: [...extra.slice(0, 3), ['A', 1900, 303, 'peak', [1, 7 * MiB, 3]]],
    });
    const atPeak = siteTable(profileAt(parseCapture(both), 'peak'), 'size');
    expect(atPeak.sites[0]).toMatchObject({ bytes: 217 * MiB, count: 24, pids: [PYTHON_PID, 303] });
  });
});

describe('tree', () => {
  it('is the merged call tree, biggest first, with self bytes where a frame also calls others', () => {
    const text = renderProfileTree(profileAt(capture(), 'peak'), 'at peak (2.00s)');
    expect(text).toBe(
      [
        'allocation tree at peak (2.00s): 274 MiB in 2 processes; frames under 1.0% folded',
        '   274 MiB 100.0%  all',
        '   230 MiB  83.9%  ├─ python3 etl.py (pid 202)',
        '   230 MiB  83.9%  │  └─ <module> (app/etl.py:30)',
        '   230 MiB  83.9%  │     └─ main (app/etl.py:25)',
        '   210 MiB  76.6%  │        ├─ load_everything (app/etl.py:12)  [self 60.0 MiB]',
        '   150 MiB  54.7%  │        │  └─ __next__ (python3.11/csv.py:110)',
        '  20.0 MiB   7.3%  │        └─ transform (app/etl.py:18)',
        '  44.0 MiB  16.1%  └─ node server.mjs (pid 101)',
        '  44.0 MiB  16.1%     └─ handleRequest (app/server.mjs:40)',
        '  40.0 MiB  14.6%        ├─ cacheResult (app/server.mjs:22)  [self 30.0 MiB]',
        '  10.0 MiB   3.6%        │  └─ from (node:buffer:300)',
        '  4.00 MiB   1.5%        └─ parseBody (app/server.mjs:10)',
        '',
      ].join('\n'),
    );
  });

  it('folds what holds less than the share into one line with its bytes', () => {
    const text = renderProfileTree(profileAt(capture(), 'peak'), 'at peak', { minShare: 0.1 });
    const lines = text.split('\n');
    // transform (7.3%) folds under main; parseBody (1.5%) under handleRequest; from (3.6%) under cacheResult.
    expect(lines).toContain('  20.0 MiB   7.3%  │        └─ ... 1 more');
    expect(lines).toContain('  4.00 MiB   1.5%        └─ ... 1 more');
    expect(lines).toContain('  10.0 MiB   3.6%        │  └─ ... 1 more');
    expect(text).not.toContain('transform');
    expect(text).toContain('frames under 10.0% folded');
  });

  it('stops at the depth asked, saying so', () => {
    const text = renderProfileTree(profileAt(capture(), 'peak'), 'at peak', { maxDepth: 2 });
    expect(text).toContain('│     └─ main (app/etl.py:25)');
    expect(text).not.toContain('load_everything');
    expect(text).toContain('   230 MiB  83.9%  │        └─ ... deeper calls not shown (--max-depth 2)');
  });

  it('merges a stack 50,000 frames deep without overflowing and draws it to the depth asked', () => {
    const DEPTH = 50_000;
    const nodes: unknown[] = [];
    for (let id = 1; id <= DEPTH; id++) nodes.push(id, id - 1, `f${id}`, '/app/deep.py', id);
    const extra = [
      ['I', 100, 404, { runtime: 'python', mode: 'growth', interval: 5, argv: ['deep.py'] }],
      ['N', 100, 404, nodes],
      ['A', 1900, 404, 'peak', [DEPTH, MiB, 1]],
    ];
    const view = profileAt(parseCapture(profileCaptureText({ extra })), 'peak');
    const text = renderProfileTree(view, 'at peak', { minShare: 0, maxDepth: 1000 });
    expect(text).toContain('f1000 (app/deep.py:1000)');
    expect(text).not.toContain('f1001 ');
    expect(text).toContain('... deeper calls not shown (--max-depth 1000)');
    expect(siteTable(view, 'size').sites).toContainEqual(
      expect.objectContaining({ name: `f${DEPTH}`, bytes: MiB }),
    );
  });
});

describe('damaged profiles', () => {
  it('a node redefined under its own child (a cycle) ends every walk', () => {
    const extra = [
      ['I', 100, 404, { runtime: 'python', mode: 'growth', interval: 5, argv: ['loop.py'] }],
      ['N', 100, 404, [1, 0, 'outer', '/app/loop.py', 1, 2, 1, 'inner', '/app/loop.py', 2]],
      ['N', 110, 404, [1, 2, 'outer', '/app/loop.py', 1]],
      ['A', 1900, 404, 'peak', [2, 3 * MiB, 1]],
    ];
    const view = profileAt(parseCapture(profileCaptureText({ extra })), 'peak');
    const part = view.parts.find((p) => p.pid === 404);
    if (!part) throw new Error('no part for pid 404');
    expect(view.totalBytes).toBe(277 * MiB);
    expect(renderProfileTree(view, 'at peak')).toContain('inner (app/loop.py:2)');
    expect(heapProfile(part).samples).toEqual([{ size: 3 * MiB, nodeId: expect.any(Number), ordinal: 1 }]);
    const speedscope = speedscopeFile(view, 'x', 'x');
    expect(speedscope.profiles.find((p) => p.name.includes('404'))?.samples[0]?.length).toBe(2);
  });
});

describe('stats', () => {
  it('per process, totals and top sites at the peak, and the profilers notes', () => {
    const stats = profileStats(capture());
    expect(stats.peakMs).toBe(PEAK_MS);
    expect(stats.totalBytesAtPeak).toBe(274 * MiB);
    expect(stats.totalCountAtPeak).toBe(111);
    expect(stats.processes).toEqual([
      {
        pid: PYTHON_PID,
        command: ['python3', '/app/etl.py'],
        runtime: 'python',
        mode: 'growth',
        interval: 5,
        version: '3.11.2',
        startMs: 10,
        snapshots: 3,
        bytesAtPeak: 230 * MiB,
        countAtPeak: 23,
        maxBytes: 230 * MiB,
        maxBytesMs: PEAK_MS,
        notes: 1,
      },
      {
        pid: NODE_PID,
        command: ['node', '/app/server.mjs'],
        runtime: 'node',
        mode: 'sampling',
        interval: 524288,
        version: 'v20.20.0',
        startMs: 450,
        snapshots: 2,
        bytesAtPeak: 44 * MiB,
        countAtPeak: 88,
        maxBytes: 50 * MiB,
        maxBytesMs: 3000,
        notes: 0,
      },
    ]);
    expect(stats.topBySize.map((s) => s.name)).toEqual([
      'load_everything',
      'cacheResult',
      'transform',
      'parseBody',
    ]);
    expect(stats.topByCount.map((s) => s.name)).toEqual([
      'cacheResult',
      'load_everything',
      'parseBody',
      'transform',
    ]);
    expect(stats.notes).toEqual([
      {
        pid: PYTHON_PID,
        timeMs: 3200,
        message: 'snapshot refused: it needs about 80 MiB and 40 MiB are left under the limit',
      },
    ]);
    const text = renderProfileStats(stats);
    expect(text).toContain(
      '  202  python growth      5 ms          3   230 MiB   230 MiB at 2.00s  python3 /app/etl.py',
    );
    expect(text).toContain(
      '  101  node sampling   512 KiB          2  44.0 MiB  50.0 MiB at 3.00s  node /app/server.mjs',
    );
    expect(text).toContain('3.20s  pid 202: snapshot refused');
  });
});

describe('export', () => {
  it('speedscope: shared frames, one sampled profile per process in bytes, stacks outermost first', () => {
    const view = profileAt(capture(), 'peak');
    const file = speedscopeFile(view, 'run', 'headroom test');
    expect(file.$schema).toBe(SPEEDSCOPE_SCHEMA);
    const keys = file.shared.frames.map((f) => `${f.name} ${f.file}:${f.line}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(file.profiles.map((p) => [p.type, p.unit, p.name, p.endValue])).toEqual([
      ['sampled', 'bytes', 'python3 etl.py (pid 202)', 230 * MiB],
      ['sampled', 'bytes', 'node server.mjs (pid 101)', 44 * MiB],
    ]);
    expect(file.activeProfileIndex).toBe(0);
    for (const profile of file.profiles) {
      expect(profile.samples).toHaveLength(profile.weights.length);
      expect(profile.weights.reduce((a, b) => a + b, 0)).toBe(profile.endValue);
      for (const stack of profile.samples) {
        for (const index of stack) expect(file.shared.frames[index]).toBeDefined();
      }
    }
    const names = (stack: number[]) => stack.map((i) => file.shared.frames[i]?.name);
    const python = file.profiles[0];
    expect(python?.samples.map(names)).toEqual([
      ['<module>', 'main', 'load_everything', '__next__'],
      ['<module>', 'main', 'load_everything'],
      ['<module>', 'main', 'transform'],
    ]);
    expect(python?.weights).toEqual([150 * MiB, 60 * MiB, 20 * MiB]);
    expect(file.shared.frames.find((f) => f.name === 'cacheResult')).toEqual({
      name: 'cacheResult',
      file: 'file:///app/server.mjs',
      line: 22,
    });
  });

  it('heapprofile: a (root) head, unique ids, 0-based lines, self sizes and samples that add up', () => {
    const view = profileAt(capture(), 'peak');
    const part = view.parts.find((p) => p.pid === PYTHON_PID);
    if (!part) throw new Error('no python part');
    const profile = heapProfile(part);
    expect(profile.head.callFrame).toEqual({
      functionName: '(root)',
      scriptId: '0',
      url: '',
      lineNumber: -1,
      columnNumber: -1,
    });
    const all: SamplingHeapProfileNode[] = [];
    const stack = [profile.head];
    while (stack.length > 0) {
      const node = stack.pop() as SamplingHeapProfileNode;
      all.push(node);
      stack.push(...node.children);
    }
    const ids = all.map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(all.reduce((sum, n) => sum + n.selfSize, 0)).toBe(230 * MiB);
    expect(profile.samples.reduce((sum, s) => sum + s.size, 0)).toBe(230 * MiB);
    for (const sample of profile.samples) expect(ids).toContain(sample.nodeId);
    expect(profile.samples.map((s) => s.ordinal)).toEqual([1, 2, 3]);
    const load = all.find((n) => n.callFrame.functionName === 'load_everything');
    expect(load?.callFrame).toMatchObject({ url: '/app/etl.py', lineNumber: 11 });
    expect(load?.selfSize).toBe(60 * MiB);
    expect(load?.children.map((c) => [c.callFrame.functionName, c.selfSize])).toEqual([
      ['__next__', 150 * MiB],
    ]);
    // One script id per file.
    const etl = all.filter((n) => n.callFrame.url === '/app/etl.py').map((n) => n.callFrame.scriptId);
    expect(new Set(etl).size).toBe(1);
    expect(etl[0]).not.toBe('0');
  });
});

describe('summary', () => {
  it('lists the top sites at the peak in --json, and leaves the field out without a profile', () => {
    const summary = summarize(capture());
    expect(summary.profile).toMatchObject({
      timeMs: PEAK_MS,
      totalBytes: 274 * MiB,
      processes: [
        { pid: PYTHON_PID, runtime: 'python', mode: 'growth', bytes: 230 * MiB },
        { pid: NODE_PID, runtime: 'node', mode: 'sampling', bytes: 44 * MiB },
      ],
      notes: 1,
    });
    expect(summary.profile?.topSites.map((s) => [s.label, s.bytes])).toEqual([
      ['load_everything (app/etl.py:12)', 210 * MiB],
      ['cacheResult (app/server.mjs:22)', 40 * MiB],
      ['transform (app/etl.py:18)', 20 * MiB],
      ['parseBody (app/server.mjs:10)', 4 * MiB],
    ]);
    const without = summarize(parseCapture(profileCaptureText({ profiles: false })));
    expect('profile' in without).toBe(false);
    expect(JSON.parse(JSON.stringify(without))).not.toHaveProperty('profile');
  });

  it('joins the two views in one line', () => {
    const summary = summarize(capture());
    const line = profileJoinLine(summary.peak.breakdown, summary.profile?.topSites[0]);
    expect(line).toBe(
      'at peak: 150 MiB page cache + 250 MiB anon, of which 210 MiB was allocated in load_everything (app/etl.py:12)',
    );
    expect(
      profileJoinLine({ file: MiB, anon: 300 * MiB, shmem: 20 * MiB }, { label: 'f (a.js:1)', bytes: MiB }),
    ).toBe('at peak: 300 MiB anon + 20.0 MiB shmem, of which 1.00 MiB was allocated in f (a.js:1)');
    // Anon always shows: the site's bytes are part of it.
    expect(profileJoinLine({ file: 2 * MiB, anon: 0, shmem: 0 }, { label: 'f (a.js:1)', bytes: MiB })).toBe(
      'at peak: 2.00 MiB page cache + 0 B anon, of which 1.00 MiB was allocated in f (a.js:1)',
    );
    expect(profileJoinLine(summary.peak.breakdown, undefined)).toBeUndefined();
  });

  it('shows the sites and the line in the text summary, only when profiled', () => {
    const text = renderSummaryText(summarize(capture()));
    expect(text).toContain(
      '  top sites    load_everything (app/etl.py:12) 210 MiB, cacheResult (app/server.mjs:22) 40.0 MiB, ' +
        'transform (app/etl.py:18) 20.0 MiB, ...',
    );
    expect(text).toContain(
      '               at peak: 150 MiB page cache + 250 MiB anon, of which 210 MiB was allocated in load_everything',
    );
    // Sites under 1% of the profile are left out of the text (not the JSON).
    const tiny = profileCaptureText({
      profiles: false,
      extra: [
        ['I', 100, 505, { runtime: 'node', mode: 'sampling', interval: 524288, argv: ['node', 'x.js'] }],
        ['N', 100, 505, [1, 0, 'bigSite', '/app/x.js', 1, 2, 0, 'tinySite', '/app/x.js', 2]],
        ['A', 1900, 505, 'peak', [1, 100 * MiB, 100, 2, 64 * 1024, 1]],
      ],
    });
    const withTiny = summarize(parseCapture(tiny));
    expect(withTiny.profile?.topSites.map((s) => s.name)).toEqual(['bigSite', 'tinySite']);
    expect(renderSummaryText(withTiny)).toContain('  top sites    bigSite (app/x.js:1) 100 MiB\n');
    const plain = renderSummaryText(summarize(parseCapture(profileCaptureText({ profiles: false }))));
    expect(plain).not.toContain('top sites');
    expect(plain).not.toContain('allocated in');
  });
});

describe('captures without a usable profile', () => {
  it('names the file and how to profile', () => {
    const none = parseCapture(profileCaptureText({ profiles: false }));
    expect(noProfileReason(none, 'run.hrc')).toBe(
      'no allocation profile in run.hrc (run with --profile or list the component in headroom.toml [profiling] components)',
    );
    expect(noProfileReason(capture(), 'run.hrc')).toBeUndefined();
  });

  it('profiling on but no process wrote a profile: says so rather than "run with --profile"', () => {
    const text = profileCaptureText({ profiles: false, header: { profiling: { python: 'growth' } } });
    const reason = noProfileReason(parseCapture(text), 'run.hrc');
    expect(reason).toBe(
      'no allocation profile in run.hrc: profiling was on, but no Node or Python process of the job wrote a ' +
        'profile (none ran, a process ran python -I, -S or -E, or the job could not write ' +
        "headroom's spool directory after dropping privileges)",
    );
    expect(reason).not.toContain('--profile');
    // With a profile, the header changes nothing.
    const profiled = profileCaptureText({ header: { profiling: { python: 'growth' } } });
    expect(noProfileReason(parseCapture(profiled), 'run.hrc')).toBeUndefined();
  });

  it('a profile that never took a snapshot says why when a profiler noted it', () => {
    const text = profileCaptureText({
      profiles: false,
      extra: [
        ['I', 100, PYTHON_PID, { runtime: 'python', mode: 'tracemalloc', interval: 0, argv: ['etl.py'] }],
        ['W', 200, PYTHON_PID, 'snapshot refused: 1 GiB needed, 10 MiB left'],
      ],
    });
    const noSnapshot = parseCapture(text);
    expect(noProfileReason(noSnapshot, 'run.hrc')).toBe(
      'no allocation profile in run.hrc: the profilers started but wrote no snapshot ' +
        '(pid 202: snapshot refused: 1 GiB needed, 10 MiB left)',
    );
    expect(noProfileReason(noSnapshot, 'run.hrc', false)).toBeUndefined();
    expect(profileStats(noSnapshot).processes[0]).toMatchObject({
      snapshots: 0,
      bytesAtPeak: 0,
      maxBytesMs: null,
    });
  });

  it('a truncated capture (killed mid-run) still has its profile', () => {
    const file = writeProfileCapture({ end: false });
    const read = readCapture(file);
    expect(read.truncated).toBe(true);
    expect(siteTable(profileAt(read, 'peak'), 'size').sites[0]?.bytes).toBe(210 * MiB);
  });
});
