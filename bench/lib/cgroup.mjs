import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createChildCgroup, locateMemoryCgroup, removeCgroup } from '../../dist/kernel/index.js';
import { sleep } from './stats.mjs';

/** The files a full read of a v1 memory cgroup takes (src/kernel/cgroup-reader.ts), for bare baselines. */
export const V1_FILES = [
  'memory.usage_in_bytes',
  'memory.stat',
  'memory.limit_in_bytes',
  'memory.max_usage_in_bytes',
  'memory.failcnt',
  'memory.oom_control',
  'memory.memsw.usage_in_bytes',
  'memory.memsw.limit_in_bytes',
  'memory.memsw.failcnt',
  'memory.kmem.usage_in_bytes',
];

const live = new Set();

/** The memory cgroup this process is in: test cgroups are made only below it. */
export function ownMemoryCgroup() {
  const located = locateMemoryCgroup('self');
  if (!located.ok) throw new Error(`benchmarks need a memory cgroup: ${located.message}`);
  return located.cgroup;
}

/**
 * A memory cgroup made for a benchmark below our own, filled with idle processes. Always destroy() it;
 * an exit handler destroys any left over if the benchmark fails half way.
 */
export class TestCgroup {
  constructor(tag) {
    const parent = ownMemoryCgroup();
    const name = `hrbench-${process.pid}-${tag}-${Date.now().toString(36)}`;
    const created = createChildCgroup(parent, name, {});
    if (!created.ok) throw new Error(`cannot make a test cgroup: ${created.reason}`);
    this.cgroup = created.cgroup;
    this.dir = created.cgroup.dir;
    this.procsFile = path.join(this.dir, 'cgroup.procs');
    this.leaders = [];
    live.add(this);
  }

  pids() {
    try {
      return fs.readFileSync(this.procsFile, 'latin1').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Adds `count` processes that sleep (a shell joins the cgroup, forks count-1 sleeps, execs one more). */
  async fill(count, timeoutMs = 60_000) {
    const before = this.pids().length;
    const script = `echo $$ > "$0" || exit 1; i=1; while [ $i -lt ${count} ]; do sleep 600 & i=$((i+1)); done; exec sleep 600`;
    // Its own process group, so that destroy() can kill the lot with one signal.
    const child = spawn('/bin/sh', ['-c', script, this.procsFile], { stdio: 'ignore', detached: true });
    child.unref();
    this.leaders.push(child.pid);
    const deadline = Date.now() + timeoutMs;
    while (this.pids().length < before + count) {
      if (Date.now() > deadline) throw new Error(`only ${this.pids().length} of ${before + count} processes`);
      await sleep(20);
    }
    // Let the shell finish its exec so that every process is a settled `sleep`.
    await sleep(100);
  }

  destroy() {
    if (!live.has(this)) return;
    live.delete(this);
    for (const leader of this.leaders) {
      try {
        process.kill(-leader, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (let round = 0; round < 5; round++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (!removeCgroup(this.dir, 200)) process.stderr.write(`bench: could not remove ${this.dir}\n`);
  }
}

export function destroyAllTestCgroups() {
  for (const cgroup of [...live]) cgroup.destroy();
}

process.on('exit', destroyAllTestCgroups);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    destroyAllTestCgroups();
    process.exit(130);
  });
}
