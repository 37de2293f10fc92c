import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ErrorCode, isHeadroomError } from '../../src/errors.js';
import { KEYFRAME_EVERY, SAMPLE_FIELDS } from '../../src/record/capture-format.js';
import { type Capture, parseCapture, readCapture } from '../../src/record/capture-reader.js';
import type { SampleValues } from '../../src/record/capture-writer.js';
import {
  captureDir,
  captureHeader,
  endRecord,
  KiB,
  MiB,
  processMemory,
  removeCaptureDirs,
  sampleValues,
  writeCapture,
} from '../fixtures/captures.js';

afterAll(removeCaptureDirs);

/** Sample i of a long synthetic series: values that rise, fall, cross -1 and move counters. */
function wavySample(i: number): SampleValues {
  return sampleValues({
    usage: (100 * MiB + ((i * 7919) % 5000) * KiB) | 0,
    anon: ((i * 31) % 2000) * KiB,
    file: (5000 - ((i * 13) % 4000)) * KiB,
    activeFile: (i % 100) * KiB,
    inactiveFile: ((i * 3) % 100) * KiB,
    fileDirty: (i % 7 === 0 ? 0 : i % 500) * KiB,
    fileWriteback: (i % 11) * KiB,
    shmem: 4 * MiB,
    kernel: (2000 + (i % 50)) * KiB,
    swap: i % 300 < 150 ? -1 : (i % 300) * KiB,
    peak: i < 10 ? -1 : (110 * MiB + i * KiB) | 0,
    oomKills: Math.floor(i / 400),
    limitHits: Math.floor(i / 3),
    highHits: 0,
    psiSome: i % 20 === 0 ? -1 : (i * 17) % 10_000,
    psiFull: (i * 5) % 3000,
    self: 0,
  });
}

describe('process names', () => {
  it('names a Node 24 process, which the kernel calls MainThread, and its OOM kill by its program', () => {
    const file = writeCapture((writer) => {
      writer.sample(0, sampleValues({ usage: MiB }));
      // As the tracker writes it: the name at once, argv when read, and a rename seen as a new start.
      writer.processStart(5, 200, 1, 'node', []);
      writer.processStart(8, 200, 1, 'node', ['/usr/local/bin/node', 'etl.mjs']);
      writer.processStart(40, 200, 1, 'MainThread', ['/usr/local/bin/node', 'etl.mjs']);
      writer.processStart(50, 201, 200, 'MainThread', ['node', 'worker.mjs']);
      writer.processStart(60, 202, 200, 'MainThread', []);
      writer.event({
        kind: 'oom-kill',
        timeMs: 90,
        count: 3,
        victims: [
          { pid: 201, name: 'MainThread' },
          { pid: 202, name: 'MainThread' },
          { pid: 999, name: 'MainThread' },
        ],
      });
    });
    const capture = readCapture(file);
    expect(capture.processes.map((track) => [track.pid, track.name])).toEqual([
      [200, 'node'],
      [201, 'node'],
      // No argv read yet: the kernel's name is all there is.
      [202, 'MainThread'],
    ]);
    expect(capture.events[0]).toMatchObject({
      victims: [
        { pid: 201, name: 'node' },
        { pid: 202, name: 'MainThread' },
        { pid: 999, name: 'MainThread' },
      ],
    });
  });
});

function timeOf(i: number): number {
  return i * 100 + (i % 3);
}

function expectSample(capture: Capture, index: number, expected: SampleValues, timeMs: number): void {
  const actual = Object.fromEntries(
    SAMPLE_FIELDS.map((field) => [field, capture.series.values[field][index]]),
  );
  expect({ timeMs: capture.series.timeMs[index], ...actual }).toEqual({ timeMs, ...expected });
}

function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Index (0-based) of the line holding cgroup sample `n`, counting samples from 0. */
function sampleLineIndex(lines: string[], n: number): number {
  let seen = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\[\d|^\["K"/.test(line)) seen++;
    if (seen === n) return i;
  }
  throw new Error(`no sample ${n}`);
}

describe('readCapture round trip', () => {
  it('decodes every record type with exact values', () => {
    const header = captureHeader({ component: 'scheduler' });
    const samples = [
      sampleValues({ usage: 10 * MiB, anon: 6 * MiB, file: 3 * MiB, kernel: MiB, psiSome: 0, psiFull: 0 }),
      sampleValues({
        usage: 20 * MiB,
        anon: 9 * MiB,
        file: 8 * MiB,
        activeFile: 5 * MiB,
        inactiveFile: 3 * MiB,
        fileDirty: 2 * MiB,
        fileWriteback: 512 * KiB,
        shmem: MiB,
        kernel: 2 * MiB,
        swap: 0,
        peak: 21 * MiB,
        oomKills: 1,
        limitHits: 7,
        highHits: 2,
        psiSome: 1234,
        psiFull: 56,
        self: 0,
      }),
      sampleValues({ usage: 15 * MiB, anon: 5 * MiB, file: 8 * MiB, swap: -1, peak: 21 * MiB, oomKills: 1 }),
    ];
    const file = writeCapture((writer) => {
      writer.sample(0, samples[0]!);
      writer.processStart(5, 100, 1, 'sh', ['sh', '-c', 'python etl.py']);
      writer.processMemory(10, processMemory(100, { rssAnon: 2 * MiB, rssFile: MiB, rssShmem: 0, swap: 0 }));
      writer.sample(100, samples[1]!);
      writer.processStart(120, 100, 1, 'python', ['python', 'etl.py']);
      writer.processMemory(
        150,
        processMemory(100, { rssAnon: 30 * MiB, rssFile: 4 * MiB, rssShmem: MiB, swap: 8 * KiB }),
      );
      writer.processPss(160, 100, { pss: 20 * MiB, pssAnon: 15 * MiB, pssFile: 4 * MiB, pssShmem: MiB });
      writer.processMemory(180, processMemory(100, { rssAnon: 10 * MiB, rssFile: 4 * MiB }));
      writer.event({ kind: 'oom-kill', timeMs: 190, count: 1, victims: [{ pid: 101, name: 'worker' }] });
      writer.event({ kind: 'limit-hit', timeMs: 191, count: 7, total: 7 });
      writer.event({ kind: 'limit-change', timeMs: 192, limit: 512 * MiB, high: null });
      writer.event({ kind: 'note', timeMs: 193, message: 'ran out of patience' });
      writer.sample(205, samples[2]!);
      writer.processExit(210, 100);
      writer.processStart(220, 100, 1, 'reused', ['reused']);
      writer.end(
        230,
        endRecord({
          exitCode: 1,
          status: 1,
          durationMs: 228,
          peakBytes: 22 * MiB,
          oomKills: 1,
          limitHits: 7,
        }),
      );
    }, header);

    const capture = readCapture(file);
    expect(capture.file).toBe(file);
    expect(capture.header).toEqual(header);
    expect(capture.truncated).toBe(false);
    expect(capture.warnings).toEqual([]);
    expect(capture.series.length).toBe(3);
    expectSample(capture, 0, samples[0]!, 0);
    expectSample(capture, 1, samples[1]!, 100);
    expectSample(capture, 2, samples[2]!, 205);

    expect(capture.processes).toHaveLength(2);
    const [python, reused] = capture.processes;
    expect(python).toEqual({
      pid: 100,
      ppid: 1,
      name: 'python',
      argv: ['python', 'etl.py'],
      startMs: 5,
      endMs: 210,
      samples: {
        timeMs: [10, 150, 180],
        anon: [2 * MiB, 30 * MiB, 10 * MiB],
        file: [MiB, 4 * MiB, 4 * MiB],
        shmem: [0, MiB, 0],
        swap: [0, 8 * KiB, 0],
      },
      peakRss: 35 * MiB,
      peakRssMs: 150,
      pss: { timeMs: 160, pss: 20 * MiB, pssAnon: 15 * MiB, pssFile: 4 * MiB, pssShmem: MiB },
    });
    expect(reused).toMatchObject({ pid: 100, name: 'reused', startMs: 220, endMs: null, peakRssMs: null });
    expect(capture.processByPid.get(100)).toBe(reused);

    expect(capture.events).toEqual([
      { kind: 'oom-kill', timeMs: 190, count: 1, victims: [{ pid: 101, name: 'worker' }] },
      { kind: 'limit-hit', timeMs: 191, count: 7, total: 7 },
      { kind: 'limit-change', timeMs: 192, limit: 512 * MiB, high: null },
      { kind: 'note', timeMs: 193, message: 'ran out of patience' },
    ]);
    expect(capture.end).toEqual({
      exitCode: 1,
      signal: null,
      status: 1,
      durationMs: 228,
      peakBytes: 22 * MiB,
      oomKills: 1,
      limitHits: 7,
    });
    expect(capture.lastTimeMs).toBe(230);
  });

  it('decodes deltas exactly across keyframe boundaries', () => {
    const count = KEYFRAME_EVERY * 2 + 300;
    const file = writeCapture((writer) => {
      for (let i = 0; i < count; i++) writer.sample(timeOf(i), wavySample(i));
      writer.end(timeOf(count), endRecord());
    });
    const lines = readText(file).split('\n');
    expect(lines[1]).toMatch(/^\["K",/);
    expect(lines[1 + KEYFRAME_EVERY]).toMatch(/^\["K",/);
    expect(lines[2 + KEYFRAME_EVERY]).toMatch(/^\[\d/);

    const capture = readCapture(file);
    expect(capture.warnings).toEqual([]);
    expect(capture.series.length).toBe(count);
    for (let i = 0; i < count; i++) expectSample(capture, i, wavySample(i), timeOf(i));
  });

  it('reads files larger than its read chunk the same as parseCapture', () => {
    const argv = ['node', 'x'.repeat(3 * MiB)];
    const file = writeCapture((writer) => {
      for (let i = 0; i < 20_000; i++) {
        writer.sample(timeOf(i), wavySample(i));
        if (i === 15_000) writer.processStart(timeOf(i), 7, 1, 'node', argv);
      }
    });
    expect(fs.statSync(file).size).toBeGreaterThan(3 * MiB);
    const fromFile = readCapture(file);
    expect(fromFile).toEqual(parseCapture(readText(file), file));
    expect(fromFile.series.length).toBe(20_000);
    expect(fromFile.processes[0]?.argv).toEqual(argv);
    expectSample(fromFile, 19_999, wavySample(19_999), timeOf(19_999));
  });
});

describe('readCapture on damaged captures', () => {
  function fiftySamples(): string {
    return writeCapture((writer) => {
      for (let i = 0; i < 50; i++) writer.sample(timeOf(i), wavySample(i));
      writer.processStart(4000, 9, 1, 'job', ['job']);
      writer.end(5000, endRecord({ durationMs: 4990 }));
    });
  }

  it('ignores a torn last line and keeps every earlier sample', () => {
    const file = fiftySamples();
    const text = readText(file);
    const cut = text.length - 20;
    fs.writeFileSync(file, text.slice(0, cut));

    const capture = readCapture(file);
    expect(capture.truncated).toBe(true);
    expect(capture.end).toBeUndefined();
    expect(capture.warnings).toContain('last line (53) is incomplete (torn write), ignored');
    expect(
      capture.warnings.some((w) => w.startsWith('capture is truncated: it ends without an END record')),
    ).toBe(true);
    expect(capture.series.length).toBe(50);
    for (let i = 0; i < 50; i++) expectSample(capture, i, wavySample(i), timeOf(i));
    expect(capture.processes.map((p) => p.name)).toEqual(['job']);
    expect(parseCapture(text.slice(0, cut), file)).toEqual(capture);
  });

  it('ignores a sample line cut in half', () => {
    const file = fiftySamples();
    const lines = readText(file).split('\n');
    const torn = `${lines.slice(0, 31).join('\n')}\n${lines[31]!.slice(0, 9)}`;
    const capture = parseCapture(torn, file);
    expect(capture.truncated).toBe(true);
    expect(capture.series.length).toBe(30);
    expectSample(capture, 29, wavySample(29), timeOf(29));
  });

  it('marks a capture without an END record as truncated and says how far it goes', () => {
    const file = writeCapture((writer) => {
      writer.sample(0, wavySample(0));
      writer.sample(12_300, wavySample(1));
    });
    const capture = readCapture(file);
    expect(capture.truncated).toBe(true);
    expect(capture.end).toBeUndefined();
    expect(capture.warnings).toEqual([
      'capture is truncated: it ends without an END record (headroom was killed or is still running); read up to 12.3 s',
    ]);
    expect(capture.series.length).toBe(2);
  });

  it('skips a garbage line and resynchronizes the series at the next keyframe', () => {
    const count = KEYFRAME_EVERY + 200;
    const file = writeCapture((writer) => {
      for (let i = 0; i < count; i++) {
        writer.sample(timeOf(i), wavySample(i));
        if (i === 150) {
          writer.processStart(timeOf(i), 42, 1, 'worker', ['worker']);
          writer.processMemory(timeOf(i), processMemory(42, { rssAnon: 3 * MiB }));
        }
        if (i === 160) writer.event({ kind: 'note', timeMs: timeOf(i), message: 'still here' });
      }
      writer.end(timeOf(count), endRecord());
    });
    const lines = readText(file).split('\n');
    const damaged = sampleLineIndex(lines, 100);
    lines[damaged] = '[12,0,3,{"garbage';
    const keyframeLine = sampleLineIndex(lines, KEYFRAME_EVERY) + 1;
    fs.writeFileSync(file, lines.join('\n'));

    const capture = readCapture(file);
    expect(capture.truncated).toBe(false);
    expect(capture.warnings).toEqual([
      `line ${damaged + 1} is not valid JSON, skipped`,
      `${KEYFRAME_EVERY - 101} cgroup samples after line ${damaged + 1} skipped until the keyframe on line ${keyframeLine}`,
    ]);
    expect(capture.series.length).toBe(count - (KEYFRAME_EVERY - 100));
    for (let i = 0; i < 100; i++) expectSample(capture, i, wavySample(i), timeOf(i));
    for (let i = KEYFRAME_EVERY; i < count; i++) {
      expectSample(capture, i - (KEYFRAME_EVERY - 100), wavySample(i), timeOf(i));
    }
    // Records other than samples between the damage and the keyframe are still read.
    expect(capture.processes[0]?.samples.anon).toEqual([3 * MiB]);
    expect(capture.events).toEqual([{ kind: 'note', timeMs: timeOf(160), message: 'still here' }]);
  });

  it('skips well-formed JSON that is not a valid record; only a possible sample breaks the series', () => {
    const file = writeCapture((writer) => {
      for (let i = 0; i < 5; i++) writer.sample(timeOf(i), wavySample(i));
      writer.end(1000, endRecord());
    });
    const lines = readText(file).split('\n');
    lines.splice(3, 0, '["p",10,"not a pid"]', '["Z",10]', '"just a string"', '');
    fs.writeFileSync(file, lines.join('\n'));
    const capture = readCapture(file);
    expect(capture.warnings).toEqual([
      'line 4 is not a valid process memory record, skipped',
      'line 5 has an unknown record type "Z", skipped',
      'line 6 is not a capture record, skipped',
      '3 cgroup samples after line 6 skipped: no keyframe followed',
    ]);
    expect(capture.series.length).toBe(2);
  });

  it('counts damaged lines past the first few instead of listing them all', () => {
    const header = JSON.stringify(captureHeader());
    const text = `${header}\n${'nonsense\n'.repeat(40)}`;
    const capture = parseCapture(text, 'x.hrc');
    expect(capture.warnings).toHaveLength(7);
    expect(capture.warnings).toContain('35 more damaged lines skipped');
  });
});

describe('readCapture on files that are not captures', () => {
  /** The error's code, and its message after the file name it starts with. */
  function errorFor(content: string | Buffer, name = 'x.json'): { code: ErrorCode; reason: string } {
    const file = path.join(captureDir(), name);
    fs.writeFileSync(file, content);
    try {
      readCapture(file);
    } catch (error) {
      if (!isHeadroomError(error)) throw error;
      expect(error.message.startsWith(`${file}: `)).toBe(true);
      expect(error.message).not.toContain('\n');
      expect(error.details).toEqual({ path: file });
      return { code: error.code, reason: error.message.slice(file.length + 2) };
    }
    throw new Error('readCapture did not throw');
  }

  it('rejects an empty file', () => {
    expect(errorFor('')).toEqual({ code: 'E_NOT_A_CAPTURE', reason: 'empty file, not a headroom capture' });
  });

  it('rejects random bytes', () => {
    const bytes = randomBytes(256 * KiB);
    bytes[0] = 0x89;
    expect(errorFor(bytes)).toEqual({
      code: 'E_NOT_A_CAPTURE',
      reason: 'not a headroom capture (first line is not a capture header)',
    });
    expect(errorFor(Buffer.concat([Buffer.from('{'), randomBytes(4096)])).reason).toBe(
      'not a headroom capture (first line is not a capture header)',
    );
  });

  it('rejects a JSON file that is not a capture', () => {
    expect(errorFor('{"name": "headroom", "version": "0.1.0"}\n').reason).toBe(
      'not a headroom capture (first line is not a capture header)',
    );
    expect(errorFor('[1, 2, 3]\n').reason).toBe(
      'not a headroom capture (first line is not a capture header)',
    );
  });

  it('names the version of a capture from a newer headroom', () => {
    const header = { ...captureHeader(), version: 2 };
    expect(errorFor(`${JSON.stringify(header)}\n[1,2]\n`)).toEqual({
      code: 'E_CAPTURE_VERSION',
      reason: 'capture format version 2 is newer than this headroom reads (version 1); upgrade headroom',
    });
  });

  it('says when the header itself was cut off or is damaged', () => {
    const header = JSON.stringify(captureHeader());
    expect(errorFor(header.slice(0, 60))).toEqual({
      code: 'E_CAPTURE_DAMAGED',
      reason: 'capture header is incomplete (headroom stopped while writing it)',
    });
    const { cgroup: _cgroup, ...noCgroup } = captureHeader();
    expect(errorFor(`${JSON.stringify(noCgroup)}\n`)).toEqual({
      code: 'E_CAPTURE_DAMAGED',
      reason: 'capture header is damaged (cgroup)',
    });
  });

  it('reports a missing file in one line', () => {
    const file = path.join(captureDir(), 'missing.hrc');
    expect(() => readCapture(file)).toThrow(`${file}: cannot read: no such file`);
    expect(() => readCapture(file)).toThrow(
      expect.objectContaining({ code: 'E_CAPTURE_READ', details: { path: file, errno: 'ENOENT' } }),
    );
    expect(() => readCapture(captureDir())).toThrow(/is a directory/);
  });

  it('accepts a header with a torn first record after it', () => {
    const capture = parseCapture(`${JSON.stringify(captureHeader())}\n["K",0,1`);
    expect(capture.truncated).toBe(true);
    expect(capture.series.length).toBe(0);
  });
});
