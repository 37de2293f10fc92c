// Runs the benchmarks (all, or those named on the command line: overhead sampling self capture-size
// report-scale diagnosis ...), prints a table and writes bench/results/latest.json. Run through
// `npm run bench` so dist/ is fresh.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/spawn.mjs';
import { formatNumber, round } from './lib/stats.mjs';

const BENCHMARKS = [
  'startup',
  'overhead',
  'sampling',
  'self',
  'capture-size',
  'report-scale',
  'watchdog',
  'watchdog-v2',
  'fleet',
  'recorder',
  'node-profile',
  'node-inlining',
  'python-profile',
  'diagnosis',
];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const selected = args.filter((arg) => !arg.startsWith('--'));
for (const name of selected) {
  if (!BENCHMARKS.includes(name))
    throw new Error(`unknown benchmark ${name}; one of ${BENCHMARKS.join(', ')}`);
}
const names = selected.length ? BENCHMARKS.filter((name) => selected.includes(name)) : BENCHMARKS;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-'));
const started = Date.now();
const log = (line) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

/** Busy CPU of the whole machine (all cores) from /proc/stat: the noise the benchmarks ran in. */
function cpuTimes() {
  const fields = fs
    .readFileSync('/proc/stat', 'latin1')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total: fields.reduce((sum, value) => sum + value, 0) };
}

/**
 * PASS or FAIL against the target; where a benchmark gives a confidence interval for the figure the
 * target is on (the ratio, or the subject) and it straddles the target, the noise does not allow a
 * verdict: PASS? or FAIL? by the median.
 */
function verdict(row) {
  if (!row.target) return 'info';
  const value = row.target.of === 'ratio' ? row.ratio : row.subject;
  if (value === null || value === undefined || !Number.isFinite(value)) return 'FAIL';
  const pass = value <= row.target.max;
  if (row.interval) {
    const { low, high } = row.interval;
    if (low <= row.target.max && high > row.target.max) return pass ? 'PASS?' : 'FAIL?';
  }
  return pass ? 'PASS' : 'FAIL';
}

function targetText(row) {
  if (!row.target) return '-';
  return `${row.target.of === 'ratio' ? 'ratio' : row.unit} <= ${row.target.max}`;
}

const rows = [];
const failures = [];
const machine = {};
try {
  for (const name of names) {
    const benchStarted = Date.now();
    const cpuBefore = cpuTimes();
    try {
      const module = await import(`./${name}.mjs`);
      for (const row of await module.run({ tmp, log, quick })) {
        rows.push({ bench: name, ...row, result: verdict(row) });
      }
    } catch (error) {
      log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      failures.push({ bench: name, error: String(error) });
      rows.push({ bench: name, id: `${name}.error`, name: `${name} did not complete`, result: 'FAIL' });
    }
    const cpuAfter = cpuTimes();
    const total = cpuAfter.total - cpuBefore.total;
    const busy = total > 0 ? 1 - (cpuAfter.idle - cpuBefore.idle) / total : 0;
    machine[name] = { seconds: (Date.now() - benchStarted) / 1000, busyCores: busy * os.cpus().length };
    log(
      `${name} done in ${machine[name].seconds.toFixed(1)} s; ` +
        `machine busy ${machine[name].busyCores.toFixed(2)} of ${os.cpus().length} cores meanwhile`,
    );
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const header = ['benchmark', 'unit', 'median', 'baseline', 'ratio', 'ratio CI', 'target', 'result'];
const table = rows.map((row) => [
  row.name,
  row.unit ?? '',
  formatNumber(row.subject),
  formatNumber(row.baseline),
  formatNumber(row.ratio),
  row.interval ? `${formatNumber(row.interval.low)}-${formatNumber(row.interval.high)}` : '',
  targetText(row),
  row.result,
]);
const widths = header.map((title, i) => Math.max(title.length, ...table.map((cells) => cells[i].length)));
const line = (cells) =>
  cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(line(header));
console.log(widths.map((width) => '-'.repeat(width)).join('  '));
for (const cells of table) console.log(line(cells));
console.log('');
for (const row of rows) if (row.note) console.log(`${row.name}: ${row.note}`);

const elapsed = (Date.now() - started) / 1000;
const passed = rows.filter((row) => row.result === 'PASS').length;
const failed = rows.filter((row) => row.result === 'FAIL').length;
const unclear = rows.filter((row) => row.result.endsWith('?')).length;
console.log(
  `\n${passed} passed, ${failed} failed, ${unclear} within noise (ratio CI straddles the target), ` +
    `in ${elapsed.toFixed(0)} s`,
);
console.log('ratio CI: ~90 % interval of the median of per-round ratios (order statistics)');

const clean = (value) =>
  JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === 'number' ? round(v, 4) : v)));
const results = {
  startedAt: new Date(started).toISOString(),
  elapsedSeconds: elapsed,
  command: `node bench/run-all.mjs ${args.join(' ')}`.trim(),
  host: {
    node: process.version,
    kernel: os.release(),
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
    busyCoresDuring: machine,
  },
  benchmarks: names,
  failures,
  results: clean(rows),
};
const out = path.join(ROOT, 'bench/results');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`results: ${path.relative(process.cwd(), path.join(out, 'latest.json'))}`);
process.exitCode = failed > 0 ? 1 : 0;
