// Node allocation profiles (issue 4): what the preload (dist/node-preload.cjs, V8's sampling heap profiler
// streamed to a spool file) costs a Node job, what it adds to its RSS, and whether it names the right
// function. The profiled runs get the preload the way `headroom run --profile` gives it (NODE_OPTIONS and
// HEADROOM_PROFILE_DIR) but without headroom, so only the profiler's cost is measured; the attribution
// runs go through `headroom run --profile` itself.
//   node bench/node-profile.mjs [--quick]   standalone; or through run-all.
import fs from 'node:fs';
import path from 'node:path';
import { profiledTopSite } from './lib/profiled-top-site.mjs';
import { bareEnv, JOBS, ROOT, start } from './lib/spawn.mjs';
import { MIB, median, medianInterval } from './lib/stats.mjs';

const PRELOAD = path.join(ROOT, 'dist/node-preload.cjs');
const LEAK_JOB = path.join(ROOT, 'test/fixtures/jobs/leaky-handler.mjs');

/**
 * Loaded by every run after the preload (NODE_OPTIONS order): at exit it prints the process's wall time
 * from its start, its CPU time, how long the exit listeners before its own took (the profiler's exit
 * snapshot; nothing when bare), its peak RSS, and the RSS the job measured once settled, if it did.
 */
const REPORTER = `
const fs = require('node:fs');
let exitStarted = 0;
process.prependListener('exit', () => { exitStarted = performance.now(); });
process.on('exit', () => {
  const cpu = process.cpuUsage();
  const hwm = /^VmHWM:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'latin1'));
  fs.writeSync(1, JSON.stringify({ wallMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000,
    exitMs: performance.now() - exitStarted, hwm: Number(hwm[1]) * 1024, settledRss: globalThis.settledRss ?? null }) + '\\n');
});
`;

/**
 * The live-heap job: `node job.mjs LIVE_MIB ROUNDS [settle]`. It fills a module-level cache with LIVE_MIB
 * of records (yielding to the event loop between batches, as a service would), then does ROUNDS of
 * allocation-heavy work (short-lived objects, strings, JSON), yielding every round. With `settle` (and
 * --expose-gc) it then idles a second between two full GCs and notes its RSS for the reporter.
 */
const JOB = `
import fs from 'node:fs';
const [liveMiB, rounds, settle] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] === 'settle'];
const cache = [];
function cacheRecord(i) {
  return { id: i, name: 'record-' + i, owner: 'user-' + (i % 1000), tags: [i & 7, i & 15, i & 31],
    scores: new Array(16).fill(i), text: String(i).padStart(400, '-') };
}
function work(round) {
  const temp = [];
  for (let i = 0; i < 20000; i++) temp.push({ i, s: 't' + round + '-' + i, v: [i, round] });
  return JSON.stringify(temp.slice(0, 500)).length;
}
const tick = () => new Promise((resolve) => setImmediate(resolve));
while (process.memoryUsage().heapUsed < liveMiB * 1048576) {
  for (let i = 0; i < 5000; i++) cache.push(cacheRecord(cache.length));
  await tick();
}
let sum = 0;
for (let round = 0; round < rounds; round++) {
  sum += work(round);
  await tick();
}
if (settle) {
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  globalThis.gc();
  globalThis.settledRss = Number(/^VmRSS:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'latin1'))[1]) * 1024;
}
// The cache stays live to the end, as a service's would.
process.on('exit', () => {
  if (sum < 0 || cache.length < 0) console.log(sum);
});
`;

/** Runs a Node job; resolves with what it printed and the wall time from spawn to exit. */
async function runNode(args, env) {
  const { child, done } = start(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  const result = await done;
  if (result.code !== 0)
    throw new Error(`node ${args.join(' ')} exited with ${result.code ?? result.signal}`);
  const report = JSON.parse(stdout.trim().split('\n').at(-1));
  return { ...report, spawnMs: result.wallMs };
}

/** NODE_OPTIONS and HEADROOM_* as for a job headroom does not profile, plus the reporter. */
function withReporter(reporter) {
  return bareEnv(reporter ? `--require ${reporter}` : '');
}

/**
 * The environment `headroom run --profile` gives a job (fresh spool directory), plus the reporter; with
 * an interval, V8's sampling interval in bytes instead of the default.
 */
function profiledEnv(reporter, spool, interval) {
  fs.rmSync(spool, { recursive: true, force: true });
  fs.mkdirSync(spool, { recursive: true });
  const env = {
    ...withReporter(reporter),
    NODE_OPTIONS: `--require ${PRELOAD} --require ${reporter}`,
    HEADROOM_PROFILE_DIR: spool,
    HEADROOM_START_MS: String(Date.now()),
  };
  if (interval) env.HEADROOM_NODE_SAMPLING_INTERVAL = String(interval);
  return env;
}

/** Snapshots the profiled run wrote, by reason ("peak 2, exit 1"), from its spool file. */
function snapshotsIn(spool) {
  const reasons = {};
  for (const name of fs.readdirSync(spool)) {
    for (const line of fs.readFileSync(path.join(spool, name), 'utf8').split('\n')) {
      if (!line.startsWith('["A"')) continue;
      const reason = JSON.parse(line)[2];
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  return reasons;
}

/**
 * Bare runs and profiled runs (one variant per sampling interval given; undefined: the default)
 * interleaved, the order rotating from round to round and reversed every other cycle (ABBA for two), so
 * that drift of a noisy machine falls on all alike.
 */
async function sideBySide(rounds, args, { reporter, spool }, intervals = [undefined]) {
  const bare = [];
  const profiled = intervals.map(() => []);
  const snapshots = intervals.map(() => []);
  const variants = intervals.length + 1;
  for (let round = 0; round < rounds; round++) {
    let order = Array.from({ length: variants }, (_, i) => (i + round) % variants);
    if (Math.floor(round / variants) % 2 === 1) order = order.reverse();
    for (const variant of order) {
      if (variant === 0) {
        bare.push(await runNode(args, withReporter(reporter)));
        continue;
      }
      profiled[variant - 1].push(await runNode(args, profiledEnv(reporter, spool, intervals[variant - 1])));
      snapshots[variant - 1].push(snapshotsIn(spool));
    }
  }
  return intervals.map((_, i) => ({ bare, profiled: profiled[i], snapshots: snapshots[i] }));
}

const list = (values, digits = 3) => values.map((value) => value.toFixed(digits)).join(' ');
const reasonsText = (reasons) =>
  Object.entries(reasons)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');

/** A wall-time row: median of the per-round ratios of spawn-to-exit wall time, with CPU time beside it. */
function costRow(id, name, { bare, profiled, snapshots }, target = { max: 1.03, of: 'ratio' }) {
  const ratios = profiled.map((run, i) => run.spawnMs / bare[i].spawnMs);
  const cpuRatios = profiled.map((run, i) => run.cpuMs / bare[i].cpuMs);
  const exitMs = median(profiled.map((run) => run.exitMs));
  const bareExitMs = median(bare.map((run) => run.exitMs));
  const subject = median(profiled.map((run) => run.spawnMs));
  const baseline = median(bare.map((run) => run.spawnMs));
  return {
    id,
    name,
    unit: 'ms',
    subject,
    baseline,
    ratio: median(ratios),
    interval: medianInterval(ratios),
    target,
    note:
      `per-round wall ratios ${list(ratios)}; CPU time ratio ${median(cpuRatios).toFixed(3)} ` +
      `(${list(cpuRatios)}); exit snapshot ${exitMs.toFixed(0)} ms (bare exit ${bareExitMs.toFixed(0)} ms); ` +
      `snapshots per run: ${snapshots.map(reasonsText).join(' | ')}`,
    samples: {
      subject: profiled.map((r) => r.spawnMs),
      baseline: bare.map((r) => r.spawnMs),
      roundRatios: ratios,
    },
    extra: {
      cpuRatio: median(cpuRatios),
      exitSnapshotMs: exitMs,
      ratioOfMedians: subject / baseline,
      ratioWithoutExitSnapshot: (subject - exitMs + bareExitMs) / baseline,
    },
  };
}

/**
 * ROUNDS for which `args(ROUNDS)` takes about `seconds` bare: the cost of a round from `probe(ROUNDS)`
 * (the same work without its fixed part when that is slow to set up), the fixed part from `args(0)`.
 */
async function calibrate(reporter, args, seconds, probe = args) {
  const rounds = 100;
  const bare = withReporter(reporter);
  const probeMs = median([
    (await runNode(probe(rounds), bare)).spawnMs,
    (await runNode(probe(rounds), bare)).spawnMs,
  ]);
  const perRound = Math.max(0.1, (probeMs - (await runNode(probe(0), bare)).spawnMs) / rounds);
  const fixedMs = (await runNode(args(0), bare)).spawnMs;
  return Math.max(rounds, Math.round((seconds * 1000 - fixedMs) / perRound));
}

/** How often `headroom run --profile` names the leaking request handler as the top site at the end. */
async function attribution(dir, runs) {
  const tops = [];
  for (let i = 0; i < runs; i++) {
    const top = await profiledTopSite({
      capture: path.join(dir, `leak-${i}.jsonl`),
      jobArgs: [LEAK_JOB, '300'],
      env: withReporter(null),
      what: 'leak case',
    });
    tops.push(top?.frame.name ?? '(none)');
  }
  return tops;
}

export async function run({ tmp, log, quick }) {
  const dir = path.join(tmp, 'node-profile');
  fs.mkdirSync(dir, { recursive: true });
  const job = path.join(dir, 'job.mjs');
  fs.writeFileSync(job, JOB);
  const reporter = path.join(dir, 'reporter.cjs');
  fs.writeFileSync(reporter, REPORTER);
  const setup = { reporter, spool: path.join(dir, 'spool') };
  const rows = [];

  // The repository's allocation-heavy job (as in overhead): small objects, strings, JSON, buffers.
  const allocJob = (rounds) => [path.join(JOBS, 'alloc.mjs'), String(rounds)];
  const rounds = await calibrate(reporter, allocJob, quick ? 1.5 : 4);
  log(`node-profile: allocation job (bench/jobs/alloc.mjs ${rounds}), bare vs profiled`);
  // Beside the default interval, 128 KiB: a quarter of the samples, for a lead on what a coarser default
  // would save.
  const [alloc, coarse] = await sideBySide(quick ? 2 : 4, allocJob(rounds), setup, [undefined, 131072]);
  const allocSeconds = (median(alloc.bare.map((r) => r.spawnMs)) / 1000).toFixed(1);
  rows.push(costRow('node-profile.alloc', `Node allocation job (${allocSeconds} s), profiled`, alloc));
  rows.push(costRow('node-profile.alloc-128k', 'same, sampling every 128 KiB', coarse, null));

  // A service holding a large cache while it works: the forced GC of each fetch marks all of it.
  const liveMiB = quick ? 200 : 500;
  const heapJob = (work) => [job, String(liveMiB), String(work)];
  const heapRounds = await calibrate(reporter, heapJob, quick ? 4 : 8, (work) => [job, '0', String(work)]);
  log(`node-profile: ${liveMiB} MiB live heap, then ${heapRounds} rounds of work, bare vs profiled`);
  const [heap] = await sideBySide(quick ? 1 : 4, heapJob(heapRounds), setup);
  const heapSeconds = (median(heap.bare.map((r) => r.spawnMs)) / 1000).toFixed(1);
  rows.push(
    costRow('node-profile.heap', `Node job (${heapSeconds} s) with ${liveMiB} MiB live heap, profiled`, heap),
  );

  log('node-profile: RSS with and without the profiler (64 MiB live, settled)');
  const [memory] = await sideBySide(quick ? 2 : 3, ['--expose-gc', job, '64', '50', 'settle'], setup);
  const settledBare = median(memory.bare.map((r) => r.settledRss));
  const settledProfiled = median(memory.profiled.map((r) => r.settledRss));
  const hwmBare = median(memory.bare.map((r) => r.hwm));
  const hwmProfiled = median(memory.profiled.map((r) => r.hwm));
  const mib = (bytes) => (bytes / MIB).toFixed(1);
  rows.push({
    id: 'node-profile.rss',
    name: 'RSS the profiler adds (64 MiB live heap, settled)',
    unit: 'MiB',
    subject: (settledProfiled - settledBare) / MIB,
    baseline: null,
    ratio: settledProfiled / settledBare,
    target: { max: 5, of: 'subject' },
    note:
      `settled VmRSS ${mib(settledProfiled)} vs ${mib(settledBare)} MiB (medians; profiled ` +
      `${memory.profiled.map((r) => mib(r.settledRss)).join(' ')}, bare ` +
      `${memory.bare.map((r) => mib(r.settledRss)).join(' ')}); VmHWM at exit, with the exit snapshot, ` +
      `${mib(hwmProfiled)} vs ${mib(hwmBare)} MiB (+${mib(hwmProfiled - hwmBare)})`,
    samples: {
      subject: memory.profiled.map((r) => r.settledRss),
      baseline: memory.bare.map((r) => r.settledRss),
    },
    extra: { hwmAddedMiB: (hwmProfiled - hwmBare) / MIB },
  });

  const runs = quick ? 3 : 10;
  log(`node-profile: attribution, ${runs} runs of the leaking request handler under headroom run --profile`);
  const tops = await attribution(dir, runs);
  const misses = tops.filter((name) => name !== 'handleReport').length;
  rows.push({
    id: 'node-profile.attribution',
    name: `leak case: runs of ${runs} not naming handleReport`,
    unit: 'runs',
    subject: misses,
    baseline: null,
    ratio: null,
    target: { max: Math.floor(runs / 10), of: 'subject' },
    note: `top site at the end per run: ${tops.join(', ')}`,
    samples: { subject: tops },
  });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tmp = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'headroom-bench-'));
  const started = Date.now();
  const log = (line) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  try {
    for (const row of await run({ tmp, log, quick: process.argv.includes('--quick') })) {
      console.log(`${row.name}: ${row.subject} ${row.unit} (baseline ${row.baseline}, ratio ${row.ratio})`);
      console.log(`  ${row.note}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  log('done');
}
