// Inlined frames in Node allocation profiles (issue 13): V8's sampling heap profiler charges an allocation
// to the functions with a frame on the stack, so a small handler TurboFan inlined into its caller loses its
// allocations to the caller. For each way of keeping those frames, how often `headroom run --profile` names
// the leaking handler of test/fixtures/jobs/inlined-leak.mjs as the top site (10 runs), and what the
// profiled job costs beside the bare job, in wall time and in CPU time (getrusage of the reaped job), round
// by round until every verdict against 1.05x stands (or a round limit): the fixture itself, the
// repository's allocation job (about 2 s of CPU), the same job short (about 0.3 s, where the profiler's
// fixed costs show), tight code made of small functions (the worst case for turning inlining off), and a
// short job loading built-in modules (each one compiled without Node's code cache once a V8 flag changed).
//   node bench/node-inlining.mjs [--quick] [--cost] [--candidates=ID,...] [--jobs=ID,...] [--rounds=N]
// standalone (--cost: no attribution runs; --rounds: exactly N rounds); or through run-all.
import fs from 'node:fs';
import path from 'node:path';
import { runWithCpu } from './lib/proc.mjs';
import { profiledTopSite } from './lib/profiled-top-site.mjs';
import { bareEnv, JOBS, ROOT } from './lib/spawn.mjs';
import { median, medianInterval } from './lib/stats.mjs';

const PRELOAD = path.join(ROOT, 'dist/node-preload.cjs');
const FIXTURE = path.join(ROOT, 'test/fixtures/jobs/inlined-leak.mjs');
const HANDLER = 'remember';
const TARGET = 1.05;

/** Loaded after the profiler's preload: sets the candidate's V8 flags before the job's code runs. */
const FLAGS_PRELOAD = `require('node:v8').setFlagsFromString(process.env.HEADROOM_BENCH_V8_FLAGS);\n`;

/**
 * The ways to keep inlined frames, each on top of the profiler's preload. HEADROOM_NODE_INLINING=keep
 * turns off what the preload does by default (--no-turbo-inlining --no-maglev-inlining), for the others.
 */
const CANDIDATES = [
  { id: 'inlining', name: 'inlining kept (the profiler before issue 13)', keep: true },
  { id: 'no-inlining', name: '--no-turbo-inlining (the preload now)', keep: false },
  {
    id: 'budget',
    name: 'inlining budget 20 bytecode bytes, no small-function rule',
    keep: true,
    flags: '--max-inlined-bytecode-size=20 --max-inlined-bytecode-size-small=0',
  },
  // Attribution only: its cost is plain without rounds of it (1.2x the CPU of the fixture and of the
  // allocation job profiled, 8x that of small functions, in a first 20-round run).
  {
    id: 'no-turbofan',
    name: 'no TurboFan (--max-opt=2, Sparkplug only)',
    keep: true,
    flags: '--max-opt=2',
    attributionOnly: true,
  },
];

/**
 * HEADROOM_BENCH_PREVIOUS_PRELOAD names another build of the preload (one saved from the branch a change
 * started from): measured as a candidate of its own, side by side with the build of today.
 */
const PREVIOUS = process.env.HEADROOM_BENCH_PREVIOUS_PRELOAD;
if (PREVIOUS) {
  CANDIDATES.push({ id: 'previous', name: `the preload of ${PREVIOUS}`, keep: false, preload: PREVIOUS });
}

/** The environment `headroom run --profile` gives a job (fresh spool), with a candidate's settings. */
function profiledEnv(candidate, spool, flagsPreload) {
  fs.rmSync(spool, { recursive: true, force: true });
  fs.mkdirSync(spool, { recursive: true });
  const env = {
    ...bareEnv(),
    NODE_OPTIONS: `--require ${candidate.preload ?? PRELOAD}`,
    HEADROOM_PROFILE_DIR: spool,
    HEADROOM_START_MS: String(Date.now()),
  };
  return { ...env, ...candidateEnv(candidate, env.NODE_OPTIONS, flagsPreload) };
}

/** A candidate's additions to a job's environment, after the given NODE_OPTIONS. */
function candidateEnv(candidate, nodeOptions, flagsPreload) {
  const env = {};
  if (candidate.keep) env.HEADROOM_NODE_INLINING = 'keep';
  if (candidate.flags) {
    env.NODE_OPTIONS = `${nodeOptions} --require ${flagsPreload}`.trim();
    env.HEADROOM_BENCH_V8_FLAGS = candidate.flags;
  }
  return env;
}

async function runJob(args, env) {
  const result = await runWithCpu(process.execPath, args, { env });
  if (result.code !== 0)
    throw new Error(`node ${args.join(' ')} exited with ${result.code ?? result.signal}`);
  return result;
}

/**
 * ROUNDS for which `job(ROUNDS)` takes about `seconds` of CPU time bare: CPU time, as wall time on a busy
 * machine says more about the other jobs than about this one.
 */
async function calibrate(job, seconds, probe) {
  const cpu = async (rounds) => (await runJob(job(rounds), bareEnv())).cpuMs;
  const fixed = median([await cpu(0), await cpu(0)]);
  const probed = median([await cpu(probe), await cpu(probe)]);
  const perRound = Math.max(0.01, (probed - fixed) / probe);
  return Math.max(probe, Math.round((seconds * 1000 - fixed) / perRound));
}

/** Per-round ratios of a candidate to the bare run (or another variant) of the same round. */
function ratios(runs, id, metric, base = 'bare') {
  return runs[id].map((run, i) => run[metric] / runs[base][i][metric]);
}

/** A verdict stands when the ~90 % interval of the median ratio lies wholly on one side of the target. */
function stands(values) {
  const { low, high } = medianInterval(values);
  return high <= TARGET || low > TARGET;
}

/**
 * The bare job and every candidate, interleaved: the order rotates from round to round and reverses every
 * other cycle, so that the drift of a noisy machine falls on all alike. Rounds go on past `minRounds`
 * until every verdict of the jobs with a target stands, up to `maxRounds`.
 */
async function sideBySide(jobs, costed, setup, { minRounds, maxRounds, log }) {
  const variants = ['bare', ...costed.map((c) => c.id)];
  const runs = Object.fromEntries(
    jobs.map((job) => [job.id, Object.fromEntries(variants.map((variant) => [variant, []]))]),
  );
  let round = 0;
  for (; round < maxRounds; round++) {
    let order = variants.map((_, i) => variants[(i + round) % variants.length]);
    if (Math.floor(round / variants.length) % 2 === 1) order = order.reverse();
    for (const job of jobs) {
      for (const variant of order) {
        const candidate = CANDIDATES.find((c) => c.id === variant);
        const env = candidate ? profiledEnv(candidate, setup.spool, setup.flagsPreload) : bareEnv();
        runs[job.id][variant].push(await runJob(job.args, { ...env, ...job.env }));
      }
    }
    if (round + 1 < minRounds) continue;
    const open = [];
    for (const job of jobs.filter((j) => j.target)) {
      for (const candidate of costed) {
        for (const metric of ['wallMs', 'cpuMs']) {
          if (!stands(ratios(runs[job.id], candidate.id, metric)))
            open.push(`${job.id}/${candidate.id}/${metric}`);
        }
      }
    }
    log(`node-inlining: ${round + 1} rounds; verdicts still open: ${open.length ? open.join(', ') : 'none'}`);
    if (open.length === 0) {
      round++;
      break;
    }
  }
  return { runs, rounds: round };
}

const list = (values) => values.map((value) => value.toFixed(3)).join(' ');

/** Rows for one job and candidate: the wall-time ratio and the CPU-time ratio, each with its interval. */
function costRows(job, candidate, runs, rounds) {
  const rows = [];
  for (const [metric, label] of [
    ['wallMs', 'wall'],
    ['cpuMs', 'CPU'],
  ]) {
    const values = ratios(runs, candidate.id, metric);
    const subject = median(runs[candidate.id].map((run) => run[metric]));
    const baseline = median(runs.bare.map((run) => run[metric]));
    rows.push({
      id: `node-inlining.${job.id}.${candidate.id}.${label.toLowerCase()}`,
      name: `${job.name}, ${label} time, profiled with ${candidate.name}`,
      unit: 'ms',
      subject,
      baseline,
      ratio: median(values),
      interval: medianInterval(values),
      target: job.target ? { max: TARGET, of: 'ratio' } : null,
      note: `${rounds} rounds; per-round ${label} ratios ${list(values)}; added ${(subject - baseline).toFixed(0)} ms (medians)`,
      samples: {
        subject: runs[candidate.id].map((run) => run[metric]),
        baseline: runs.bare.map((run) => run[metric]),
        roundRatios: values,
      },
    });
  }
  if ((candidate.keep && !candidate.flags) || !runs.inlining) return rows;
  // What the candidate adds to the profiler as it was, round by round: the cost of keeping the frames.
  const wall = ratios(runs, candidate.id, 'wallMs', 'inlining');
  const cpu = ratios(runs, candidate.id, 'cpuMs', 'inlining');
  const cpuInterval = medianInterval(cpu);
  rows.push({
    id: `node-inlining.${job.id}.${candidate.id}.vs-inlining`,
    name: `${job.name}, CPU time, ${candidate.name} over inlining kept`,
    unit: 'ms',
    subject: median(runs[candidate.id].map((run) => run.cpuMs)),
    baseline: median(runs.inlining.map((run) => run.cpuMs)),
    ratio: median(cpu),
    interval: cpuInterval,
    target: null,
    note: `${rounds} rounds; per-round CPU ratios ${list(cpu)}; wall ${median(wall).toFixed(3)} [${medianInterval(wall).low.toFixed(3)}, ${medianInterval(wall).high.toFixed(3)}]`,
    samples: { roundRatios: cpu, wallRatios: wall },
  });
  return rows;
}

/** The top site at the end of `runs` runs of the fixture under `headroom run --profile`, per candidate. */
async function attribution(dir, candidate, runs, ticks, flagsPreload) {
  const tops = [];
  for (let i = 0; i < runs; i++) {
    const top = await profiledTopSite({
      capture: path.join(dir, `inlined-${candidate.id}-${i}.jsonl`),
      jobArgs: [FIXTURE, ticks],
      env: { ...bareEnv(), ...candidateEnv(candidate, '', flagsPreload) },
      what: candidate.id,
    });
    tops.push(top ? top.label : '(none)');
  }
  return tops;
}

export async function run({ tmp, log, quick, costOnly = false, candidates, jobIds, rounds }) {
  const dir = path.join(tmp, 'node-inlining');
  fs.mkdirSync(dir, { recursive: true });
  const flagsPreload = path.join(dir, 'flags.cjs');
  fs.writeFileSync(flagsPreload, FLAGS_PRELOAD);
  const setup = { spool: path.join(dir, 'spool'), flagsPreload };
  const rows = [];

  const chosen = candidates ? CANDIDATES.filter((c) => candidates.includes(c.id)) : CANDIDATES;
  const runs = quick ? 3 : 10;
  // Attribution goes through headroom, which brings its own build of the preload.
  for (const candidate of costOnly ? [] : chosen.filter((c) => !c.preload)) {
    log(
      `node-inlining: attribution, ${runs} runs of the fixture under headroom run --profile, ${candidate.id}`,
    );
    const tops = await attribution(dir, candidate, runs, '100', flagsPreload);
    const misses = tops.filter((label) => !label.startsWith(`${HANDLER} `)).length;
    rows.push({
      id: `node-inlining.attribution.${candidate.id}`,
      name: `inlined handler: runs of ${runs} not naming ${HANDLER}, ${candidate.name}`,
      unit: 'runs',
      subject: misses,
      baseline: null,
      ratio: null,
      target: { max: Math.floor(runs / 10), of: 'subject' },
      note: `top site at the end per run: ${tops.join(', ')}`,
      samples: { subject: tops },
    });
  }

  // Seconds of CPU time bare; small functions shorter, as turning inlining off makes them 3 to 4 times slower.
  const seconds = quick ? 0.8 : 2.5;
  const fixtureTicks = await calibrate((n) => [FIXTURE, String(n)], seconds, 100);
  const allocRounds = await calibrate((n) => [path.join(JOBS, 'alloc.mjs'), String(n)], seconds, 20);
  // Short enough that the profiler's fixed costs (the inspector, the forced GC of each fetch) show.
  const shortRounds = await calibrate((n) => [path.join(JOBS, 'alloc.mjs'), String(n)], 0.3, 2);
  const callRounds = await calibrate(
    (n) => [path.join(JOBS, 'small-calls.mjs'), String(n)],
    seconds / 2.5,
    500,
  );
  const builtins = [
    'http',
    'https',
    'zlib',
    'crypto',
    'stream/web',
    'util',
    'url',
    'dns',
    'net',
    'child_process',
  ];
  const allJobs = [
    {
      id: 'fixture',
      name: `the fixture (inlined-leak.mjs ${fixtureTicks})`,
      args: [FIXTURE, String(fixtureTicks)],
      target: true,
    },
    {
      id: 'alloc',
      name: `allocation job (alloc.mjs ${allocRounds})`,
      args: [path.join(JOBS, 'alloc.mjs'), String(allocRounds)],
      target: true,
    },
    // What is left of the allocation job's cost is mostly page faults, not sampling: under the sampler V8
    // starts its first full collection a few rounds sooner, before any of the job's 512 KiB Buffers has
    // died, so glibc raises its mmap threshold (at the first free of an mmapped block) later, and more of
    // those Buffers are fresh mappings whose pages fault as they are filled (perf's page-fault profile;
    // --trace-gc with round marks). With the threshold fixed on both sides, this row is the profiler's
    // own cost. No target: a job that frees large buffers early pays that warm-up under the profiler.
    {
      id: 'alloc-fixed-mmap',
      name: `allocation job, glibc's mmap threshold fixed at 1 MiB on both sides (alloc.mjs ${allocRounds})`,
      args: [path.join(JOBS, 'alloc.mjs'), String(allocRounds)],
      env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576' },
      target: false,
    },
    {
      id: 'short',
      name: `short allocation job (alloc.mjs ${shortRounds})`,
      args: [path.join(JOBS, 'alloc.mjs'), String(shortRounds)],
      target: false,
    },
    {
      id: 'calls',
      name: `small functions, worst case (small-calls.mjs ${callRounds})`,
      args: [path.join(JOBS, 'small-calls.mjs'), String(callRounds)],
      target: false,
    },
    {
      id: 'builtins',
      name: `short job loading ${builtins.length} built-in modules`,
      args: ['-e', builtins.map((name) => `require('${name}');`).join('')],
      target: false,
    },
  ];
  const jobs = jobIds ? allJobs.filter((job) => jobIds.includes(job.id)) : allJobs;
  const costed = chosen.filter((candidate) => !candidate.attributionOnly);
  log(`node-inlining: cost, bare vs ${costed.length} candidates on ${jobs.map((j) => j.id).join(', ')}`);
  // At least 40 rounds: on this busy machine fewer left the 1.05x verdicts open, or settled them wrongly.
  const measured = await sideBySide(jobs, costed, setup, {
    minRounds: rounds ?? (quick ? 3 : 40),
    maxRounds: rounds ?? (quick ? 3 : 60),
    log,
  });
  for (const job of jobs) {
    for (const candidate of costed)
      rows.push(...costRows(job, candidate, measured.runs[job.id], measured.rounds));
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tmp = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'headroom-bench-'));
  const started = Date.now();
  const log = (line) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  try {
    const option = (name) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
    const rounds = option('rounds');
    const options = {
      tmp,
      log,
      quick: process.argv.includes('--quick'),
      costOnly: process.argv.includes('--cost'),
      candidates: option('candidates')?.split(','),
      jobIds: option('jobs')?.split(','),
      rounds: rounds === undefined ? undefined : Number(rounds),
    };
    for (const row of await run(options)) {
      const interval = row.interval
        ? ` [${row.interval.low.toFixed(3)}, ${row.interval.high.toFixed(3)}]`
        : '';
      console.log(
        `${row.name}: ${row.subject} ${row.unit} (baseline ${row.baseline}, ratio ${row.ratio}${interval})`,
      );
      console.log(`  ${row.note}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  log('done');
}
