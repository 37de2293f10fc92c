import { afterAll, describe, expect, it } from 'vitest';
import { type Summary, summarize } from '../../src/analyze/summarize.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { renderSummaryText } from '../../src/report/summary-text.js';
import {
  captureHeader,
  endRecord,
  MiB,
  processMemory,
  removeCaptureDirs,
  sampleValues,
  writeCapture,
} from '../fixtures/captures.js';

afterAll(removeCaptureDirs);

function summary(overrides: Partial<Summary> = {}): Summary {
  return {
    exitCode: 0,
    signal: null,
    status: 0,
    oomKilled: false,
    oomKills: [],
    limit: { bytes: 256 * MiB, source: 'memory.limit_in_bytes of /x' },
    peak: {
      bytes: 251 * MiB,
      timeMs: 2300,
      breakdown: {
        anon: 12 * MiB,
        file: 230 * MiB,
        fileDirty: 180 * MiB,
        fileWriteback: 0,
        shmem: 0,
        kernel: 4 * MiB,
        swap: 0,
      },
      sampledBytes: 251 * MiB,
    },
    processes: [],
    guard: { knobs: [], actions: [] },
    verdict: {
      kind: 'dirty-page-cache',
      cause: 'Dirty page cache from writing files filled memory.',
      confidence: 'high',
      evidence: { fromMs: 0, toMs: 2300, series: ['fileDirty'], pids: [] },
    },
    findings: [],
    limitHits: 0,
    durationMs: 12_400,
    truncated: false,
    warnings: [],
    command: ['python', 'etl.py'],
    component: null,
    cgroup: { version: 1, path: '/x', mode: 'own' },
    ...overrides,
  };
}

function lineWith(text: string, needle: string): string {
  const line = text.split('\n').find((l) => l.includes(needle));
  if (line === undefined) throw new Error(`no line with ${needle} in:\n${text}`);
  return line;
}

describe('renderSummaryText', () => {
  it('says how the job ended, the peak and what it was made of', () => {
    const text = renderSummaryText(summary({ limitHits: 152 }), { capturePath: '/tmp/run.hrc' });
    expect(text.split('\n')[0]).toBe('headroom: python etl.py exited 0 after 12.4s');
    expect(lineWith(text, 'peak')).toMatch(/^ {2}peak +251 MiB of 256 MiB limit \(98%\) at 2\.30s$/);
    expect(lineWith(text, 'made of')).toContain(
      'page cache 230 MiB (dirty 180 MiB), anon 12.0 MiB, shmem 0, kernel 4.00 MiB',
    );
    expect(lineWith(text, 'limit hits')).toMatch(/limit hits +152$/);
    expect(lineWith(text, 'limit  ')).toContain('256 MiB from memory.limit_in_bytes of /x');
    expect(lineWith(text, 'capture')).toMatch(/capture +\/tmp\/run\.hrc$/);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('\x1b');
  });

  it('leads with the verdict, right under the headline', () => {
    const text = renderSummaryText(summary({ limitHits: 152 }));
    expect(text.split('\n')[1]).toBe('  verdict: Dirty page cache from writing files filled memory.');
    const unsure = renderSummaryText(
      summary({
        verdict: {
          kind: 'healthy',
          cause: 'Healthy: peak 20.0 MiB of 256 MiB (8%), no pressure.',
          confidence: 'medium',
          evidence: { fromMs: 0, toMs: 1000, series: ['usage'], pids: [] },
        },
      }),
    );
    expect(unsure.split('\n')[1]).toBe(
      '  verdict: Healthy: peak 20.0 MiB of 256 MiB (8%), no pressure. (medium confidence)',
    );
  });

  it('aligns every value in one column', () => {
    const processes = [{ pid: 1, ppid: 0, name: 'node', argv: [], peakRssBytes: MiB, rssAtPeakBytes: MiB }];
    const oomKills = [{ pid: 1, name: 'node', timeMs: 5 }];
    const text = renderSummaryText(
      summary({ limitHits: 3, processes, oomKilled: true, oomKills, warnings: ['something'] }),
      { capturePath: 'c' },
    );
    expect(text.trimEnd().split('\n')).toHaveLength(10);
    const columns = text
      .trimEnd()
      .split('\n')
      .slice(2)
      .map((line) => line.search(/(?<=^ {2}\S.*? {2,})\S/));
    expect(new Set(columns).size).toBe(1);
  });

  it('tells an OOM kill from a plain SIGKILL', () => {
    const oom = renderSummaryText(
      summary({
        exitCode: null,
        signal: 'SIGKILL',
        status: 137,
        durationMs: 3100,
        oomKilled: true,
        oomKills: [{ pid: 1234, name: 'python', timeMs: 3000 }],
      }),
    );
    expect(oom).toContain('headroom: python etl.py killed by the OOM killer (signal 9) after 3.10s');
    expect(lineWith(oom, 'OOM kills')).toMatch(/OOM kills +1 — python \(pid 1234\) at 3\.00s$/);

    const killed = renderSummaryText(
      summary({ exitCode: null, signal: 'SIGKILL', status: 137, durationMs: 3100 }),
    );
    expect(killed).toContain('killed by SIGKILL (signal 9) after 3.10s, not by the OOM killer');
    expect(killed).not.toContain('OOM kills');
  });

  it('lists at most five processes at the peak', () => {
    const processes = [1, 2, 3, 4, 5, 6].map((i) => ({
      pid: 1000 + i,
      ppid: 1,
      name: 'node',
      argv: ['node'],
      peakRssBytes: 80 * MiB,
      rssAtPeakBytes: (80 - i) * MiB,
    }));
    const text = renderSummaryText(summary({ processes }));
    expect(lineWith(text, 'top at peak')).toContain(
      'node (1001) 79.0 MiB, node (1002) 78.0 MiB, node (1003) 77.0 MiB, node (1004) 76.0 MiB, node (1005) 75.0 MiB, and 1 more',
    );
  });

  it('escapes control characters in names, commands and paths', () => {
    const hostile = 'evil\x1b[2J\nheadroom: exited 0\x07';
    const text = renderSummaryText(
      summary({
        command: [hostile, 'arg with space'],
        oomKilled: true,
        oomKills: [{ pid: 9, name: hostile, timeMs: 10 }],
        processes: [
          { pid: 9, ppid: 1, name: hostile, argv: [hostile], peakRssBytes: MiB, rssAtPeakBytes: MiB },
        ],
      }),
      { capturePath: '/tmp/\x1b]0;title\x07.hrc' },
    );
    expect(text).not.toContain('\x1b');
    expect(text).not.toContain('\x07');
    expect(text).toContain('evil\\x1b[2J\\nheadroom: exited 0\\x07');
    expect(text).toContain("'arg with space'");
    expect(text.split('\n').filter((line) => line.startsWith('headroom'))).toHaveLength(1);

    const colored = renderSummaryText(summary({ processes: [], command: [hostile] }), { color: true });
    // Only our own SGR sequences may remain.
    const ownCodes = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');
    expect(colored.replace(ownCodes, '')).not.toContain('\x1b');
    expect(colored).toContain('\x1b[1m');
  });

  it('puts truncation first among the warnings and stays short', () => {
    const text = renderSummaryText(
      summary({
        exitCode: null,
        status: null,
        truncated: true,
        warnings: [
          'line 3 is not valid JSON, skipped',
          'line 9 is not valid JSON, skipped',
          'capture is truncated: it ends without an END record (headroom was killed or is still running); read up to 12.3 s',
        ],
      }),
      { capturePath: 'x.hrc' },
    );
    expect(text.split('\n')[0]).toContain('has no recorded exit; the capture stops after 12.4s');
    const warnings = text.split('\n').filter((line) => /^ {2}(warning| ) /.test(line));
    expect(warnings[0]).toMatch(/warning +capture is truncated: it ends without an END record/);
    expect(warnings[1]).toMatch(/warning +line 3 is not valid JSON, skipped/);
    expect(warnings[2]).toMatch(/and 1 more warnings/);
    expect(text.trimEnd().split('\n').length).toBeLessThanOrEqual(11);
  });

  it('renders a summary straight from a capture', () => {
    const file = writeCapture(
      (writer) => {
        writer.processStart(0, 1234, 1, 'python', ['python', 'etl.py']);
        writer.sample(0, sampleValues({ usage: 100 * MiB, anon: 98 * MiB }));
        writer.processMemory(0, processMemory(1234, { rssAnon: 98 * MiB }));
        writer.sample(
          2900,
          sampleValues({ usage: 255 * MiB, anon: 200 * MiB, file: 50 * MiB, shmem: 5 * MiB }),
        );
        writer.processMemory(2900, processMemory(1234, { rssAnon: 200 * MiB }));
        writer.sample(3000, sampleValues({ usage: MiB, oomKills: 1 }));
        writer.event({ kind: 'oom-kill', timeMs: 3000, count: 1, victims: [{ pid: 1234, name: 'python' }] });
        writer.end(
          3100,
          endRecord({
            exitCode: null,
            signal: 'SIGKILL',
            status: 137,
            durationMs: 3100,
            oomKills: 1,
            limitHits: 9,
          }),
        );
      },
      captureHeader({ limit: { bytes: 256 * MiB, source: 'memory.max of /hr/1', high: null, swapBytes: 0 } }),
    );
    const text = renderSummaryText(summarize(readCapture(file)), { capturePath: file });
    expect(text).toContain('killed by the OOM killer (signal 9) after 3.10s');
    expect(text).toContain('255 MiB of 256 MiB limit (100%) at 2.90s');
    expect(text).toContain('page cache 50.0 MiB, anon 200 MiB, shmem 5.00 MiB, kernel 0');
    expect(text).toContain('1 — python (pid 1234) at 3.00s');
    expect(text).toContain('python (1234) 200 MiB');
    expect(text).toMatch(/limit hits +9/);
    expect(text).toContain('256 MiB from memory.max of /hr/1');
  });
});
