// 13. The flight recorder (`headroom exporter --postmortems`): its CPU over 500 idle memory cgroups and
// with 20 of them above 80 % of their limit, against a bare read of the same files once a second; its
// VmRSS; and the time from an OOM kill to the post-mortem on disk, over 20 kills.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeCgroup } from '../dist/kernel/index.js';
import { ownMemoryCgroup, V1_FILES } from './lib/cgroup.mjs';
import { cpuNanos, memoryStatus } from './lib/proc.mjs';
import { HEADROOM } from './lib/spawn.mjs';
import { MIB, median, medianInterval, sleep } from './lib/stats.mjs';

const COUNT = 500;
const HOT = 20;
const KILLS = 20;
const WINDOW_S = 2;

/** The baseline: every file a full read takes, of every cgroup, read whole and not parsed; ms. */
function bareRead(dirs) {
  const started = performance.now();
  for (const dir of dirs) {
    for (const file of V1_FILES) {
      try {
        fs.readFileSync(path.join(dir, file));
      } catch {
        // not on this kernel
      }
    }
  }
  return performance.now() - started;
}

/**
 * The recorder's CPU (all its threads, schedstat) as a share of one core in each WINDOW_S of `seconds`:
 * the median and its interval, next to the bare read's median at 1 Hz. The bare read runs in this
 * process, so it does not count against the recorder. Two-second windows, since quiet cgroups are read
 * every other second.
 */
async function cpuShare(pid, dirs, seconds, bareReads = true) {
  const bare = [];
  const shares = [];
  let cpu = cpuNanos(pid);
  let at = performance.now();
  for (let s = 0; s < seconds; s += WINDOW_S) {
    for (let second = 0; second < WINDOW_S; second++) {
      const began = performance.now();
      if (bareReads) bare.push(bareRead(dirs));
      await sleep(1000 - (performance.now() - began));
    }
    const cpuNow = cpuNanos(pid);
    const now = performance.now();
    shares.push((cpuNow - cpu) / 1e6 / (now - at));
    cpu = cpuNow;
    at = now;
  }
  return {
    share: median(shares),
    interval: medianInterval(shares),
    bareShare: bareReads ? median(bare) / 1000 : null,
    shares,
  };
}

const percent = ({ low, high, coverage }) => ({ low: low * 100, high: high * 100, coverage });

function startIn(dir, argv) {
  return spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...argv], {
    stdio: 'ignore',
  });
}

function setLimit(dir, bytes) {
  fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(bytes));
}

export async function run({ log, quick }) {
  const own = ownMemoryCgroup();
  if (own.version !== 1) throw new Error('the recorder benchmark needs the cgroup v1 memory controller');
  const top = path.join(own.dir, `hrbench-${process.pid}-recorder`);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-postmortems-'));
  fs.mkdirSync(top);
  const children = [];
  const dirs = [top];
  try {
    for (let i = 0; i < COUNT - 1; i++) {
      const dir = path.join(top, `c${i}`);
      fs.mkdirSync(dir);
      dirs.push(dir);
    }
    const killer = path.join(top, 'c0');
    setLimit(killer, 48 * MIB);
    log(`recorder: ${COUNT} cgroups made`);
    const seconds = quick ? 6 : 40;
    const recorder = spawn(
      process.execPath,
      [
        HEADROOM,
        'exporter',
        '--listen',
        '127.0.0.1:0',
        '--cgroup-root',
        top,
        '--postmortems',
        out,
        '--postmortems-per-hour',
        String(KILLS * 2),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(recorder);
    let stderr = '';
    recorder.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    for (let waited = 0; !stderr.includes('recording every cgroup'); waited += 50) {
      if (waited > 30_000) throw new Error(`the recorder did not start: ${stderr}`);
      await sleep(50);
    }
    // Settle: the first listing and reads, and V8's start-up work. Then its first minute, where every
    // cgroup is read each second; after it, those that held still are read every two.
    await sleep(3000);
    const firstMinute = await cpuShare(recorder.pid, dirs, quick ? 6 : 60, false);
    log(`recorder: first minute ${(firstMinute.share * 100).toFixed(2)} % of a core`);
    const idle = await cpuShare(recorder.pid, dirs, seconds);
    log(`recorder: idle ${(idle.share * 100).toFixed(2)} % of a core`);

    // 20 cgroups above 80 % of a 64 MiB limit: sampled at 100 ms, their processes read each second.
    for (let i = 1; i <= HOT; i++) {
      const dir = path.join(top, `c${i}`);
      setLimit(dir, 64 * MIB);
      children.push(startIn(dir, ['python3', '-c', 'import time\nb=bytearray(56<<20)\ntime.sleep(3600)']));
    }
    await sleep(3000);
    const hot = await cpuShare(recorder.pid, dirs, seconds);
    log(`recorder: ${HOT} hot ${(hot.share * 100).toFixed(2)} % of a core`);
    const rss = memoryStatus(recorder.pid);

    // 20 kills, one after another, in a 48 MiB cgroup: from the victim's exit to its post-mortem on disk.
    const latencies = [];
    for (let kill = 0; kill < (quick ? 5 : KILLS); kill++) {
      const before = fs.readdirSync(out).length;
      const victim = startIn(killer, ['python3', '-c', 'b=bytearray(96<<20)']);
      await new Promise((resolve) => victim.once('exit', resolve));
      const exited = performance.now();
      for (let waited = 0; fs.readdirSync(out).length <= before; waited += 5) {
        if (waited > 10_000) throw new Error(`no post-mortem for kill ${kill}: ${stderr}`);
        await sleep(5);
      }
      latencies.push(performance.now() - exited);
      // The next kill must not land in the same settling window.
      await sleep(700);
    }
    return [
      {
        id: 'recorder.cpu-first-minute',
        name: `flight recorder CPU, ${COUNT} new cgroups, first minute`,
        unit: '% core',
        subject: firstMinute.share * 100,
        baseline: null,
        ratio: null,
        interval: percent(firstMinute.interval),
        note: 'median of its 2 s windows from 3 s to 63 s: every cgroup read each second until it has held still a minute',
        samples: { subject: firstMinute.shares },
      },
      {
        id: 'recorder.cpu-idle',
        name: `flight recorder CPU, ${COUNT} idle cgroups`,
        unit: '% core',
        subject: idle.share * 100,
        baseline: idle.bareShare * 100,
        ratio: idle.share / idle.bareShare,
        interval: percent(idle.interval),
        target: { max: 1, of: 'subject' },
        note: `median of ${seconds / WINDOW_S} shares over 2 s after its first minute, exporter not scraped; baseline: reading the same ${V1_FILES.length} files of each cgroup once a second, no parsing`,
        samples: { subject: idle.shares },
      },
      {
        id: 'recorder.cpu-hot',
        name: `flight recorder CPU, ${COUNT} cgroups, ${HOT} above 80 %`,
        unit: '% core',
        subject: hot.share * 100,
        baseline: hot.bareShare * 100,
        ratio: hot.share / hot.bareShare,
        interval: percent(hot.interval),
        target: { max: 2, of: 'subject' },
        note: `median of ${seconds / WINDOW_S} shares over 2 s; the hot ones sampled every 100 ms (in full when usage moves, or each 5 s), their processes read each second while usage moves and each 5 s while it holds still`,
        samples: { subject: hot.shares },
      },
      {
        id: 'recorder.rss',
        name: `flight recorder VmRSS, ${COUNT} cgroups`,
        unit: 'MiB',
        subject: rss.VmRSS / MIB,
        baseline: null,
        ratio: null,
        target: { max: 64, of: 'subject' },
        note: `with ${HOT} fine rings; RssAnon ${(rss.RssAnon / MIB).toFixed(1)} MiB`,
      },
      {
        id: 'recorder.kill-to-postmortem',
        name: `OOM kill to post-mortem on disk, ${latencies.length} kills`,
        unit: 'ms',
        subject: median(latencies),
        baseline: null,
        ratio: null,
        interval: medianInterval(latencies),
        note: `max ${Math.max(...latencies).toFixed(0)} ms; from the victim's exit as its parent sees it; includes the recorder's 300 ms wait for kills counted in ancestors`,
        samples: { subject: latencies },
      },
    ];
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await sleep(500);
    for (const dir of dirs.slice(1)) removeCgroup(dir);
    removeCgroup(top);
    fs.rmSync(out, { recursive: true, force: true });
  }
}
