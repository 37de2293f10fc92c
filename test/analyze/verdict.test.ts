import { afterAll, describe, expect, it } from 'vitest';
import { type Summary, summarize } from '../../src/analyze/summarize.js';
import type { CaptureHeader } from '../../src/record/capture-format.js';
import { readCapture } from '../../src/record/capture-reader.js';
import type { CaptureWriter, SampleValues } from '../../src/record/capture-writer.js';
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

function summaryOf(build: (writer: CaptureWriter) => void, header: CaptureHeader = captureHeader()): Summary {
  return summarize(readCapture(writeCapture(build, header)));
}

/** 30 samples 100 ms apart with values from at(i), and one process per entry of `procs` (pid → anon at i). */
function run(
  writer: CaptureWriter,
  at: (i: number) => Partial<SampleValues>,
  procs: Array<{ pid: number; ppid: number; name: string; anon: (i: number) => number }> = [],
): void {
  for (const p of procs) writer.processStart(0, p.pid, p.ppid, p.name, [p.name]);
  for (let i = 0; i < 30; i++) {
    writer.sample(i * 100, sampleValues(at(i)));
    for (const p of procs)
      writer.processMemory(i * 100, processMemory(p.pid, { ppid: p.ppid, name: p.name, rssAnon: p.anon(i) }));
  }
}

function killAt(writer: CaptureWriter, pid: number, name: string): void {
  writer.sample(3000, sampleValues({ usage: 2 * MiB, oomKills: 1 }));
  writer.event({ kind: 'oom-kill', timeMs: 3000, count: 1, victims: [{ pid, name }] });
  writer.processExit(3000, pid);
  writer.end(
    3100,
    endRecord({ exitCode: null, signal: 'SIGKILL', status: 137, durationMs: 3100, oomKills: 1 }),
  );
}

const severe = (summary: Summary) => summary.findings.filter((f) => f.severity !== 'info').map((f) => f.kind);

describe('the verdict', () => {
  it('a steady job well under its limit is healthy and carries no warning', () => {
    const summary = summaryOf((writer) => {
      run(writer, () => ({ usage: 60 * MiB, anon: 50 * MiB, file: 8 * MiB }), [
        { pid: 10, ppid: 1, name: 'node', anon: () => 50 * MiB },
      ]);
      writer.end(3000, endRecord({ durationMs: 3000 }));
    });
    expect(summary.verdict.kind).toBe('healthy');
    expect(summary.verdict.cause).toMatch(/^Healthy: peak 60\.0 MiB of 256 MiB \(23%\), no pressure\.$/);
    expect(severe(summary)).toEqual([]);
  });

  it('clean cache near the limit, never reaching it, is healthy', () => {
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({
        usage: (10 + i * 8) * MiB,
        anon: 8 * MiB,
        file: i * 8 * MiB,
        inactiveFile: i * 8 * MiB,
      }));
      writer.end(3000, endRecord({ durationMs: 3000 }));
    });
    expect(summary.verdict.kind).toBe('healthy');
    expect(summary.verdict.cause).toMatch(/page cache the kernel can drop/);
    expect(severe(summary)).toEqual([]);
  });

  it('clean cache that reached the limit is page-cache, harmless', () => {
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({
        usage: Math.min(255, 10 + i * 20) * MiB,
        anon: 8 * MiB,
        file: Math.min(245, i * 20) * MiB,
        limitHits: Math.max(0, i - 12) * 50,
      }));
      writer.end(3000, endRecord({ durationMs: 3000, limitHits: 850 }));
    });
    expect(summary.verdict.kind).toBe('page-cache');
    expect(summary.verdict.cause).toMatch(/Not a leak/);
    expect(severe(summary)).toEqual([]);
  });

  it('a /dev/shm kill is tmpfs, with no runtime false alarm and no size to try', () => {
    // The issue's case: Python wrote /dev/shm, held 8 MiB itself, and was killed at the limit.
    const summary = summaryOf(
      (writer) => {
        run(writer, (i) => ({ usage: (20 + i * 8) * MiB, anon: 10 * MiB, shmem: i * 8 * MiB }), [
          { pid: 20, ppid: 1, name: 'python3', anon: () => 8 * MiB },
        ]);
        killAt(writer, 20, 'python3');
      },
      captureHeader({ command: ['python3', 'fill-shm.py'] }),
    );
    expect(summary.verdict.kind).toBe('tmpfs');
    const kinds = summary.findings.map((f) => f.kind);
    expect(kinds).not.toContain('runtime-heap');
    expect(kinds).not.toContain('right-size');
    expect(kinds.slice(0, 2)).toEqual(['oom-kill', 'shmem']);
    const kill = summary.findings[0];
    expect(kill?.advice[0]).toMatch(/tmpfs/);
    expect(kill?.advice.join(' ')).not.toMatch(/more memory \(see|in chunks/);
  });

  it('a child that holds most of the memory at the kill is child-process, and names it', () => {
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({ usage: (30 + i * 8) * MiB, anon: (28 + i * 8) * MiB }), [
        { pid: 30, ppid: 1, name: 'python3', anon: () => 20 * MiB },
        { pid: 31, ppid: 30, name: 'python3', anon: (i) => (8 + i * 8) * MiB },
        { pid: 32, ppid: 30, name: 'python3', anon: () => 5 * MiB },
      ]);
      killAt(writer, 31, 'python3');
    });
    expect(summary.verdict.kind).toBe('child-process');
    expect(summary.verdict.cause).toMatch(/python3 \(31\)/);
    expect(summary.verdict.evidence.pids).toEqual([31]);
  });

  it('many workers none of which holds most is workers', () => {
    const pids = [41, 42, 43, 44, 45, 46];
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({ usage: (10 + i * 8) * MiB, anon: (8 + i * 8) * MiB }), [
        { pid: 40, ppid: 1, name: 'python3', anon: () => 8 * MiB },
        ...pids.map((pid) => ({ pid, ppid: 40, name: 'python3', anon: (i: number) => (i * 8 * MiB) / 6 })),
      ]);
      killAt(writer, 41, 'python3');
    });
    expect(summary.verdict.kind).toBe('workers');
    expect(summary.verdict.cause).toMatch(/^7 processes together/);
  });

  it('the top process growing to the kill is anon-growth', () => {
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({ usage: (10 + i * 8) * MiB, anon: (8 + i * 8) * MiB }), [
        { pid: 50, ppid: 1, name: 'python3', anon: (i) => (8 + i * 8) * MiB },
      ]);
      killAt(writer, 50, 'python3');
    });
    expect(summary.verdict).toMatchObject({ kind: 'anon-growth', confidence: 'high' });
    expect(summary.verdict.cause).toMatch(
      /^Anonymous memory in python3 \(50\) filled memory: it held 240 MiB/,
    );
  });

  it('does not say a process held more than the anon it is part of, when the kill tore the last sample', () => {
    // The v2 VM's post-mortem: the fullest sample's usage was read before the reaper freed the victim and
    // its memory.stat after, so the process held 240 MiB "of the 100 MiB".
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({ usage: (10 + i * 8) * MiB, anon: i === 29 ? 100 * MiB : (8 + i * 8) * MiB }), [
        { pid: 50, ppid: 1, name: 'python3', anon: (i) => (8 + i * 8) * MiB },
      ]);
      killAt(writer, 50, 'python3');
    });
    expect(summary.verdict.kind).toBe('anon-growth');
    expect(summary.verdict.cause).toMatch(/filled memory: it held 240 MiB of anonymous memory when/);
    expect(summary.verdict.cause).not.toMatch(/of the 100 MiB/);
  });

  it('with no process read near the kill (a slow host), names the OOM killer’s victim', () => {
    const summary = summaryOf((writer) => {
      // The process is known, but its only reading is from its start, long before the kill.
      writer.processStart(0, 60, 1, 'node', ['node']);
      writer.processMemory(0, processMemory(60, { name: 'node', rssAnon: 0 }));
      for (let i = 0; i < 30; i++)
        writer.sample(i * 100, sampleValues({ usage: (10 + i * 8) * MiB, anon: (8 + i * 8) * MiB }));
      writer.event({ kind: 'oom-kill', timeMs: 3000, count: 1, victims: [{ pid: 60, name: 'node' }] });
      writer.end(
        3100,
        endRecord({ exitCode: null, signal: 'SIGKILL', status: 137, durationMs: 3100, oomKills: 1 }),
      );
    });
    expect(summary.verdict.kind).toBe('anon-growth');
    expect(summary.verdict.cause).toMatch(
      /^Anonymous memory in node \(60\), the OOM killer's victim, filled memory/,
    );
    expect(summary.verdict.evidence.pids).toEqual([60]);
  });

  it('names a victim seen gone on the tick of the fullest sample, from its last reading', () => {
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({ usage: (10 + i * 8) * MiB, anon: (8 + i * 8) * MiB }), [
        { pid: 55, ppid: 1, name: 'node', anon: (i) => (8 + i * 8) * MiB },
      ]);
      writer.processExit(2940, 55);
      writer.sample(2950, sampleValues({ usage: 255 * MiB, anon: 250 * MiB }));
      writer.sample(3000, sampleValues({ usage: 2 * MiB, oomKills: 1 }));
      writer.event({ kind: 'oom-kill', timeMs: 3000, count: 1, victims: [{ pid: 55, name: 'node' }] });
      writer.end(
        3100,
        endRecord({ exitCode: null, signal: 'SIGKILL', status: 137, durationMs: 3100, oomKills: 1 }),
      );
    });
    expect(summary.verdict.kind).toBe('anon-growth');
    expect(summary.verdict.cause).toMatch(/^Anonymous memory in node \(55\)/);
  });

  it('kernel memory that fills the limit is kernel-memory', () => {
    const summary = summaryOf((writer) => {
      run(writer, (i) => ({ usage: (10 + i * 8) * MiB, anon: 8 * MiB, kernel: i * 8 * MiB }), [
        { pid: 60, ppid: 1, name: 'python3', anon: () => 8 * MiB },
      ]);
      killAt(writer, 60, 'python3');
    });
    expect(summary.verdict.kind).toBe('kernel-memory');
  });

  it('a kill with one sample before it says the samples were too few, with low confidence', () => {
    // A container killed as it started: the recorder read it once, before it filled.
    const summary = summaryOf((writer) => {
      writer.processStart(0, 61, 1, 'python3', ['python3']);
      writer.sample(0, sampleValues({ usage: 12 * MiB, anon: 2 * MiB, kernel: 9 * MiB }));
      killAt(writer, 61, 'python3');
    });
    expect(summary.verdict.cause).toMatch(/ Only 2 samples were recorded: too few to be sure of this\.$/);
    expect(summary.verdict.confidence).toBe('low');
  });

  it("Node's own heap limit (exit 134) is runtime-heap-limit, not a kill", () => {
    const summary = summaryOf(
      (writer) => {
        run(writer, (i) => ({ usage: (20 + i * 5) * MiB, anon: (18 + i * 5) * MiB }), [
          { pid: 70, ppid: 1, name: 'node', anon: (i) => (18 + i * 5) * MiB },
        ]);
        writer.processExit(3000, 70);
        writer.end(3000, endRecord({ exitCode: null, signal: 'SIGABRT', status: 134, durationMs: 3000 }));
      },
      captureHeader({ command: ['node', 'grow.js'], nodeOptions: '--max-old-space-size=192' }),
    );
    expect(summary.verdict.kind).toBe('runtime-heap-limit');
    expect(summary.verdict.cause).toMatch(/node \(70\) hit V8's own heap limit of 192 MiB \(NODE_OPTIONS\)/);
  });

  it('a limit set on a parent cgroup is parent-limit, and still says what filled it', () => {
    const summary = summaryOf(
      (writer) => {
        run(writer, (i) => ({ usage: (10 + i * 8) * MiB, anon: (8 + i * 8) * MiB }), [
          { pid: 80, ppid: 1, name: 'python3', anon: (i) => (8 + i * 8) * MiB },
        ]);
        killAt(writer, 80, 'python3');
      },
      captureHeader({
        limit: { bytes: 256 * MiB, source: 'memory.max of /pod', depth: 1, high: null, swapBytes: 0 },
        requested: { memory: 1024 * MiB, memorySwap: undefined },
      }),
    );
    expect(summary.verdict.kind).toBe('parent-limit');
    expect(summary.verdict.cause).toMatch(
      /set on a parent cgroup \(memory\.max of \/pod\), below the 1\.00 GiB asked/,
    );
    expect(summary.verdict.cause).toMatch(/python3 \(80\)/);
  });

  it("the guard's MemoryError is the job's own allocation, named with the knob that refused it", () => {
    const summary = summaryOf((writer) => {
      run(writer, () => ({ usage: 12 * MiB, anon: 6 * MiB }), [
        { pid: 90, ppid: 1, name: 'python3', anon: () => 5 * MiB },
      ]);
      writer.event({
        kind: 'guard-knobs',
        timeMs: 0,
        knobs: [{ runtime: 'python', setting: 'RLIMIT_DATA=234881024', bytes: 224 * MiB }],
      });
      writer.event({
        kind: 'guard-action',
        timeMs: 1500,
        action: 'memory-error',
        pid: 90,
        message: 'MemoryError in python (90)',
      });
      writer.end(3000, endRecord({ exitCode: 1, status: 1, durationMs: 3000 }));
    });
    expect(summary.verdict.kind).toBe('anon-growth');
    expect(summary.verdict.cause).toMatch(
      /^python3 \(90\) asked for more memory than the limit holds \(its guard, RLIMIT_DATA 224 MiB\) and got a MemoryError at 1\.50s/,
    );
    expect(summary.findings.map((f) => f.kind)).not.toContain('oom-kill');
  });
});
