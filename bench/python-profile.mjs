// Python allocation profiler (issue 4): what the preload costs an allocation-heavy job, bare vs the growth
// sampler vs tracemalloc with one frame; tracemalloc's memory on a large heap, and that it refuses a
// snapshot that would not fit rather than crash; and whether the growth sampler names load_everything at
// the peak of the whole-CSV job under `headroom run --profile`.
//   node bench/python-profile.mjs [--quick]     standalone; bench/run-all.mjs calls run()
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { profileAt, topSites } from '../dist/profile/profile-at.js';
import { readCapture } from '../dist/record/capture-reader.js';
import { headroomArgs, ROOT, start, timed } from './lib/spawn.mjs';
import { MIB, median, medianInterval } from './lib/stats.mjs';

const JOBS = path.join(ROOT, 'test/fixtures/jobs');
const PRELOAD = path.join(ROOT, 'preload/python');
/** Rounds of py-prof-alloc.py: about 1 s bare on a quiet core. */
const ALLOC_ROUNDS = 40;
/** Records of py-prof-records.py for the large heap: three blocks each, about 140 MiB of live objects. */
const HEAP_RECORDS = 700_000;
const CSV_ROWS = 350_000;

/** The job's environment: nothing of the caller's Python settings, and the profiler's when asked. */
function pythonEnv(spool, extra = {}) {
  const env = { ...process.env, PYTHONPATH: '', PYTHONTRACEMALLOC: '', HEADROOM_PROFILE_DIR: '' };
  if (spool) {
    fs.rmSync(spool, { recursive: true, force: true });
    fs.mkdirSync(spool, { recursive: true });
    Object.assign(env, {
      PYTHONPATH: PRELOAD,
      HEADROOM_PROFILE_DIR: spool,
      HEADROOM_START_MS: String(Date.now()),
      ...extra,
    });
  }
  return env;
}

/** The spool's records, all processes together. */
function spoolRecords(spool) {
  const records = [];
  for (const name of fs.readdirSync(spool)) {
    for (const line of fs.readFileSync(path.join(spool, name), 'utf8').split('\n')) {
      if (line) records.push(JSON.parse(line));
    }
  }
  return records;
}

/**
 * Peak RSS of a python3 run, from the kernel's accounting of a waited-for child (ru_maxrss): a wrapper
 * Python without site (so without the preload) runs the job and prints it.
 */
async function peakRss(args, env) {
  const wrapper =
    'import resource, subprocess, sys\n' +
    'code = subprocess.call(sys.argv[1:])\n' +
    'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, code)';
  const out = path.join(os.tmpdir(), `hr-bench-rss-${process.pid}-${Date.now()}.txt`);
  const fd = fs.openSync(out, 'w');
  try {
    const run = start('python3', ['-S', '-c', wrapper, 'python3', ...args], {
      env,
      stdio: ['ignore', fd, 'inherit'],
    });
    const result = await run.done;
    if (result.code !== 0) throw new Error(`python3 ${args.join(' ')}: wrapper exited ${result.code}`);
  } finally {
    fs.closeSync(fd);
  }
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  fs.rmSync(out, { force: true });
  const [bytes, code] = (lines.at(-1) ?? '').split(' ').map(Number);
  if (code !== 0) throw new Error(`python3 ${args.join(' ')} exited ${code}`);
  return { bytes, lines };
}

function writeCsv(file, rows) {
  const cities = ['Lisbon', 'Porto', 'Braga', 'Faro', 'Coimbra', 'Aveiro', 'Evora', 'Leiria'];
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, 'id,name,city,amount,note,email\n');
    for (let first = 0; first < rows; first += 10_000) {
      let chunk = '';
      for (let i = first; i < Math.min(rows, first + 10_000); i++) {
        chunk += `${i},name-${String(i).padStart(7, '0')},${cities[i % 8]},${i % 997},note about row ${i} lorem ipsum,user${i}@example.com\n`;
      }
      fs.writeSync(fd, chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export async function run({ tmp, log, quick }) {
  const dir = path.join(tmp, 'python-profile');
  fs.mkdirSync(dir, { recursive: true });
  const spool = path.join(dir, 'spool');
  const list = (values) => values.map((r) => r.toFixed(3)).join(' ');
  const rows = [];

  // 1. Wall time, interleaved (the order rotates every round) so that a noisy machine's drift falls on
  // every variant alike. tracemalloc is several times slower: fewer rounds of it.
  const job = [path.join(JOBS, 'py-prof-alloc.py'), String(ALLOC_ROUNDS)];
  const rounds = quick ? 3 : 7;
  const tracemallocRounds = quick ? 1 : 3;
  log(`python-profile: ${job.map((a) => path.basename(a)).join(' ')}: bare, growth, tracemalloc (1 frame)`);
  const bare = [];
  const growth = [];
  const tracemalloc = [];
  const growthSnapshots = [];
  for (let round = 0; round < rounds; round++) {
    const variants = [
      async () => bare.push(await timed('python3', job, { env: pythonEnv(null) })),
      async () => {
        growth.push(await timed('python3', job, { env: pythonEnv(spool) }));
        growthSnapshots.push(spoolRecords(spool).filter((record) => record[0] === 'A').length);
      },
    ];
    if (round < tracemallocRounds) {
      variants.push(async () =>
        tracemalloc.push(
          await timed('python3', job, {
            env: pythonEnv(spool, {
              HEADROOM_PYTHON_PROFILER: 'tracemalloc',
              HEADROOM_TRACEMALLOC_FRAMES: '1',
            }),
          }),
        ),
      );
    }
    const order = variants.map((_, i) => (i + round) % variants.length);
    for (const i of round % 2 ? order.reverse() : order) await variants[i]();
  }
  const growthRatios = growth.map((value, i) => value / bare[i]);
  const tracemallocRatios = tracemalloc.map((value, i) => value / bare[i]);
  rows.push({
    id: 'python-profile.growth',
    name: `Python growth sampler, allocation-heavy job ~${(median(bare) / 1000).toFixed(1)} s`,
    unit: 'ms',
    subject: median(growth),
    baseline: median(bare),
    ratio: median(growthRatios),
    interval: medianInterval(growthRatios),
    target: { max: 1.1, of: 'ratio' },
    note:
      `ratio of medians ${(median(growth) / median(bare)).toFixed(3)}; per-round ratios ${list(growthRatios)}; ` +
      `snapshots per run ${growthSnapshots.join(' ')}`,
    samples: { subject: growth, baseline: bare, roundRatios: growthRatios },
  });
  rows.push({
    id: 'python-profile.tracemalloc',
    name: 'Python tracemalloc mode (1 frame), same job',
    unit: 'ms',
    subject: median(tracemalloc),
    baseline: median(bare.slice(0, tracemalloc.length)),
    ratio: median(tracemallocRatios),
    target: null,
    note: `per-round ratios ${list(tracemallocRatios)}`,
    samples: {
      subject: tracemalloc,
      baseline: bare.slice(0, tracemalloc.length),
      roundRatios: tracemallocRatios,
    },
  });

  // 2. Memory on a large heap: peak RSS bare, with the growth sampler, with tracemalloc (default frames)
  // when no snapshot fits (HEADROOM_LIMIT_BYTES=1: tracing alone, and every snapshot must be refused with
  // a note, the job unharmed), and with its exit snapshot taken.
  const heap = [path.join(JOBS, 'py-prof-records.py'), String(quick ? HEAP_RECORDS / 4 : HEAP_RECORDS)];
  log(`python-profile: large heap (${heap[1]} records): peak RSS bare, growth, tracemalloc`);
  const heapBare = await peakRss(heap, pythonEnv(null));
  const heapGrowth = await peakRss(heap, pythonEnv(spool));
  const heapTracing = await peakRss(
    heap,
    pythonEnv(spool, { HEADROOM_PYTHON_PROFILER: 'tracemalloc', HEADROOM_LIMIT_BYTES: '1' }),
  );
  const refused = spoolRecords(spool);
  const refusedNotes = refused.filter((record) => record[0] === 'W').map((record) => record[2]);
  const refusedSnapshots = refused.filter((record) => record[0] === 'A').length;
  const heapSnapshot = await peakRss(heap, pythonEnv(spool, { HEADROOM_PYTHON_PROFILER: 'tracemalloc' }));
  const taken = spoolRecords(spool).filter((record) => record[0] === 'A');
  const exitSnapshot = taken.find((record) => record[2] === 'exit');
  const mib = (bytes) => `${(bytes / MIB).toFixed(0)} MiB`;
  rows.push({
    id: 'python-profile.growth-memory',
    name: 'Python growth sampler, peak RSS on a large heap',
    unit: 'MiB',
    subject: heapGrowth.bytes / MIB,
    baseline: heapBare.bytes / MIB,
    ratio: heapGrowth.bytes / heapBare.bytes,
    target: null,
    note: `adds ${mib(heapGrowth.bytes - heapBare.bytes)}`,
  });
  rows.push({
    id: 'python-profile.tracemalloc-memory',
    name: 'Python tracemalloc mode (8 frames), peak RSS on a large heap, tracing only',
    unit: 'MiB',
    subject: heapTracing.bytes / MIB,
    baseline: heapBare.bytes / MIB,
    ratio: heapTracing.bytes / heapBare.bytes,
    target: null,
    note:
      `adds ${mib(heapTracing.bytes - heapBare.bytes)}; with its exit snapshot taken ` +
      `${mib(heapSnapshot.bytes)} (${exitSnapshot ? 'taken' : 'NOT taken'})`,
    extra: { withSnapshotBytes: heapSnapshot.bytes },
  });
  const wellSaid = (note) =>
    /snapshot skipped: it would need ~\d+ MiB, only \d+ MiB left under the limit/.test(note);
  const problems = refusedSnapshots + (refusedNotes.length > 0 && refusedNotes.every(wellSaid) ? 0 : 1);
  rows.push({
    id: 'python-profile.tracemalloc-refusal',
    name: 'Python tracemalloc mode, nothing fits: snapshots taken + missing notes (job exits 0)',
    unit: 'count',
    subject: problems,
    baseline: null,
    ratio: null,
    target: { max: 0, of: 'subject' },
    note: `${refusedSnapshots} snapshots taken, ${refusedNotes.length} notes, last: ${refusedNotes.at(-1) ?? 'none'}`,
  });

  // 3. Attribution under headroom run --profile: the top site at the cgroup's peak, ten runs.
  const csv = path.join(dir, 'orders.csv');
  writeCsv(csv, CSV_ROWS);
  const attributionRuns = quick ? 3 : 10;
  log(
    `python-profile: attribution, ${attributionRuns} runs of py-prof-csv.py whole under headroom run --profile`,
  );
  const tops = [];
  for (let i = 0; i < attributionRuns; i++) {
    const capture = path.join(dir, `csv-${i}.hrc`);
    fs.rmSync(capture, { force: true });
    await timed(
      process.execPath,
      headroomArgs(capture, ['python3', path.join(JOBS, 'py-prof-csv.py'), csv, 'whole'], ['--profile']),
      { env: { ...process.env, HEADROOM_HOME: dir, PYTHONPATH: '', NODE_OPTIONS: '' } },
    );
    const site = topSites(profileAt(readCapture(capture), 'peak'))[0];
    tops.push(site ? site.label : '(none)');
  }
  const hits = tops.filter((label) => label.startsWith('load_everything ')).length;
  rows.push({
    id: 'python-profile.attribution',
    name: 'Python growth sampler names load_everything at the peak',
    unit: 'runs missed',
    subject: attributionRuns - hits,
    baseline: null,
    ratio: null,
    target: { max: Math.floor(attributionRuns / 10), of: 'subject' },
    note: `${hits} of ${attributionRuns}; tops: ${[...new Set(tops)].join(', ')}`,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-'));
  const started = Date.now();
  const log = (line) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  try {
    for (const row of await run({ tmp, log, quick: process.argv.includes('--quick') })) {
      const value = (v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v);
      console.log(
        `${row.name}: ${value(row.subject)} ${row.unit}` +
          (row.baseline != null ? ` vs ${value(row.baseline)}, ratio ${value(row.ratio)}` : '') +
          (row.interval ? ` (CI ${value(row.interval.low)}-${value(row.interval.high)})` : '') +
          (row.target ? ` target <= ${row.target.max}` : '') +
          (row.note ? `\n    ${row.note}` : ''),
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
