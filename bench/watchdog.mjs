// 7. The pre-OOM watchdog in term mode: a Python job allocating and touching memory at 256 MiB/s,
// 1 GiB/s and as fast as it can, in a 512 MiB cgroup, threshold 98 %. Each trial is judged by the
// cgroup's OOM-kill counter (the capture's summary) and by the job's own exit: status 0 after its SIGTERM
// handler printed "stopped cleanly". The baseline is the same job, side by side, without the guard.
// This machine is cgroup v1; bench/watchdog-v2.mjs runs the same trials in the cgroup v2 VM.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { HEADROOM, ROOT } from './lib/spawn.mjs';
import { MIB, median } from './lib/stats.mjs';

const JOB = path.join(ROOT, 'test/fixtures/jobs/alloc-rate.py');
export const RATES = [
  { rate: 256, name: '256 MiB/s' },
  { rate: 1024, name: '1 GiB/s' },
  { rate: 0, name: 'as fast as it can' },
];

/** One run of the job; `prefix` starts headroom in a place of its own (a delegated scope on v2). */
function runTrial(capture, rate, threshold, prefix) {
  const guard =
    threshold === null
      ? ['--no-guard']
      : ['--guard', 'watch', '--watch-threshold', String(threshold), '--grace', '5'];
  const args = [HEADROOM, 'run', '--quiet', '--memory', '512m', '--memory-swap', '512m', ...guard];
  const argv = [...prefix, process.execPath, ...args, '-o', capture, '--', 'python3', JOB, String(rate)];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

async function summary(capture) {
  const child = spawn(process.execPath, [HEADROOM, 'summary', '--json', capture], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  await new Promise((resolve) => child.once('close', resolve));
  return JSON.parse(out);
}

/**
 * `trials` runs per rate and threshold with the guard, and as many without it (the baseline does not
 * depend on the threshold, so it runs once per rate), interleaved so that noise hits both alike.
 */
export async function watchdogRows({ tmp, log, trials, thresholds, idPrefix = 'watchdog', prefix = [] }) {
  const rows = [];
  for (const { rate, name } of RATES) {
    log(
      `${idPrefix}: ${trials} trials at ${name}, thresholds ${thresholds.join(', ')} %, and without the guard`,
    );
    const guarded = new Map(thresholds.map((t) => [t, { saves: 0, kills: 0, termMs: [], rates: [] }]));
    const bare = { saves: 0, kills: 0 };
    for (let trial = 0; trial < trials; trial++) {
      for (const threshold of [...thresholds, null]) {
        const capture = path.join(tmp, `${idPrefix}-${rate}-${trial}-${threshold ?? 'bare'}.hrc`);
        const { code, out } = await runTrial(capture, rate, threshold, prefix);
        const result = await summary(capture);
        const tally = threshold === null ? bare : guarded.get(threshold);
        if (result.oomKilled) tally.kills++;
        if (!result.oomKilled && code === 0 && out === 'stopped cleanly\n') tally.saves++;
        const term = result.guard.actions.find((a) => a.action === 'term');
        if (threshold !== null && term) {
          tally.termMs.push(term.timeMs);
          tally.rates.push(result.peak.bytes / MIB / (term.timeMs / 1000));
        }
      }
    }
    for (const threshold of thresholds) {
      const tally = guarded.get(threshold);
      rows.push({
        id: thresholds.length === 1 ? `${idPrefix}.term-${rate}` : `${idPrefix}.term-${threshold}-${rate}`,
        name: `${idPrefix.replace('-', ' ')} term at ${threshold} %, ${name}: OOM kills`,
        unit: `of ${trials}`,
        subject: tally.kills,
        baseline: bare.kills,
        ratio: bare.kills > 0 ? tally.kills / bare.kills : null,
        target: { max: 0, of: 'subject' },
        note:
          `saved ${tally.saves}/${trials} (handler ran, exit 0, oom_kill 0); without the guard ${bare.saves}/${trials} saved, ` +
          `${bare.kills}/${trials} OOM-killed; SIGTERM at a median ${formatMs(median(tally.termMs))}, ` +
          `about ${Math.round(median(tally.rates))} MiB/s reached`,
        samples: { saves: tally.saves, kills: tally.kills, bareKills: bare.kills, termMs: tally.termMs },
      });
    }
  }
  return rows;
}

export async function run({ tmp, log, quick }) {
  return watchdogRows({ tmp, log, trials: quick ? 5 : 20, thresholds: [98] });
}

function formatMs(ms) {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a';
}
