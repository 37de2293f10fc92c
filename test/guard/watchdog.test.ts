/**
 * The watchdog against real v1 cgroups made below this process's own cgroup, removed after each test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type OnLimit, Watchdog } from '../../src/guard/watchdog.js';
import {
  createChildCgroup,
  effectiveLimit,
  locateMemoryCgroup,
  type MemoryCgroup,
  removeCgroup,
} from '../../src/kernel/index.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { CaptureWriter } from '../../src/record/capture-writer.js';
import { captureDir, captureHeader, MiB, removeCaptureDirs } from '../fixtures/captures.js';
import { type FixtureHost, v2Stat, v2Tree } from '../fixtures/cgroup-tree.js';
import { jobsDir } from '../helpers/run-cli.js';

const located = locateMemoryCgroup('self');
const self = located.ok ? located.cgroup : undefined;
const v1 = self?.version === 1 && !self.readOnly && process.getuid?.() === 0;

const made: string[] = [];
const children: ChildProcess[] = [];
const watchdogs: Watchdog[] = [];
afterEach(async () => {
  for (const watchdog of watchdogs.splice(0)) watchdog.stop();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  for (const dir of made.splice(0)) if (!removeCgroup(dir)) throw new Error(`cannot remove ${dir}`);
});
afterAll(removeCaptureDirs);

let counter = 0;
function makeCgroup(memory: number): MemoryCgroup {
  if (!self) throw new Error('no memory cgroup');
  const result = createChildCgroup(self, `headroom-test-${process.pid}-wd${counter++}`, {
    memory,
    memorySwap: memory,
  });
  if (!result.ok) throw new Error(result.reason);
  made.push(result.cgroup.dir);
  return result.cgroup;
}

function control(cgroup: MemoryCgroup, name: string): string {
  return fs.readFileSync(path.join(cgroup.dir, name), 'latin1');
}

/** Runs a command inside the cgroup from its first instruction. */
function runIn(cgroup: MemoryCgroup, command: string[]): { child: ChildProcess; stdout: () => string } {
  const child = spawn(
    '/bin/sh',
    ['-c', 'echo $$ > "$0"; exec "$@"', path.join(cgroup.dir, 'cgroup.procs'), ...command],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  children.push(child);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return { child, stdout: () => out };
}

function watch(cgroup: MemoryCgroup, onLimit: OnLimit, child: ChildProcess, writer: CaptureWriter): Watchdog {
  const watchdog = new Watchdog({
    cgroup,
    limit: effectiveLimit(cgroup).bytes,
    own: true,
    onLimit,
    threshold: 0.98,
    graceMs: 5000,
    writer,
    startMs: Date.now(),
    terminate: () => child.kill('SIGTERM'),
    kill: () => child.kill('SIGKILL'),
  });
  watchdogs.push(watchdog);
  return watchdog;
}

function newWriter(): CaptureWriter {
  return new CaptureWriter(path.join(captureDir(), 'w.hrc'), captureHeader());
}

function guardActions(writer: CaptureWriter): string[] {
  writer.close();
  return readCapture(writer.file).events.flatMap((e) =>
    e.kind === 'guard-action' ? [`${e.action}: ${e.message}`] : [],
  );
}

describe.runIf(v1)('Watchdog on cgroup v1', () => {
  it('pauses the OOM killer while it watches and switches it back on when stopped', () => {
    const cgroup = makeCgroup(64 * MiB);
    const { child } = runIn(cgroup, ['sleep', '5']);
    const watchdog = watch(cgroup, 'term', child, newWriter());
    expect(watchdog.start()).toMatch(/OOM killer paused/);
    expect(control(cgroup, 'memory.oom_control')).toMatch(/^oom_kill_disable 1$/m);
    watchdog.stop();
    expect(control(cgroup, 'memory.oom_control')).toMatch(/^oom_kill_disable 0$/m);
  });

  it('term: a job frozen at its limit gets room for its SIGTERM handler, exits on its own terms, and the limit goes back', async () => {
    const cgroup = makeCgroup(256 * MiB);
    const writer = newWriter();
    const { child, stdout } = runIn(cgroup, ['python3', path.join(jobsDir, 'alloc-rate.py'), '0']);
    const watchdog = watch(cgroup, 'term', child, writer);
    watchdog.start();
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(stdout()).toBe('stopped cleanly\n');
    expect(control(cgroup, 'memory.oom_control')).toMatch(/^oom_kill 0$/m);
    // Raised a little while the handler ran.
    expect(Number(control(cgroup, 'memory.limit_in_bytes'))).toBeGreaterThan(256 * MiB);
    watchdog.stop();
    expect(Number(control(cgroup, 'memory.limit_in_bytes'))).toBe(256 * MiB);
    expect(Number(control(cgroup, 'memory.memsw.limit_in_bytes'))).toBe(256 * MiB);
    expect(control(cgroup, 'memory.oom_control')).toMatch(/^oom_kill_disable 0$/m);
    const actions = guardActions(writer);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatch(/^term: SIGTERM to the job at \d+ MiB of the 256 MiB limit/);
  });

  it('snapshot: records the job near its limit, then lets the kernel decide as without a watchdog', async () => {
    const cgroup = makeCgroup(128 * MiB);
    const writer = newWriter();
    const { child } = runIn(cgroup, ['python3', path.join(jobsDir, 'alloc-rate.py'), '0']);
    watch(cgroup, 'snapshot', child, writer).start();
    const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe('SIGKILL');
    expect(control(cgroup, 'memory.oom_control')).toMatch(/^oom_kill [1-9]/m);
    const actions = guardActions(writer);
    expect(actions[0]).toMatch(/^snapshot: snapshot at .* largest: python3 \(\d+\) \d+(\.\d+)? MiB anon/);
  });

  it('reclaim: drops page cache at the threshold and puts the limit back', async () => {
    const cgroup = makeCgroup(128 * MiB);
    const writer = newWriter();
    const dir = captureDir();
    const { child } = runIn(cgroup, ['node', path.join(jobsDir, 'write-out.mjs'), dir, '300', '1500']);
    watch(cgroup, 'reclaim', child, writer).start();
    await once(child, 'exit');
    const actions = guardActions(writer);
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.some((a) => /^reclaim: reclaimed [1-9][\d.]* (KiB|MiB) of page cache/.test(a))).toBe(true);
    expect(Number(control(cgroup, 'memory.limit_in_bytes'))).toBe(128 * MiB);
  });
});

describe('Watchdog on cgroup v2 (fixture tree)', () => {
  let fixture: FixtureHost | undefined;
  afterEach(() => {
    fixture?.cleanup();
    fixture = undefined;
  });

  function v2Job(): MemoryCgroup {
    fixture = v2Tree({ '/job': { 'memory.max': 512 * MiB, 'memory.current': 100 * MiB } }, { self: '/job' });
    const result = locateMemoryCgroup('self', fixture.host);
    if (!result.ok) throw new Error(result.message);
    return result.cgroup;
  }

  function grow(cgroup: MemoryCgroup, stat: Record<string, number>, current: number): void {
    fs.writeFileSync(path.join(cgroup.dir, 'memory.current'), String(current));
    fs.writeFileSync(
      path.join(cgroup.dir, 'memory.stat'),
      Object.entries({ ...v2Stat(), ...stat })
        .map(([key, value]) => `${key} ${value}`)
        .join('\n'),
    );
  }

  it('term: memory.high at the threshold first, SIGTERM when what cannot be reclaimed reaches it, memory.high back after', async () => {
    const cgroup = v2Job();
    const writer = newWriter();
    let terminated = 0;
    const watchdog = new Watchdog({
      cgroup,
      limit: effectiveLimit(cgroup).bytes,
      own: true,
      onLimit: 'term',
      threshold: 0.9,
      graceMs: 60_000,
      writer,
      startMs: Date.now(),
      terminate: () => terminated++,
      kill: () => {},
      intervalMs: 5,
    });
    watchdogs.push(watchdog);
    expect(watchdog.start()).toMatch(/memory\.high at 90% of the limit/);
    expect(control(cgroup, 'memory.high')).toBe(String(Math.floor(0.9 * 512 * MiB)));
    // Near the threshold, but most of it is clean cache: nothing to do.
    grow(cgroup, { anon: 100 * MiB, file: 370 * MiB }, 470 * MiB);
    await sleep(50);
    expect(terminated).toBe(0);
    grow(cgroup, { anon: 470 * MiB, file: 10 * MiB }, 480 * MiB);
    await sleep(50);
    expect(terminated).toBe(1);
    watchdog.stop();
    expect(control(cgroup, 'memory.high')).toBe('max');
    expect(guardActions(writer)).toEqual([
      expect.stringMatching(
        /^term: SIGTERM to the job at 480 MiB of the 512 MiB limit \(470 MiB not reclaimable\)$/,
      ),
    ]);
  });

  it('reclaim: asks memory.reclaim for the clean cache', async () => {
    const cgroup = v2Job();
    fs.writeFileSync(path.join(cgroup.dir, 'memory.reclaim'), '');
    const writer = newWriter();
    const watchdog = new Watchdog({
      cgroup,
      limit: effectiveLimit(cgroup).bytes,
      own: true,
      onLimit: 'reclaim',
      threshold: 0.9,
      graceMs: 1000,
      writer,
      startMs: Date.now(),
      terminate: () => {},
      kill: () => {},
      intervalMs: 5,
    });
    watchdogs.push(watchdog);
    watchdog.start();
    grow(cgroup, { anon: 100 * MiB, file: 400 * MiB, file_dirty: 50 * MiB }, 500 * MiB);
    await sleep(50);
    watchdog.stop();
    // Clean cache only: dirty pages must be written first.
    expect(control(cgroup, 'memory.reclaim')).toBe(String(350 * MiB));
    expect(guardActions(writer)[0]).toMatch(/^reclaim: reclaimed .* at 500 MiB of the 512 MiB limit$/);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
