// 7. The pre-OOM watchdog in term mode: a Python job allocating and touching memory at 256 MiB/s,
// 1 GiB/s and as fast as it can, in a 512 MiB cgroup, threshold 98 %. Each trial is judged by the
// cgroup's OOM-kill counter (the capture's summary) and by the job's own exit: status 0 after its SIGTERM
// handler printed "stopped cleanly". The baseline is the same job, side by side, without the guard.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { HEADROOM, ROOT } from './lib/spawn.mjs';
import { MIB, median } from './lib/stats.mjs';

const JOB = path.join(ROOT, 'test/fixtures/jobs/alloc-rate.py');
const RATES = [
  { rate: 256, name: '256 MiB/s' },
  { rate: 1024, name: '1 GiB/s' },
  { rate: 0, name: 'as fast as it can' },
];

function runTrial(capture, rate, guarded) {
  const guard = guarded ? ['--guard', 'watch', '--watch-threshold', '98', '--grace', '5'] : ['--no-guard'];
  const args = [HEADROOM, 'run', '--quiet', '--memory', '512m', '--memory-swap', '512m', ...guard];
  const child = spawn(process.execPath, [...args, '-o', capture, '--', 'python3', JOB, String(rate)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

export async function run({ tmp, log, quick }) {
  const trials = quick ? 5 : 20;
  const rows = [];
  for (const { rate, name } of RATES) {
    log(`watchdog: ${trials} trials at ${name}, with and without the guard`);
    const guarded = { saves: 0, kills: 0, termMs: [], rates: [] };
    const bare = { saves: 0, kills: 0 };
    for (let trial = 0; trial < trials; trial++) {
      for (const withGuard of [true, false]) {
        const capture = path.join(tmp, `watchdog-${rate}-${trial}-${withGuard}.hrc`);
        const { code, out } = await runTrial(capture, rate, withGuard);
        const result = await summary(capture);
        const tally = withGuard ? guarded : bare;
        if (result.oomKilled) tally.kills++;
        if (!result.oomKilled && code === 0 && out === 'stopped cleanly\n') tally.saves++;
        const term = result.guard.actions.find((a) => a.action === 'term');
        if (withGuard && term) {
          guarded.termMs.push(term.timeMs);
          guarded.rates.push(result.peak.bytes / MIB / (term.timeMs / 1000));
        }
      }
    }
    rows.push({
      id: `watchdog.term-${rate}`,
      name: `watchdog term, ${name}: OOM kills`,
      unit: `of ${trials}`,
      subject: guarded.kills,
      baseline: bare.kills,
      ratio: bare.kills > 0 ? guarded.kills / bare.kills : null,
      target: { max: 0, of: 'subject' },
      note:
        `saved ${guarded.saves}/${trials} (handler ran, exit 0, oom_kill 0); without the guard ${bare.saves}/${trials} saved, ` +
        `${bare.kills}/${trials} OOM-killed; SIGTERM at a median ${formatMs(median(guarded.termMs))}, ` +
        `about ${Math.round(median(guarded.rates))} MiB/s reached`,
      samples: { saves: guarded.saves, kills: guarded.kills, bareKills: bare.kills, termMs: guarded.termMs },
    });
  }
  return rows;
}

function formatMs(ms) {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a';
}
