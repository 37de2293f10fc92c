/**
 * The flight recorder against real cgroups below this process's own: a cgroup OOM-killed beside idle
 * ones gets exactly one post-mortem, which summary reads like a run's capture.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import {
  createChildCgroup,
  locateMemoryCgroup,
  type MemoryCgroup,
  realHost,
  removeCgroup,
} from '../../src/kernel/index.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { FlightRecorder } from '../../src/serve/flight-recorder.js';
import { PostmortemStore } from '../../src/serve/postmortem-store.js';

const MiB = 1024 * 1024;
const located = locateMemoryCgroup('self');
const self = located.ok ? located.cgroup : undefined;
const writable = self !== undefined && !self.readOnly && process.getuid?.() === 0;
const jobs = path.resolve(__dirname, '../fixtures/jobs');

let made: string[] = [];
let children: ChildProcess[] = [];
let recorder: FlightRecorder | undefined;
let scratch: string | undefined;

afterEach(async () => {
  recorder?.stop();
  recorder = undefined;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  children = [];
  for (const dir of made.reverse()) {
    if (!removeCgroup(dir)) throw new Error(`test cgroup ${dir} could not be removed`);
  }
  made = [];
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

function cgroup(parent: MemoryCgroup, name: string, memory?: number): MemoryCgroup {
  const result = createChildCgroup(parent, name, memory ? { memory, memorySwap: memory } : {});
  if (!result.ok) throw new Error(result.reason);
  made.push(result.cgroup.dir);
  return result.cgroup;
}

/** Starts `argv` inside `group`: it joins before exec, so all its memory is charged there. */
function startIn(group: MemoryCgroup, argv: string[]): ChildProcess {
  const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group.dir, ...argv], {
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

async function until<T>(what: string, probe: () => T | undefined, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${seconds} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!writable)('FlightRecorder on real cgroups', () => {
  it('writes one post-mortem for the cgroup that was OOM-killed, none for the idle ones', async () => {
    if (!self) return;
    const top = cgroup(self, `headroom-test-${process.pid}-recorder`);
    const idle = [0, 1, 2].map((n) => cgroup(top, `idle-${n}`));
    for (const group of idle) startIn(group, ['sleep', '120']);
    const leaking = cgroup(top, 'leaking', 96 * MiB);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-recorder-'));
    const store = new PostmortemStore({ dir: path.join(scratch, 'pm') });
    const notes: string[] = [];
    recorder = new FlightRecorder({ top, host: realHost, store, note: (line) => notes.push(line) });
    recorder.start();
    await until('every cgroup to be watched', () => (recorder?.size.cgroups === 5 ? true : undefined));
    // 8 MiB every 100 ms: about a second of growth before the limit, all of it sampled.
    const victim = startIn(leaking, ['python3', path.join(jobs, 'grow.py'), '8', '0.1', '100']);
    const [, signal] = (await once(victim, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe('SIGKILL');
    const [file] = await until('the post-mortem', () => {
      const files = store.list();
      return files.length > 0 ? files : undefined;
    });
    expect(file?.id).toMatch(/^leaking-\d{8}T\d{6}\.\d{3}Z\.jsonl$/);
    expect(notes.some((line) => line.includes('post-mortem of the OOM kill in'))).toBe(true);

    const capture = readCapture(path.join(store.dir, file?.id ?? ''));
    const summary = summarize(capture);
    expect(summary.truncated).toBe(false);
    expect(summary.oomKilled).toBe(true);
    expect(summary.postmortem?.name).toBe(`${top.path}/leaking`);
    expect(summary.oomKills.map((kill) => kill.name)).toEqual(['python3']);
    expect(path.basename(summary.command[0] ?? '')).toMatch(/^python3/);
    expect(summary.command.slice(1)).toEqual([path.join(jobs, 'grow.py'), '8', '0.1', '100']);
    expect(summary.limit.bytes).toBe(96 * MiB);
    expect(summary.peak.breakdown.anon).toBeGreaterThan(0.6 * 96 * MiB);
    expect(summary.verdict.kind).toBe('anon-growth');
    // The seconds before the kill, at the fine rate once the cgroup passed 80 % of its limit.
    const before = capture.series.timeMs.filter((t) => t <= (capture.header.postmortem?.killedMs ?? 0));
    expect(before.length).toBeGreaterThanOrEqual(5);

    // One kill, one post-mortem: nothing for the idle cgroups or the parent, after a further listing.
    const ticks = recorder.written + recorder.refused;
    await until('another listing', () => (recorder && recorder.size.cgroups === 5 ? true : undefined));
    expect(store.list()).toHaveLength(1);
    expect(recorder.written + recorder.refused).toBe(ticks);
  });
});
