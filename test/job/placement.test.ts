import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanStaleCgroups, placeJob } from '../../src/job/placement.js';
import { createChildCgroup, locateMemoryCgroup, removeCgroup } from '../../src/kernel/index.js';
import { type FixtureHost, MiB, v2Tree } from '../fixtures/cgroup-tree.js';
import { headroomError } from '../helpers/errors.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

describe('placeJob on cgroup v2 fixture trees', () => {
  it('observes a read-only tree and says why', () => {
    fixture = v2Tree(
      { '/kubepods/pod1/c1': { 'memory.max': String(512 * MiB) } },
      { self: '/kubepods/pod1/c1', readOnly: true },
    );
    const placement = placeJob({ host: fixture.host });
    expect(placement.mode).toBe('observe');
    if (placement.mode === 'observe') expect(placement.reason).toMatch(/read-only/);
    expect(placement.cgroup.path).toBe('/kubepods/pod1/c1');
  });

  it('refuses --memory on a read-only tree with the reason, in one message', () => {
    fixture = v2Tree({ '/c1': {} }, { self: '/c1', readOnly: true });
    const host = fixture.host;
    expect(() => placeJob({ memory: 256 * MiB, host })).toThrow(headroomError('E_NO_OWN_CGROUP'));
    expect(() => placeJob({ memory: 256 * MiB, host })).toThrow(
      /--memory needs a cgroup of the job's own, and .*read-only/,
    );
  });

  it('without a memory controller: E_NO_MEMORY_CONTROLLER, in words', () => {
    fixture = v2Tree({ '/c1': {} }, { self: '/c1' });
    fixture.write('/sys/fs/cgroup/c1/cgroup.controllers', 'cpu io pids\n');
    const host = fixture.host;
    expect(() => placeJob({ host })).toThrow(headroomError('E_NO_MEMORY_CONTROLLER'));
    expect(() => placeJob({ host })).toThrow(
      /^cannot observe memory: no memory cgroup controller is mounted/,
    );
  });

  it('makes a child with the limits where the tree is writable', () => {
    fixture = v2Tree({ '/user.slice/u': {} }, { self: '/user.slice/u' });
    const placement = placeJob({ memory: 256 * MiB, memorySwap: 256 * MiB, host: fixture.host });
    expect(placement.mode).toBe('own');
    expect(path.basename(placement.cgroup.dir)).toMatch(new RegExp(`^headroom-${process.pid}-`));
    expect(fs.readFileSync(path.join(placement.cgroup.dir, 'memory.max'), 'latin1')).toBe(String(256 * MiB));
    expect(fs.readFileSync(path.join(placement.cgroup.dir, 'memory.swap.max'), 'latin1')).toBe('0');
  });

  it('--observe with --memory is an error', () => {
    fixture = v2Tree({ '/c1': {} }, { self: '/c1' });
    expect(() => placeJob({ observe: true, memory: 64 * MiB, host: fixture?.host })).toThrow(
      /drop --observe/,
    );
  });
});

describe('cleanStaleCgroups on the real v1 hierarchy', () => {
  it('removes empty cgroups of dead headroom processes and leaves busy ones and live ones alone', async () => {
    const located = locateMemoryCgroup();
    if (!located.ok) throw new Error(located.message);
    // A parent of this test's own: a headroom run by another test file beside this one cleans stale
    // cgroups below the shared test cgroup at its start, and would take these fake ones first.
    const made = createChildCgroup(located.cgroup, `placement-test-${process.pid}`, {});
    if (!made.ok) throw new Error(made.reason);
    const parent = made.cgroup;
    const dead = path.join(parent.dir, 'headroom-999999999-test');
    const busy = path.join(parent.dir, 'headroom-999999998-test');
    const alive = path.join(parent.dir, `headroom-${process.pid}-test`);
    for (const dir of [dead, busy, alive]) fs.mkdirSync(dir);
    const sleeper = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(path.join(busy, 'cgroup.procs'), String(sleeper.pid));
      const notes = cleanStaleCgroups(parent);
      expect(fs.existsSync(dead)).toBe(false);
      expect(fs.existsSync(busy)).toBe(true);
      expect(fs.existsSync(alive)).toBe(true);
      expect(notes).toContain('removed stale cgroup headroom-999999999-test left by an earlier run');
      expect(notes).toContain(
        `stale cgroup headroom-999999998-test from an earlier run still holds processes ${sleeper.pid}; left alone`,
      );
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
      for (const dir of [dead, busy, alive, parent.dir]) removeCgroup(dir);
    }
  });
});
