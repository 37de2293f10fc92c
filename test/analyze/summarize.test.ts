import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import type { CaptureHeader } from '../../src/record/capture-format.js';
import { readCapture } from '../../src/record/capture-reader.js';
import type { CaptureWriter } from '../../src/record/capture-writer.js';
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

function summaryOf(build: (writer: CaptureWriter) => void, header?: CaptureHeader) {
  return summarize(readCapture(writeCapture(build, header)));
}

const observeHeader = captureHeader({
  cgroup: {
    version: 1,
    path: '/docker/abc',
    mode: 'observe',
    observeReason: 'read-only',
    ancestorsHidden: true,
  },
  limit: { bytes: 512 * MiB, source: 'memory.limit_in_bytes of /docker/abc', high: null, swapBytes: null },
});

describe('summarize', () => {
  it('finds a page-cache peak and its breakdown', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 20 * MiB, anon: 10 * MiB, file: 8 * MiB, kernel: 2 * MiB }));
      writer.sample(
        1000,
        sampleValues({
          usage: 150 * MiB,
          anon: 12 * MiB,
          file: 134 * MiB,
          fileDirty: 100 * MiB,
          kernel: 4 * MiB,
        }),
      );
      writer.sample(
        2300,
        sampleValues({
          usage: 251 * MiB,
          anon: 12 * MiB,
          file: 230 * MiB,
          fileDirty: 180 * MiB,
          fileWriteback: 5 * MiB,
          kernel: 4 * MiB,
          shmem: 0,
          limitHits: 40,
        }),
      );
      writer.sample(3000, sampleValues({ usage: 200 * MiB, anon: 8 * MiB, file: 188 * MiB, limitHits: 152 }));
      writer.end(3100, endRecord({ exitCode: 0, status: 0, durationMs: 3050, limitHits: 152 }));
    });
    expect(summary).toEqual({
      exitCode: 0,
      signal: null,
      status: 0,
      oomKilled: false,
      oomKills: [],
      limit: { bytes: 256 * MiB, source: 'memory.max of /headroom/job-1' },
      peak: {
        bytes: 251 * MiB,
        timeMs: 2300,
        breakdown: {
          anon: 12 * MiB,
          file: 230 * MiB,
          fileDirty: 180 * MiB,
          fileWriteback: 5 * MiB,
          shmem: 0,
          kernel: 4 * MiB,
          swap: 0,
        },
        sampledBytes: 251 * MiB,
      },
      processes: [],
      limitHits: 152,
      durationMs: 3050,
      truncated: false,
      warnings: [],
      command: ['python', 'etl.py'],
      component: null,
      cgroup: { version: 2, path: '/headroom/job-1', mode: 'own' },
      guard: { knobs: [], actions: [] },
      verdict: expect.objectContaining({ kind: 'dirty-page-cache' }),
      findings: expect.any(Array),
    });
    expect(summary.findings.map((f) => f.kind)).toContain('page-cache');
  });

  it('names a victim once, though two kills matched the same vanished pid', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 200 * MiB, anon: 198 * MiB }));
      writer.sample(100, sampleValues({ usage: 100 * MiB, anon: 98 * MiB, oomKills: 1 }));
      writer.event({ kind: 'oom-kill', timeMs: 100, count: 1, victims: [{ pid: 41, name: 'python3' }] });
      writer.sample(200, sampleValues({ usage: 50 * MiB, anon: 48 * MiB, oomKills: 2 }));
      writer.event({ kind: 'oom-kill', timeMs: 200, count: 1, victims: [{ pid: 41, name: 'python3' }] });
      writer.end(
        300,
        endRecord({ exitCode: null, signal: 'SIGKILL', status: 137, durationMs: 300, oomKills: 2 }),
      );
    });
    expect(summary.oomKills).toEqual([
      { pid: 41, name: 'python3', timeMs: 100 },
      { pid: null, name: null, timeMs: 200 },
    ]);
  });

  it('tells an OOM kill from the counter and the event, with its victim', () => {
    const summary = summaryOf((writer) => {
      writer.processStart(0, 1234, 1, 'python', ['python', 'etl.py']);
      writer.sample(0, sampleValues({ usage: 100 * MiB, anon: 98 * MiB }));
      writer.processMemory(0, processMemory(1234, { rssAnon: 98 * MiB }));
      writer.sample(2900, sampleValues({ usage: 255 * MiB, anon: 253 * MiB }));
      writer.processMemory(2900, processMemory(1234, { rssAnon: 253 * MiB }));
      writer.sample(3000, sampleValues({ usage: 1 * MiB, oomKills: 1 }));
      writer.event({ kind: 'oom-kill', timeMs: 3000, count: 1, victims: [{ pid: 1234, name: 'python' }] });
      writer.processExit(3000, 1234);
      writer.end(
        3100,
        endRecord({ exitCode: null, signal: 'SIGKILL', status: 137, durationMs: 3100, oomKills: 1 }),
      );
    });
    expect(summary.oomKilled).toBe(true);
    expect(summary.oomKills).toEqual([{ pid: 1234, name: 'python', timeMs: 3000 }]);
    expect(summary).toMatchObject({ exitCode: null, signal: 'SIGKILL', status: 137 });
    expect(summary.peak).toMatchObject({ bytes: 255 * MiB, timeMs: 2900 });
    expect(summary.processes).toEqual([
      {
        pid: 1234,
        ppid: 1,
        name: 'python',
        argv: ['python', 'etl.py'],
        peakRssBytes: 253 * MiB,
        rssAtPeakBytes: 253 * MiB,
      },
    ]);
  });

  it("counts an OOM victim at the peak when the kernel's mark, read on the kill's tick, is the peak", () => {
    const summary = summaryOf((writer) => {
      writer.processStart(0, 77, 1, 'node', ['node', 'a.js']);
      writer.sample(0, sampleValues({ usage: 100 * MiB, anon: 98 * MiB }));
      writer.processMemory(0, processMemory(77, { rssAnon: 98 * MiB }));
      writer.sample(500, sampleValues({ usage: 1 * MiB, peak: 256 * MiB, oomKills: 1 }));
      writer.processExit(500, 77);
    });
    expect(summary.peak).toMatchObject({ bytes: 256 * MiB, timeMs: 500 });
    expect(summary.processes[0]?.rssAtPeakBytes).toBe(98 * MiB);
  });

  it('does not call exit status 137 an OOM kill when the counter did not rise', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 10 * MiB }));
      writer.end(500, endRecord({ exitCode: null, signal: 'SIGKILL', status: 137, durationMs: 500 }));
    });
    expect(summary.oomKilled).toBe(false);
    expect(summary.oomKills).toEqual([]);
  });

  it('adds unnamed entries for kills the kernel counted but nobody named', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 10 * MiB }));
      writer.event({ kind: 'oom-kill', timeMs: 400, count: 2, victims: [{ pid: 7, name: 'worker' }] });
      writer.sample(500, sampleValues({ usage: 10 * MiB, oomKills: 2 }));
      writer.sample(900, sampleValues({ usage: 10 * MiB, oomKills: 3 }));
      writer.end(1000, endRecord({ durationMs: 1000, oomKills: 3 }));
    });
    expect(summary.oomKilled).toBe(true);
    expect(summary.oomKills).toEqual([
      { pid: 7, name: 'worker', timeMs: 400 },
      { pid: null, name: null, timeMs: 400 },
      { pid: null, name: null, timeMs: 900 },
    ]);
  });

  it('lists every process, biggest first, with what each held at the peak', () => {
    const pids = [201, 202, 203, 204, 205, 206];
    const summary = summaryOf((writer) => {
      pids.forEach((pid, i) => {
        writer.processStart(0, pid, 200, 'node', ['node', `worker-${i}.js`]);
      });
      pids.forEach((pid, i) => {
        writer.processMemory(
          100,
          processMemory(pid, { rssAnon: (70 + i) * MiB, rssFile: 8 * MiB, rssShmem: MiB }),
        );
      });
      writer.sample(100, sampleValues({ usage: 500 * MiB, anon: 430 * MiB, file: 60 * MiB }));
      // 206 grows after the peak; 201 exits before it; 207 starts after it.
      writer.processExit(150, 201);
      writer.sample(200, sampleValues({ usage: 520 * MiB, anon: 440 * MiB, file: 70 * MiB }));
      writer.processStart(300, 207, 200, 'late', ['late']);
      writer.processMemory(300, processMemory(207, { rssAnon: 10 * MiB }));
      writer.processMemory(300, processMemory(206, { rssAnon: 120 * MiB }));
      writer.sample(300, sampleValues({ usage: 400 * MiB, anon: 300 * MiB }));
      writer.end(400, endRecord({ durationMs: 400 }));
    });
    expect(summary.peak.timeMs).toBe(200);
    expect(summary.processes.map((p) => [p.pid, p.peakRssBytes, p.rssAtPeakBytes])).toEqual([
      [206, 120 * MiB, 84 * MiB],
      [205, 83 * MiB, 83 * MiB],
      [204, 82 * MiB, 82 * MiB],
      [203, 81 * MiB, 81 * MiB],
      [202, 80 * MiB, 80 * MiB],
      [201, 79 * MiB, 0],
      [207, 10 * MiB, 0],
    ]);
    expect(summary.processes[1]).toMatchObject({ ppid: 200, name: 'node', argv: ['node', 'worker-4.js'] });
  });

  it("subtracts headroom's own memory in observe mode", () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 300 * MiB, anon: 280 * MiB, file: 20 * MiB, self: 200 * MiB }));
      // Higher raw usage above, but the job's own share is highest here.
      writer.sample(100, sampleValues({ usage: 250 * MiB, anon: 200 * MiB, file: 50 * MiB, self: 40 * MiB }));
      writer.sample(200, sampleValues({ usage: 100 * MiB, anon: 80 * MiB, file: 20 * MiB, self: 40 * MiB }));
      writer.end(300, endRecord({ durationMs: 300 }));
    }, observeHeader);
    expect(summary.cgroup).toEqual({ version: 1, path: '/docker/abc', mode: 'observe' });
    expect(summary.peak).toMatchObject({ bytes: 210 * MiB, timeMs: 100, sampledBytes: 210 * MiB });
    expect(summary.peak.breakdown).toMatchObject({ anon: 160 * MiB, file: 50 * MiB });
  });

  it('counts counters from the first sample in observe mode', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 10 * MiB, oomKills: 4, limitHits: 1000 }));
      writer.sample(100, sampleValues({ usage: 10 * MiB, oomKills: 4, limitHits: 1012 }));
    }, observeHeader);
    expect(summary.oomKilled).toBe(false);
    expect(summary.limitHits).toBe(12);
  });

  it('takes the kernel high-water mark when it is above every sample', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 50 * MiB, anon: 50 * MiB, peak: 50 * MiB }));
      writer.sample(
        100,
        sampleValues({ usage: 240 * MiB, anon: 200 * MiB, file: 40 * MiB, peak: 240 * MiB }),
      );
      writer.sample(200, sampleValues({ usage: 100 * MiB, anon: 100 * MiB, peak: 300 * MiB }));
      writer.sample(300, sampleValues({ usage: 100 * MiB, anon: 100 * MiB, peak: 300 * MiB }));
      writer.end(400, endRecord({ durationMs: 400, peakBytes: 300 * MiB }));
    });
    expect(summary.peak).toEqual({
      bytes: 300 * MiB,
      timeMs: 200,
      breakdown: {
        anon: 200 * MiB,
        file: 40 * MiB,
        fileDirty: 0,
        fileWriteback: 0,
        shmem: 0,
        kernel: 0,
        swap: 0,
      },
      sampledBytes: 240 * MiB,
    });
  });

  it('dates a kernel peak seen only at the end to the end', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 50 * MiB, peak: 50 * MiB }));
      writer.sample(100, sampleValues({ usage: 60 * MiB, peak: 60 * MiB }));
      writer.end(180, endRecord({ durationMs: 170, peakBytes: 90 * MiB }));
    });
    expect(summary.peak).toMatchObject({ bytes: 90 * MiB, timeMs: 180, sampledBytes: 60 * MiB });
  });

  it('ignores a high-water mark the observed cgroup already had before the run', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 50 * MiB, peak: 900 * MiB }));
      writer.sample(100, sampleValues({ usage: 60 * MiB, peak: 900 * MiB }));
      writer.end(200, endRecord({ durationMs: 200, peakBytes: 900 * MiB }));
    }, observeHeader);
    expect(summary.peak.bytes).toBe(60 * MiB);
    expect(summary.warnings).toEqual([
      'the cgroup high-water mark was not counted: it may predate this run (observe mode)',
    ]);
  });

  it('takes the peak breakdown from the last whole sample when the highest was torn by an OOM kill', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 20 * MiB, anon: 18 * MiB }));
      writer.sample(100, sampleValues({ usage: 250 * MiB, anon: 245 * MiB, peak: 250 * MiB }));
      // Usage from before the reaper freed the victim, memory.stat from after: the last sample.
      writer.sample(
        200,
        sampleValues({ usage: 256 * MiB, anon: 160 * 1024, kernel: 160 * 1024, peak: 256 * MiB }),
      );
      writer.end(210, endRecord({ durationMs: 210, peakBytes: 256 * MiB }));
    });
    expect(summary.peak.bytes).toBe(256 * MiB);
    expect(summary.peak.sampledBytes).toBe(250 * MiB);
    expect(summary.peak.breakdown.anon).toBe(245 * MiB);
  });

  it('keeps a breakdown short of usage throughout, as socket buffers leave it', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 100 * MiB, anon: 20 * MiB }));
      writer.sample(100, sampleValues({ usage: 200 * MiB, anon: 40 * MiB }));
      writer.end(110, endRecord({ durationMs: 110 }));
    });
    expect(summary.peak.sampledBytes).toBe(200 * MiB);
    expect(summary.peak.breakdown.anon).toBe(40 * MiB);
  });

  it('uses the limit in force at the peak', () => {
    const summary = summaryOf((writer) => {
      writer.sample(0, sampleValues({ usage: 50 * MiB }));
      writer.event({ kind: 'limit-change', timeMs: 50, limit: 512 * MiB, high: null });
      writer.sample(100, sampleValues({ usage: 300 * MiB }));
      writer.event({ kind: 'limit-change', timeMs: 150, limit: 1024 * MiB, high: null });
      writer.end(200, endRecord({ durationMs: 200 }));
    });
    expect(summary.limit).toEqual({
      bytes: 512 * MiB,
      source: 'memory.max of /headroom/job-1, changed during the run',
    });
  });

  it('summarizes a truncated capture as far as it goes', () => {
    const file = writeCapture((writer) => {
      writer.processStart(0, 5, 1, 'job', ['job']);
      writer.sample(0, sampleValues({ usage: 10 * MiB, limitHits: 0 }));
      writer.sample(100, sampleValues({ usage: 30 * MiB, limitHits: 3 }));
      writer.processMemory(150, processMemory(5, { rssAnon: 20 * MiB }));
      writer.sample(200, sampleValues({ usage: 20 * MiB, limitHits: 5 }));
    });
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.slice(0, -4));
    const summary = summarize(readCapture(file));
    expect(summary).toMatchObject({
      exitCode: null,
      signal: null,
      status: null,
      truncated: true,
      durationMs: 150,
      limitHits: 3,
      peak: { bytes: 30 * MiB, timeMs: 100 },
    });
    expect(summary.warnings).toHaveLength(2);
    expect(summary.processes).toHaveLength(1);
  });

  it('has a stable JSON shape even without samples', () => {
    const summary = summaryOf(() => {}, captureHeader({ component: 'scheduler' }));
    const json = JSON.parse(JSON.stringify(summary));
    expect(Object.keys(json)).toEqual([
      'verdict',
      'exitCode',
      'signal',
      'status',
      'oomKilled',
      'oomKills',
      'limit',
      'peak',
      'processes',
      'limitHits',
      'durationMs',
      'truncated',
      'warnings',
      'command',
      'component',
      'cgroup',
      'guard',
      'findings',
    ]);
    expect(json.findings).toEqual([]);
    expect(json.verdict).toMatchObject({ kind: 'healthy', confidence: 'low' });
    expect(json.verdict.cause).toMatch(/no samples/i);
    expect(json.peak).toEqual({
      bytes: 0,
      timeMs: 0,
      breakdown: { anon: 0, file: 0, fileDirty: 0, fileWriteback: 0, shmem: 0, kernel: 0, swap: 0 },
      sampledBytes: 0,
    });
    expect(json.component).toBe('scheduler');
    expect(json.warnings).toContain('no cgroup samples were recorded');
  });
});
