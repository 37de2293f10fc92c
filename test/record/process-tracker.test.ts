import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCapture } from '../../src/record/capture-reader.js';
import { CaptureWriter } from '../../src/record/capture-writer.js';
import { ProcessTracker } from '../../src/record/process-tracker.js';
import { captureHeader } from '../fixtures/captures.js';
import { scratchDir, sleep } from '../helpers/run-cli.js';

let scratch: { dir: string; cleanup: () => void };
let children: ChildProcess[] = [];
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
  children = [];
  scratch.cleanup();
});

function exited(child: ChildProcess): Promise<unknown> | undefined {
  return child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined;
}

// The interpreter itself, not a version manager's shim that may run it as a child.
const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
  encoding: 'utf8',
}).trim();

function start(script: string): number {
  const child = spawn(python, ['-c', script], { stdio: 'ignore' });
  children.push(child);
  return child.pid ?? 0;
}

describe('ProcessTracker on real processes', () => {
  it('records a growing process on sweeps, an idle one once a second, and exits when they leave', async () => {
    const file = path.join(scratch.dir, 'c.jsonl');
    const writer = new CaptureWriter(file, captureHeader());
    const tracker = new ProcessTracker(writer, new Set(), 0, 10);
    const grower = start(
      'import time\nheld = []\nfor i in range(12):\n    held.append(b"x" * (4 << 20)); time.sleep(0.1)\ntime.sleep(30)',
    );
    const idle = start('import time; time.sleep(30)');
    await sleep(150);
    tracker.sync(0, [grower, idle]);
    for (let tick = 1; tick <= 15; tick++) {
      await sleep(100);
      tracker.sample(tick * 100, true);
    }
    children[1]?.kill('SIGKILL');
    await exited(children[1] as ChildProcess);
    const vanished = tracker.sync(1600, [grower]);
    expect(vanished.map((v) => v.pid)).toEqual([idle]);
    tracker.close();
    writer.close();

    const capture = parseCapture(fs.readFileSync(file, 'utf8'));
    const growing = capture.processByPid.get(grower);
    expect(growing?.samples.anon.length).toBeGreaterThan(5);
    expect(growing?.peakRss).toBeGreaterThan(48 * 1024 * 1024);
    expect(capture.processByPid.get(idle)?.endMs).toBe(1600);
  });

  it('on quiet ticks reads one process in quietEvery, so each is still read once a second', async () => {
    const file = path.join(scratch.dir, 'c.jsonl');
    const writer = new CaptureWriter(file, captureHeader());
    const tracker = new ProcessTracker(writer, new Set(), 0, 10);
    const pids = Array.from({ length: 4 }, () => start('import time; time.sleep(30)'));
    await sleep(200);
    tracker.sync(0, pids);
    for (const child of children.slice(0, 2)) child.kill('SIGKILL');
    await Promise.all(children.slice(0, 2).map(exited));
    // Ten quiet ticks visit every process once: the two killed ones are found gone.
    const gone: number[] = [];
    for (let tick = 1; tick <= 10; tick++) gone.push(...tracker.sample(tick * 100, false).map((v) => v.pid));
    expect(gone.sort()).toEqual(pids.slice(0, 2).sort());
    expect(tracker.count).toBe(2);
    tracker.close();
    writer.close();
  });

  it('takes the argv after an exec of the same program when it first saw the process before the exec', async () => {
    // python3 re-executing python3, as a multiprocessing spawn worker starts: the name stays python3.
    const go = path.join(scratch.dir, 'go');
    const pid = start(
      `import os, sys, time\nwhile not os.path.exists(${JSON.stringify(go)}): time.sleep(0.01)\n` +
        `os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(30)', 'the-worker'])`,
    );
    const file = path.join(scratch.dir, 'c.jsonl');
    const writer = new CaptureWriter(file, captureHeader());
    const tracker = new ProcessTracker(writer, new Set(), 0, 1);
    tracker.sync(0, [pid]);
    // A look before the exec, as on a busy machine where the exec comes late, must not end the watch.
    tracker.sample(50, true);
    fs.writeFileSync(go, '');
    const deadline = Date.now() + 10_000;
    while (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').at(-2) !== 'the-worker') {
      if (Date.now() > deadline) throw new Error('the process did not exec within 10 s');
      await sleep(10);
    }
    tracker.sample(1000, false);
    // argv is read off the tick (cmdline takes the memory map lock an OOM can hold): wait for the read.
    await tracker.argvSettled();
    tracker.close();
    writer.close();

    const capture = parseCapture(fs.readFileSync(file, 'utf8'));
    expect(capture.processByPid.get(pid)?.argv.at(-1)).toBe('the-worker');
  });

  it('records argv as it arrives, and reads it at close for a process whose read never came back', async () => {
    const pid = start('import time; time.sleep(30)');
    const file = path.join(scratch.dir, 'c.jsonl');
    const writer = new CaptureWriter(file, captureHeader());
    const tracker = new ProcessTracker(writer, new Set(), 0, 1);
    tracker.sync(0, [pid]);
    await tracker.argvSettled();
    writer.flush();
    const seen = parseCapture(fs.readFileSync(file, 'utf8')).processByPid.get(pid);
    expect(seen?.argv).toEqual([python, '-c', 'import time; time.sleep(30)']);

    // A second process closed before its read returned: close reads it, so the capture still has it.
    const late = start('import time; time.sleep(31)');
    tracker.sync(100, [pid, late]);
    tracker.close();
    await tracker.argvSettled();
    writer.close();
    const capture = parseCapture(fs.readFileSync(file, 'utf8'));
    expect(capture.processByPid.get(late)?.argv.at(-1)).toBe('import time; time.sleep(31)');
    expect(capture.processes.filter((p) => p.pid === pid)).toHaveLength(1);
  });
});
