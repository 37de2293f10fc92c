// 3 and 4. headroom's own CPU and memory while it samples a job of 100 idle processes at 10 Hz, beside a
// bare poller doing the minimum reads (CPU baseline) and an idle node (memory baseline).
import fs from 'node:fs';
import path from 'node:path';
import { ownMemoryCgroup } from './lib/cgroup.mjs';
import { CLK_TCK, cpuNanos, cpuTicks, memoryStatus } from './lib/proc.mjs';
import { headroomArgs, JOBS, start } from './lib/spawn.mjs';
import { MIB, median, sleep } from './lib/stats.mjs';

const PROCESSES = 100;

/** A shell job of exactly `count` processes: itself, count-2 background sleeps and one foreground sleep. */
export function sleepersJob(count, seconds) {
  const script =
    `pids=""; i=2; while [ $i -lt ${count} ]; do sleep 600 & pids="$pids $!"; i=$((i+1)); done; ` +
    `sleep ${seconds}; kill $pids`;
  return ['/bin/sh', '-c', script];
}

async function once({ tmp, rep, seconds, from, to }) {
  const capture = path.join(tmp, `self-${rep}.hrc`);
  fs.rmSync(capture, { force: true });
  const headroom = start(process.execPath, headroomArgs(capture, sleepersJob(PROCESSES, seconds)));
  const hpid = headroom.child.pid;
  const poller = start(process.execPath, [
    path.join(JOBS, 'bare-poller.mjs'),
    ownMemoryCgroup().dir,
    String(hpid),
  ]);
  const ppid = poller.child.pid;
  const t0 = headroom.started;
  const at = (ms) => sleep(Math.max(0, t0 + ms - performance.now()));

  const memory = { headroom: [], poller: [], idle: [] };
  const readMemory = (idlePid) => {
    const h = memoryStatus(hpid);
    if (h) memory.headroom.push(h);
    const p = memoryStatus(ppid);
    if (p) memory.poller.push(p);
    const i = idlePid && memoryStatus(idlePid);
    if (i) memory.idle.push(i);
  };
  const cpu = () => ({
    t: performance.now(),
    headroom: cpuTicks(hpid),
    poller: cpuTicks(ppid),
    headroomNs: cpuNanos(hpid),
    pollerNs: cpuNanos(ppid),
  });

  await at(from * 1000);
  const first = cpu();
  // The memory baseline: an idle node, side by side, read as often as headroom.
  const idle = start(process.execPath, ['-e', 'setTimeout(()=>{},3000)']);
  for (let ms = from * 1000 + 500; ms < to * 1000; ms += 500) {
    await at(ms);
    readMemory(idle.child.pid);
  }
  await at(to * 1000);
  const last = cpu();
  const [exit] = await Promise.all([headroom.done, poller.done, idle.done]);
  if (exit.code !== 0) throw new Error(`headroom exited with ${exit.code ?? exit.signal}`);

  const text = fs.readFileSync(capture, 'latin1');
  const seen = new Set();
  for (const line of text.split('\n')) if (line.startsWith('["P"')) seen.add(JSON.parse(line)[2]);
  const wall = (last.t - first.t) / 1000;
  const max = (list, key) => Math.max(...list.map((status) => status[key]));
  return {
    processes: seen.size,
    wallSeconds: wall,
    headroomCpu: (last.headroom - first.headroom) / CLK_TCK / wall,
    pollerCpu: (last.poller - first.poller) / CLK_TCK / wall,
    headroomCpuNs: (last.headroomNs - first.headroomNs) / 1e9 / wall,
    pollerCpuNs: (last.pollerNs - first.pollerNs) / 1e9 / wall,
    startupCpuSeconds: first.headroom / CLK_TCK,
    headroomRss: max(memory.headroom, 'VmRSS'),
    headroomAnon: max(memory.headroom, 'RssAnon'),
    headroomHwm: max(memory.headroom, 'VmHWM'),
    pollerRss: max(memory.poller, 'VmRSS'),
    pollerAnon: max(memory.poller, 'RssAnon'),
    idleRss: max(memory.idle, 'VmRSS'),
    idleAnon: max(memory.idle, 'RssAnon'),
    readings: memory.headroom.length,
    captureBytes: text.length,
    capture,
  };
}

export async function run({ tmp, log, quick }) {
  const reps = quick ? 1 : 3;
  const seconds = quick ? 8 : 20;
  const [from, to] = quick ? [2, 7] : [2, 18];
  const runs = [];
  for (let rep = 0; rep < reps; rep++) {
    log(`self: headroom sampling ${PROCESSES} idle processes for ${seconds} s (${rep + 1}/${reps})`);
    runs.push(await once({ tmp, rep, seconds, from, to }));
  }
  const m = (key) => median(runs.map((r) => r[key]));
  const pct = (x) => x * 100;
  return [
    {
      id: 'self.cpu',
      name: `headroom CPU, ${m('processes')} procs at 10 Hz`,
      unit: '% core',
      subject: pct(m('headroomCpu')),
      baseline: pct(m('pollerCpu')),
      ratio: m('headroomCpu') / m('pollerCpu'),
      target: { max: 1, of: 'subject' },
      note:
        `from ${from} s to ${to} s of each run; schedstat: headroom ${pct(m('headroomCpuNs')).toFixed(2)} %, ` +
        `bare poller ${pct(m('pollerCpuNs')).toFixed(2)} %; per run ` +
        `${runs.map((r) => pct(r.headroomCpu).toFixed(2)).join(' ')} %; ` +
        `startup CPU ${m('startupCpuSeconds').toFixed(2)} s (baseline: node reading the same files, no parsing)`,
      samples: { subject: runs.map((r) => pct(r.headroomCpu)), baseline: runs.map((r) => pct(r.pollerCpu)) },
      extra: { runs: runs.map(({ capture, ...rest }) => rest) },
    },
    {
      id: 'self.rss',
      name: 'headroom VmRSS, 100 procs',
      unit: 'MiB',
      subject: m('headroomRss') / MIB,
      baseline: m('idleRss') / MIB,
      ratio: m('headroomRss') / m('idleRss'),
      target: { max: 50, of: 'subject' },
      note:
        `max of ${m('readings')} readings per run; VmHWM ${(m('headroomHwm') / MIB).toFixed(1)} MiB; ` +
        `bare poller ${(m('pollerRss') / MIB).toFixed(1)} MiB (baseline: idle node)`,
      samples: { subject: runs.map((r) => r.headroomRss / MIB), baseline: runs.map((r) => r.idleRss / MIB) },
    },
    {
      id: 'self.anon',
      name: 'headroom RssAnon, 100 procs',
      unit: 'MiB',
      subject: m('headroomAnon') / MIB,
      baseline: m('idleAnon') / MIB,
      ratio: m('headroomAnon') / m('idleAnon'),
      target: { max: 16, of: 'subject' },
      note: `bare poller ${(m('pollerAnon') / MIB).toFixed(1)} MiB (baseline: idle node)`,
      samples: {
        subject: runs.map((r) => r.headroomAnon / MIB),
        baseline: runs.map((r) => r.idleAnon / MIB),
      },
    },
  ];
}
