// Startup: `headroom run -- true` against a bare `node -e 0` and a bare `true`, side by side, for the npm
// bin and the single executable (when dist/ has one: npm run build:exe). The goal is headroom's own cost:
// at most 40 ms beyond Node's own start.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLK_TCK, statFields } from './lib/proc.mjs';
import { HEADROOM, ROOT } from './lib/spawn.mjs';
import { median, medianInterval } from './lib/stats.mjs';

const TARGET_MS = 40;

/**
 * utime + stime of this process's reaped children in ms (cutime, cstime of /proc/self/stat), and their
 * minor page faults (cminflt). The faults are counted, not sampled: on a busy machine, where wall and
 * CPU time vary by tens of ms from round to round, they still tell two builds apart, and on a virtual
 * machine each costs microseconds (a fork's copy-on-write, a fresh heap page, a mapped file page).
 */
function childUsage() {
  const fields = statFields('self');
  // cminflt is field 11, cutime field 16, cstime field 17.
  return { cpuMs: ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK, faults: Number(fields[8]) };
}

/** Wall time from spawn to exit, and the CPU time (ms) and minor faults of it and its descendants. */
function once(command, args, env) {
  return new Promise((resolve, reject) => {
    const before = childUsage();
    const started = performance.now();
    const child = spawn(command, args, { stdio: 'ignore', env });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const wallMs = performance.now() - started;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}`));
      // The exit event follows the reaping, so the child's times are in cutime/cstime by now.
      else {
        const after = childUsage();
        resolve({ wallMs, cpuMs: after.cpuMs - before.cpuMs, faults: after.faults - before.faults });
      }
    });
  });
}

export async function run({ tmp, log, quick }) {
  const home = path.join(tmp, 'startup');
  fs.mkdirSync(home, { recursive: true });
  // Captures go to a scratch HEADROOM_HOME; the executable extracts its preloads under it once. The code
  // cache too is this benchmark's own: another checkout's headroom run meanwhile (a test suite) would
  // replace the user's cache with one for its own build, and a round would compile from scratch.
  const env = {
    ...process.env,
    HEADROOM_HOME: home,
    XDG_CACHE_HOME: path.join(home, 'cache'),
    XDG_RUNTIME_DIR: '',
  };
  const exe = path.join(ROOT, 'dist', `headroom-linux-${process.arch}`);
  // HEADROOM_BENCH_NODE: another Node (22, 24...) for node -e 0, the bare spawn and the npm bin, as
  // headroom's users run those too.
  const nodeBin = process.env.HEADROOM_BENCH_NODE || process.execPath;
  if (!fs.existsSync(nodeBin)) throw new Error(`HEADROOM_BENCH_NODE: no ${nodeBin}`);
  const nodeVersion = execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  const variants = [
    { name: 'true', command: '/bin/true', args: [], results: [] },
    { name: 'node -e 0', command: nodeBin, args: ['-e', '0'], results: [] },
    // The least any Node launcher pays here: load child_process, fork, and exec the job.
    {
      name: 'node spawning true',
      command: nodeBin,
      args: ['-e', "require('child_process').spawn('/bin/true', [], { stdio: 'inherit' })"],
      results: [],
    },
    { name: 'npm bin', command: nodeBin, args: [HEADROOM, 'run', '--', '/bin/true'], results: [] },
  ];
  // HEADROOM_BENCH_BASELINE: another checkout (built) whose npm bin runs beside this one's, for a change's
  // effect measured side by side rather than across runs on a machine whose speed drifts.
  const other = process.env.HEADROOM_BENCH_BASELINE;
  if (other) {
    const otherBin = path.join(path.resolve(other), 'bin', 'headroom.cjs');
    if (!fs.existsSync(otherBin)) throw new Error(`HEADROOM_BENCH_BASELINE: no ${otherBin}`);
    variants.push({
      name: 'baseline npm bin',
      command: nodeBin,
      args: [otherBin, 'run', '--', '/bin/true'],
      // A code cache of its own: each build's bin removes the other's as stale (same command, same Node).
      env: { XDG_CACHE_HOME: path.join(home, 'baseline-cache') },
      results: [],
    });
  }
  // The executable carries the Node it was built with: beside another Node's node -e 0 it means nothing.
  if (process.env.HEADROOM_BENCH_NODE) log('startup: HEADROOM_BENCH_NODE is set; the executable is left out');
  else if (fs.existsSync(exe))
    variants.push({ name: 'executable', command: exe, args: ['run', '--', '/bin/true'], results: [] });
  else log(`startup: no ${path.relative(ROOT, exe)} (npm run build:exe); the executable is left out`);

  const rounds = quick ? 10 : 30;
  log(
    `startup: ${variants.map((v) => v.name).join(', ')}, ${rounds} rounds side by side, Node ${nodeVersion}`,
  );
  // Two warm-up rounds: the page cache, the code cache, and the executable's first extraction of its
  // preloads.
  for (let round = -2; round < rounds; round++) {
    const order = variants.map((_, i) => (i + Math.max(round, 0)) % variants.length);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const variant = variants[i];
      const result = await once(variant.command, variant.args, { ...env, ...variant.env });
      if (round >= 0) variant.results.push(result);
    }
  }

  const wall = (results) => median(results.map((result) => result.wallMs));
  const cpu = (results) => median(results.map((result) => result.cpuMs));
  const faults = (results) => median(results.map((result) => result.faults));
  const ms = (value) => `${value.toFixed(0)} ms`;
  const [bare, node, floor] = variants.map((variant) => variant.results);
  const floorExtra = median(floor.map((result, i) => result.wallMs - node[i].wallMs));
  const rows = [];
  const baselineBin = variants.find((variant) => variant.name === 'baseline npm bin');
  if (baselineBin) {
    const npmBin = variants[3].results;
    const change = npmBin.map((result, i) => result.wallMs - baselineBin.results[i].wallMs);
    const cpuChange = npmBin.map((result, i) => result.cpuMs - baselineBin.results[i].cpuMs);
    const interval = medianInterval(change);
    rows.push({
      id: 'startup.against-baseline',
      name: 'startup: npm bin against the baseline checkout (HEADROOM_BENCH_BASELINE)',
      unit: 'ms',
      subject: median(change),
      baseline: wall(baselineBin.results),
      ratio: wall(npmBin) / wall(baselineBin.results),
      target: false,
      note:
        `wall ${ms(median(change))} (~90 % interval ${ms(interval.low)} to ${ms(interval.high)}), ` +
        `CPU ${ms(median(cpuChange))} (10 ms ticks), minor page faults ` +
        `${(faults(npmBin) - faults(baselineBin.results)).toFixed(0)}, paired round by round`,
      samples: { subject: change, baseline: baselineBin.results.map((result) => result.wallMs) },
    });
  }
  for (const variant of variants.slice(3).filter((variant) => variant !== baselineBin)) {
    const extra = variant.results.map((result, i) => result.wallMs - node[i].wallMs);
    const interval = medianInterval(extra);
    rows.push({
      id: `startup.${variant.name.replace(/\W+/g, '-')}`,
      name: `startup: headroom run -- true beyond node -e 0 (${variant.name})`,
      unit: 'ms',
      subject: median(extra),
      baseline: wall(node),
      ratio: wall(variant.results) / wall(node),
      target: { max: TARGET_MS, of: 'subject' },
      note:
        `median wall ${ms(wall(variant.results))} against node -e 0 ${ms(wall(node))} and true ${ms(wall(bare))}; ` +
        `extra ${ms(median(extra))} (~90 % interval ${ms(interval.low)}-${ms(interval.high)}); ` +
        `CPU median ${ms(cpu(variant.results))} against node's ${ms(cpu(node))} (10 ms ticks); ` +
        `minor page faults median ${faults(variant.results).toFixed(0)} against node's ${faults(node).toFixed(0)}; ` +
        `a bare Node spawning true takes ${ms(floorExtra)} beyond node -e 0; Node ${nodeVersion}`,
      samples: { subject: extra, baseline: node.map((result) => result.wallMs) },
    });
  }
  return rows;
}
