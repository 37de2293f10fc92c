// 1. Observer overhead: wall time of a job under `headroom run` over the same job run bare.
import fs from 'node:fs';
import path from 'node:path';
import { TestCgroup } from './lib/cgroup.mjs';
import { headroomArgs, JOBS, timed } from './lib/spawn.mjs';
import { median, medianInterval } from './lib/stats.mjs';

const JOB_SECONDS = 10;

/**
 * Runs each variant once per round, rotating the order from round to round and reversing it every other
 * cycle (ABBA for two), so that drift of a noisy machine falls on all variants alike. Returns the wall
 * times of each variant, in rounds.
 */
async function sideBySide(rounds, variants) {
  const times = variants.map(() => []);
  for (let round = 0; round < rounds; round++) {
    let order = variants.map((_, i) => (i + round) % variants.length);
    if (Math.floor(round / variants.length) % 2 === 1) {
      order = order.reverse();
    }
    for (const i of order) times[i].push(await variants[i](round));
  }
  return times;
}

/** ROUNDS for bench/jobs/alloc.mjs that take about `seconds` when run bare. */
async function calibrate(seconds) {
  const probe = 150;
  const times = [];
  for (let i = 0; i < 2; i++) {
    times.push(await timed(process.execPath, [path.join(JOBS, 'alloc.mjs'), `${probe}`]));
  }
  // node's boot is part of the probe; it stays a fixed part of the real job too.
  const boot = await timed(process.execPath, ['-e', '']);
  const perRound = (median(times) - boot) / probe;
  return Math.max(probe, Math.round((seconds * 1000 - boot) / perRound));
}

export async function run({ tmp, log, quick }) {
  const captures = path.join(tmp, 'overhead');
  fs.mkdirSync(captures, { recursive: true });
  const capture = (name, i) => {
    const file = path.join(captures, `${name}-${i}.hrc`);
    fs.rmSync(file, { force: true });
    return file;
  };

  log('overhead: startup (headroom run -- true vs true)');
  const [startupBase, startupSubject] = await sideBySide(quick ? 4 : 10, [
    () => timed('/bin/true', []),
    (i) => timed(process.execPath, headroomArgs(capture('true', i), ['/bin/true'])),
  ]);

  const rounds = await calibrate(quick ? 2 : JOB_SECONDS);
  const job = [process.execPath, path.join(JOBS, 'alloc.mjs'), String(rounds)];
  log(`overhead: allocation job (${job.slice(1).join(' ')}): bare, in a cgroup of its own, under headroom`);
  // The job in a cgroup of its own, joined the way headroom joins it, but nobody sampling: separates
  // what the cgroup costs from what headroom's sampling costs.
  const cgroup = new TestCgroup('overhead');
  let allocBase;
  let allocCgroup;
  let allocSubject;
  try {
    const procs = path.join(cgroup.dir, 'cgroup.procs');
    [allocBase, allocCgroup, allocSubject] = await sideBySide(quick ? 3 : 6, [
      () => timed(job[0], job.slice(1)),
      () => timed('/bin/sh', ['-c', 'echo $$ > "$0" || exit 1; exec "$@"', procs, ...job]),
      (i) => timed(process.execPath, headroomArgs(capture('alloc', i), job)),
    ]);
  } finally {
    cgroup.destroy();
  }

  const startupBare = median(startupBase);
  const startupHeadroom = median(startupSubject);
  const startupCost = startupHeadroom - startupBare;
  const bare = median(allocBase);
  const inCgroup = median(allocCgroup);
  const observed = median(allocSubject);
  const pairRatios = allocSubject.map((value, i) => value / allocBase[i]);
  const cgroupRatios = allocCgroup.map((value, i) => value / allocBase[i]);
  // Each round's ratio compares runs made seconds apart: drift cancels better than in a ratio of medians.
  const ratio = median(pairRatios);
  const sampleLines = fs
    .readFileSync(path.join(captures, 'alloc-0.hrc'), 'latin1')
    .split('\n')
    .filter((line) => /^\[(-?\d|"K")/.test(line)).length;
  const list = (values) => values.map((r) => r.toFixed(3)).join(' ');
  return [
    {
      id: 'overhead.startup',
      name: 'startup: headroom run -- true',
      unit: 'ms',
      subject: startupHeadroom,
      baseline: startupBare,
      ratio: startupHeadroom / startupBare,
      target: null,
      note: `fixed cost ${startupCost.toFixed(0)} ms per run`,
      samples: { subject: startupSubject, baseline: startupBase },
    },
    {
      id: 'overhead.alloc',
      name: `wall time, allocation job ~${(bare / 1000).toFixed(1)} s`,
      unit: 'ms',
      subject: observed,
      baseline: bare,
      ratio,
      interval: medianInterval(pairRatios),
      target: { max: 1.02, of: 'ratio' },
      note:
        `ratio of medians ${(observed / bare).toFixed(3)}, without startup ` +
        `${((observed - startupCost) / bare).toFixed(3)}; per-round ratios ${list(pairRatios)}; ` +
        `under headroom / cgroup only ${(observed / inCgroup).toFixed(3)}; ${sampleLines} samples per run`,
      samples: { subject: allocSubject, baseline: allocBase, roundRatios: pairRatios },
      extra: {
        rounds,
        startupCostMs: startupCost,
        ratioWithoutStartup: (observed - startupCost) / bare,
        ratioOfMedians: observed / bare,
      },
    },
    {
      id: 'overhead.cgroup-only',
      name: 'wall time, same job in own cgroup, unobserved',
      unit: 'ms',
      subject: inCgroup,
      baseline: bare,
      ratio: median(cgroupRatios),
      interval: medianInterval(cgroupRatios),
      target: null,
      note: `per-round ratios ${list(cgroupRatios)}`,
      samples: { subject: allocCgroup, baseline: allocBase, roundRatios: cgroupRatios },
    },
  ];
}
