/**
 * Against the machine's own cgroup hierarchy. Test cgroups are made only below the cgroup this process
 * is in, and removed after each test whatever happened.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChildLimits,
  effectiveLimit,
  KeptOpenFile,
  type MemoryCgroup,
  openCgroupReader,
  ProcessReader,
  parseProcCgroup,
  readArgvAsync,
  readCgroupPids,
  readPss,
  removeCgroup,
  writeCgroupFile,
} from '../../src/kernel/index.js';
import { MiB } from '../fixtures/cgroup-tree.js';
import { canMakeCgroups, ownCgroup, useTestCgroups } from '../helpers/test-cgroups.js';

const self = ownCgroup;
const cgroups = useTestCgroups();
const opened: Array<{ close(): void }> = [];

afterEach(() => {
  for (const file of opened.splice(0)) file.close();
});

let counter = 0;
function makeChild(limits: ChildLimits): MemoryCgroup {
  const cgroup = cgroups.make(`headroom-test-${process.pid}-${counter++}`, limits);
  expect(path.dirname(cgroup.dir)).toBe(self?.dir);
  return cgroup;
}

const spawnChild = (command: string, args: string[]): ChildProcess => cgroups.start([command, ...args]);

function readFile(cgroup: MemoryCgroup, name: string): string {
  return fs.readFileSync(path.join(cgroup.dir, name), 'latin1').trim();
}

describe.runIf(process.platform === 'linux')('the real machine', () => {
  it('locates this process in a memory cgroup whose directory exists and lists this process', () => {
    expect(self).toBeDefined();
    if (!self) return;
    expect(fs.statSync(self.dir).isDirectory()).toBe(true);
    const memberships = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'latin1'), '/proc/self/cgroup');
    const expectedPath =
      self.version === 1
        ? memberships.find((m) => m.controllers.includes('memory'))?.path
        : memberships.find((m) => m.hierarchyId === 0)?.path;
    expect(self.path).toBe(expectedPath);
    const procs = new KeptOpenFile(path.join(self.dir, 'cgroup.procs'));
    opened.push(procs);
    expect(readCgroupPids(procs.file)).toContain(process.pid);
  });

  it('reads the effective limit and a sample of its own cgroup', () => {
    if (!self) return;
    const limit = effectiveLimit(self);
    expect(limit.levels[0]?.path).toBe(self.path);
    expect(limit.levels.at(-1)?.path).toBe('/');
    const reader = openCgroupReader(self);
    opened.push(reader);
    const sample = reader.read();
    expect(sample.usage).toBeGreaterThan(0);
    expect(sample.anon).toBeGreaterThan(0);
    expect(sample.peak).toBeGreaterThan(0);
  });
});

describe.runIf(canMakeCgroups && self?.version === 1)(
  'a child cgroup on the real cgroup v1 hierarchy',
  () => {
    it('is version 1, below our own cgroup', () => {
      expect(self?.version).toBe(1);
      expect(fs.existsSync(self?.dir ?? '/nonexistent')).toBe(true);
    });

    it('is created with memory.limit_in_bytes = 64 MiB, holds a moved process, and is removed', async () => {
      const cgroup = makeChild({ memory: 64 * MiB });
      expect(cgroup.path).toBe(`${self?.path}/${path.basename(cgroup.dir)}`);
      expect(readFile(cgroup, 'memory.limit_in_bytes')).toBe('67108864');
      const limit = effectiveLimit(cgroup);
      expect(limit.bytes).toBe(64 * MiB);
      expect(limit.source).toEqual({
        version: 1,
        path: cgroup.path,
        depth: 0,
        file: 'memory.limit_in_bytes',
      });

      // Opened and read before the process joins, as a sampler does, and re-read at once after.
      const procs = new KeptOpenFile(path.join(cgroup.dir, 'cgroup.procs'));
      opened.push(procs);
      expect(readCgroupPids(procs.file)).toEqual([]);
      const sleeper = spawnChild('sleep', ['60']);
      await once(sleeper, 'spawn');
      const pid = sleeper.pid ?? 0;
      writeCgroupFile(cgroup, 'cgroup.procs', String(pid));
      expect(readCgroupPids(procs.file)).toEqual([pid]);

      const reader = new ProcessReader(pid);
      opened.push(reader);
      // Deadlines, not vitest's 1 s default: on a loaded machine the exec, and the loader's first page of
      // sleep after it, can come seconds after the spawn.
      await expect.poll(() => reader.read()?.name, { timeout: 15_000 }).toBe('sleep');
      await expect.poll(() => reader.read()?.rssFile ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
      const memory = reader.read();
      expect(memory?.pid).toBe(pid);
      expect(memory?.ppid).toBe(process.pid);
      expect(await readArgvAsync(pid)).toEqual(['sleep', '60']);
      expect(readPss(pid)?.pss).toBeGreaterThan(0);

      const sample = openCgroupReader(cgroup);
      opened.push(sample);
      expect(sample.read().limit).toBe(64 * MiB);

      sleeper.kill('SIGKILL');
      await once(sleeper, 'exit');
      expect(reader.read()).toBeUndefined();
      // The kernel drops the task from the cgroup as it releases it, which may trail the reaping a little.
      await expect.poll(() => readCgroupPids(procs.file), { timeout: 15_000 }).toEqual([]);
      procs.close();
      sample.close();
      expect(removeCgroup(cgroup.dir)).toBe(true);
      expect(fs.existsSync(cgroup.dir)).toBe(false);
    });

    it('a reader opened before the job sees its usage and peak through the kept-open files', async () => {
      const cgroup = makeChild({ memory: 64 * MiB });
      const reader = openCgroupReader(cgroup);
      opened.push(reader);
      const before = reader.read();
      expect(before.usage).toBeLessThan(MiB);
      const job = spawnChild('sh', [
        '-c',
        'echo $$ > "$1/cgroup.procs" && exec dd if=/dev/zero of=/dev/null bs=16M count=1 status=none',
        'sh',
        cgroup.dir,
      ]);
      const [code] = (await once(job, 'exit')) as [number | null];
      expect(code).toBe(0);
      const after = reader.read();
      expect(after.peak).toBeGreaterThanOrEqual(16 * MiB);
      expect(after.oomKills).toBe(0);
      expect(after.limitHits).toBe(0);
    });

    it('applies memory+swap as memsw, and null as unlimited', () => {
      if (!fs.existsSync(path.join(self?.dir ?? '', 'memory.memsw.limit_in_bytes'))) return;
      const limited = makeChild({ memory: 64 * MiB, memorySwap: 96 * MiB });
      expect(readFile(limited, 'memory.memsw.limit_in_bytes')).toBe(String(96 * MiB));
      expect(effectiveLimit(limited).swapBytes).toBe(32 * MiB);
      const unlimited = makeChild({ memory: 64 * MiB, memorySwap: null });
      expect(readFile(unlimited, 'memory.memsw.limit_in_bytes')).toBe('9223372036854771712');
      expect(effectiveLimit(unlimited).swapBytes).toBeNull();
    });

    it('counts an OOM kill, limit hits and the peak of a job that outgrows its limit', async () => {
      // No memsw limit: with memsw equal to memory the charge fails on memsw, which recent kernels do not
      // count in any failcnt.
      const cgroup = makeChild({ memory: 32 * MiB });
      // The shell joins the cgroup before exec, so every page dd touches is charged to it.
      const job = spawnChild('sh', [
        '-c',
        'echo $$ > "$1/cgroup.procs" && exec dd if=/dev/zero of=/dev/null bs=128M count=1',
        'sh',
        cgroup.dir,
      ]);
      const [code, signal] = (await once(job, 'exit')) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
      const reader = openCgroupReader(cgroup);
      opened.push(reader);
      const sample = reader.read();
      expect(sample.oomKills).toBe(1);
      expect(sample.limitHits).toBeGreaterThan(0);
      expect(sample.peak).toBeGreaterThan(24 * MiB);
      expect(sample.peak).toBeLessThanOrEqual(32 * MiB);
      expect(sample.limit).toBe(32 * MiB);
    });
  },
);
