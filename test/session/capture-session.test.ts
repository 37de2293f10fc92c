import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createChildCgroup,
  effectiveLimit,
  locateMemoryCgroup,
  type MemoryCgroup,
  readHostMemory,
  removeCgroup,
} from '../../src/kernel/index.js';
import { captureHeader } from '../../src/session/capture-header.js';
import { CaptureSession, type SessionPart } from '../../src/session/capture-session.js';
import { useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();
let cgroup: MemoryCgroup;
beforeEach(() => {
  const located = locateMemoryCgroup();
  if (!located.ok) throw new Error(located.message);
  const made = createChildCgroup(located.cgroup, `session-test-${process.pid}`, {});
  if (!made.ok) throw new Error(made.reason);
  cgroup = made.cgroup;
});
afterEach(() => {
  removeCgroup(cgroup.dir);
});

function open(warnings: string[] = []): CaptureSession {
  const startMs = Date.now();
  return new CaptureSession({
    file: path.join(scratch.dir, 'capture.jsonl'),
    header: captureHeader({
      placement: { mode: 'own', cgroup, parent: cgroup },
      limit: effectiveLimit(cgroup),
      hostMemory: readHostMemory(),
      command: ['test'],
      component: null,
      requested: {},
      startMs,
      intervalMs: 20,
      nodeOptions: null,
    }),
    replace: false,
    cgroup,
    recordSelf: false,
    say: () => {},
    warn: (line) => warnings.push(line),
  });
}

/** A part that logs each step it is given, and throws in the steps named in `fails`. */
function logging(name: string, log: string[], fails: string[] = []): SessionPart {
  const step = (what: string) => () => {
    if (what !== 'tick' || !log.includes(`${name}.tick`)) log.push(`${name}.${what}`);
    if (fails.includes(what)) throw new Error(`${name} broke in ${what}`);
  };
  return {
    name,
    start: step('start'),
    tick: step('tick'),
    stop: step('stop'),
    flush: step('flush'),
    abandon: step('abandon'),
  };
}

async function ticked(log: string[], name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!log.includes(`${name}.tick`)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for a tick of ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('CaptureSession', () => {
  it('starts, ticks, stops and flushes its parts in list order, and ends the capture', async () => {
    const log: string[] = [];
    const session = open();
    session.add(logging('a', log), logging('b', log));
    session.start();
    await ticked(log, 'b');
    session.stop();
    session.end({ exitCode: 0, signal: null, status: 0 });
    const recorded = await session.readBack();
    expect(log).toEqual(['a.start', 'b.start', 'a.tick', 'b.tick', 'a.stop', 'b.stop', 'a.flush', 'b.flush']);
    expect(recorded?.end).toMatchObject({ exitCode: 0, status: 0 });
    expect(recorded?.series.length).toBeGreaterThanOrEqual(2);
  });

  it('a part that fails is warned about once, and neither the other parts nor the end record suffer', async () => {
    const log: string[] = [];
    const warnings: string[] = [];
    const session = open(warnings);
    session.add(logging('broken', log, ['start', 'tick', 'stop', 'flush']), logging('sound', log));
    session.start();
    await ticked(log, 'sound');
    await ticked(log, 'broken');
    session.stop();
    session.end({ exitCode: 3, signal: null, status: 3 });
    const recorded = await session.readBack();
    expect(log.filter((entry) => entry.startsWith('sound.'))).toEqual([
      'sound.start',
      'sound.tick',
      'sound.stop',
      'sound.flush',
    ]);
    expect(warnings).toEqual(['broken failed: broken broke in start']);
    expect(recorded?.end).toMatchObject({ exitCode: 3, status: 3 });
  });

  it('abandoned before anything ran: the parts release what they hold and no capture is left', () => {
    const log: string[] = [];
    const session = open();
    session.add(logging('a', log));
    session.abandon();
    expect(log).toEqual(['a.abandon']);
    expect(fs.existsSync(path.join(scratch.dir, 'capture.jsonl'))).toBe(false);
  });
});
