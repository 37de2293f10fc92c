/**
 * The flight recorder against real cgroups below this process's own: a cgroup OOM-killed beside idle
 * ones gets exactly one post-mortem, which summary reads like a run's capture.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import { realHost } from '../../src/kernel/index.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { FlightRecorder } from '../../src/serve/flight-recorder.js';
import { PostmortemStore } from '../../src/serve/postmortem-store.js';
import { canMakeCgroups, ownCgroup, until, useTestCgroups } from '../helpers/test-cgroups.js';

const MiB = 1024 * 1024;
const jobs = path.resolve(__dirname, '../fixtures/jobs');
const cgroups = useTestCgroups();
const cgroup = (parent: typeof ownCgroup, name: string, memory?: number) =>
  cgroups.make(name, memory, parent);
const startIn = cgroups.startIn;

let recorder: FlightRecorder | undefined;
let scratch: string | undefined;
afterEach(() => {
  recorder?.stop();
  recorder = undefined;
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** A post-mortem read back: its capture, summary, and the samples of the last seconds before the kill. */
function postmortem(store: PostmortemStore, id: string) {
  const capture = readCapture(path.join(store.dir, id));
  const summary = summarize(capture);
  const killedMs = capture.header.postmortem?.killedMs ?? Number.NaN;
  const lastSeconds = [...capture.series.timeMs].filter((t) => t >= killedMs - 5000 && t <= killedMs);
  return { capture, summary, lastSeconds };
}

describe.skipIf(!canMakeCgroups)('FlightRecorder on real cgroups', () => {
  it('writes exactly two post-mortems for two kills among fifty idle cgroups, each with its cause', {
    timeout: 150_000,
  }, async () => {
    if (!ownCgroup) return;
    const top = cgroup(ownCgroup, `headroom-test-${process.pid}-recorder`);
    for (let n = 0; n < 50; n++) startIn(cgroup(top, `idle-${n}`), ['sleep', '300']);
    const shm = cgroup(top, 'shm-fill', 128 * MiB);
    const anon = cgroup(top, 'anon-grow', 256 * MiB);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-recorder-'));
    const store = new PostmortemStore({ dir: path.join(scratch, 'pm') });
    recorder = new FlightRecorder({ top, host: realHost, store });
    recorder.start();
    await until('every cgroup to be watched', () => (recorder?.size.cgroups === 53 ? true : undefined));

    // Neither started by headroom: /dev/shm past 128 MiB, and anonymous memory past 256 MiB.
    const shmFile = path.join('/dev/shm', `headroom-test-${process.pid}`);
    const writer = startIn(shm, [
      'python3',
      '-c',
      `import time\nf=open(${JSON.stringify(shmFile)},'wb')\nfor i in range(100):\n  f.write(b'x'*(4<<20)); f.flush(); time.sleep(0.05)`,
    ]);
    const grower = startIn(anon, ['python3', path.join(jobs, 'grow.py'), '16', '0.05', '100']);
    // Listened for from the start: the grower is killed first, before the writer's exit is awaited.
    const exits = [writer, grower].map((victim) => once(victim, 'exit'));
    try {
      for (const exit of exits) {
        const [, signal] = (await exit) as [number | null, NodeJS.Signals | null];
        expect(signal).toBe('SIGKILL');
      }
      const files = await until('two post-mortems', () => {
        const list = store.list();
        return list.length >= 2 ? list : undefined;
      });
      const byName = new Map(files.map((file) => [file.id.replace(/-\d{8}T.*$/, ''), file.id]));
      expect([...byName.keys()].sort()).toEqual(['anon-grow', 'shm-fill']);

      const shmCase = postmortem(store, byName.get('shm-fill') ?? '');
      expect(shmCase.summary.oomKilled).toBe(true);
      expect(shmCase.summary.oomKills.map((kill) => kill.name)).toEqual(['python3']);
      expect(shmCase.summary.verdict.kind).toBe('tmpfs');
      expect(shmCase.summary.peak.breakdown.shmem).toBeGreaterThan(0.6 * 128 * MiB);
      expect(shmCase.lastSeconds.length).toBeGreaterThanOrEqual(5);

      const anonCase = postmortem(store, byName.get('anon-grow') ?? '');
      expect(anonCase.summary.oomKilled).toBe(true);
      expect(anonCase.summary.oomKills.map((kill) => kill.name)).toEqual(['python3']);
      expect(anonCase.summary.verdict.kind).toBe('anon-growth');
      expect(anonCase.summary.peak.breakdown.anon).toBeGreaterThan(0.6 * 256 * MiB);
      expect(anonCase.summary.command.slice(1)).toEqual([path.join(jobs, 'grow.py'), '16', '0.05', '100']);
      expect(anonCase.lastSeconds.length).toBeGreaterThanOrEqual(5);

      // Nothing for the idle cgroups or the parent, after a further listing and second.
      const written = recorder.written;
      const settled = Date.now() + 6000;
      await until('a further listing', () => (Date.now() > settled ? true : undefined));
      expect(store.list()).toHaveLength(2);
      expect(recorder.written).toBe(written);
      expect(written).toBe(2);
    } finally {
      fs.rmSync(shmFile, { force: true });
    }
  });

  it('watches a cgroup made after it started at once: one killed a second after its start gets its post-mortem', async () => {
    if (!ownCgroup) return;
    const top = cgroup(ownCgroup, `headroom-test-${process.pid}-late`);
    // A kill from before the recorder started is history, not a post-mortem.
    const before = startIn(cgroup(top, 'killed-before', 32 * MiB), ['python3', '-c', 'b=bytearray(64<<20)']);
    expect((await once(before, 'exit'))[1]).toBe('SIGKILL');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-recorder-'));
    const store = new PostmortemStore({ dir: path.join(scratch, 'pm') });
    recorder = new FlightRecorder({ top, host: realHost, store });
    recorder.start();
    await until('the top to be watched', () => (recorder?.size.cgroups === 2 ? true : undefined));
    // Made and filled at once, as a container that runs out of memory as it starts.
    const late = cgroup(top, 'crash-on-start', 64 * MiB);
    const victim = startIn(late, ['python3', path.join(jobs, 'grow.py'), '16', '0.05', '100']);
    await once(victim, 'exit');
    const [file] = await until('the post-mortem', () => {
      const files = store.list();
      return files.length > 0 ? files : undefined;
    });
    expect(file?.id).toMatch(/^crash-on-start-/);
    expect(store.list()).toHaveLength(1);
    expect(postmortem(store, file?.id ?? '').summary.oomKills.map((kill) => kill.name)).toEqual(['python3']);
  });

  it('writes at most the bound for a cgroup killed over and over, and counts the rest', async () => {
    if (!ownCgroup) return;
    const top = cgroup(ownCgroup, `headroom-test-${process.pid}-loop`);
    const looping = cgroup(top, 'looping', 32 * MiB);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-recorder-'));
    const store = new PostmortemStore({ dir: path.join(scratch, 'pm'), perCgroupPerHour: 3 });
    recorder = new FlightRecorder({ top, host: realHost, store });
    recorder.start();
    await until('both cgroups to be watched', () => (recorder?.size.cgroups === 2 ? true : undefined));
    // 100 kills, one after another, as a crash-looping container gets: about 30 s on a quiet machine.
    const loop = startIn(looping, [
      'sh',
      '-c',
      // tail holds a line with no end in memory: 40 MiB of zeros is one, and small tools start fast. A
      // line just over the limit leaves less to reclaim before each kill than one of twice the limit.
      'for i in $(seq 100); do head -c 41943040 /dev/zero | tail -n 1 >/dev/null 2>&1; done',
    ]);
    await once(loop, 'exit');
    // Kills that land between two reads are seen as one, so count what was seen, not the hundred.
    await until('the recorder to refuse a kill past the bound', () =>
      recorder && recorder.written + recorder.refused >= 4 ? true : undefined,
    );
    expect(recorder?.written).toBe(3);
    expect(recorder?.refused).toBeGreaterThanOrEqual(1);
    expect(store.list()).toHaveLength(3);
  }, 180_000);
});
