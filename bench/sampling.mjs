// 2. Sampling cost per process per sample (the real Sampler against a bare open/read/close loop), how
// often PSS is read, and (part of 3) the tick time with 1000 processes in the cgroup.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPss } from '../dist/kernel/index.js';
import { CAPTURE_FORMAT, CAPTURE_VERSION, SAMPLE_FIELDS } from '../dist/record/capture-format.js';
import { CaptureWriter } from '../dist/record/capture-writer.js';
import { Sampler } from '../dist/record/sampler.js';
import { TestCgroup } from './lib/cgroup.mjs';
import { median, medianInterval, percentile } from './lib/stats.mjs';

const INTERVAL_MS = 100;

function header(cgroup) {
  return {
    format: CAPTURE_FORMAT,
    version: CAPTURE_VERSION,
    tool: 'headroom bench',
    hostname: os.hostname(),
    kernel: os.release(),
    startMs: Date.now(),
    intervalMs: INTERVAL_MS,
    command: ['sleep', '600'],
    component: null,
    cgroup: { version: cgroup.version, path: cgroup.path, mode: 'own', ancestorsHidden: false },
    limit: { bytes: null, source: 'no limit set', high: null, swapBytes: null },
    requested: { memory: null, memorySwap: undefined },
    hostMemory: { total: os.totalmem(), swapTotal: 0 },
    fields: [...SAMPLE_FIELDS],
  };
}

let sink = 0;

function countPerTime(timesByPid) {
  const counts = new Map();
  for (const times of timesByPid.values()) for (const t of times) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/** What a sampler must do at least: open, read and close each process's status file. */
function bareRound(pids) {
  for (const pid of pids) sink += fs.readFileSync(`/proc/${pid}/status`).length;
}

/**
 * The real Sampler on a cgroup of `count` sleeping processes, ticked with a clock that advances one
 * 100 ms interval per tick (so its PSS schedule is the one it follows at 10 Hz), in blocks alternating
 * with blocks of the bare loop over the same pids.
 */
async function measure({ tmp, count, blocks, ticksPerBlock }) {
  const cg = new TestCgroup(`tick${count}`);
  try {
    if (count > 0) await cg.fill(count);
    const pids = cg.pids();
    const file = path.join(tmp, `sampling-${count}.hrc`);
    fs.rmSync(file, { force: true });
    const writer = new CaptureWriter(file, header(cg.cgroup));
    let clock = 0;
    const sampler = new Sampler({
      cgroup: cg.cgroup,
      writer,
      startMs: 0,
      excludePids: new Set(),
      recordSelf: false,
      now: () => clock,
    });
    const firstStart = performance.now();
    sampler.tick(); // first sight: opens a reader per process, reads argv and PSS of each
    const firstTickMs = performance.now() - firstStart;
    clock += INTERVAL_MS;
    let ticks = 1;

    const baseline = [];
    const subject = [];
    const tickTimes = [];
    const runBaseline = () => {
      const started = performance.now();
      for (let round = 0; round < ticksPerBlock; round++) bareRound(pids);
      baseline.push((performance.now() - started) / ticksPerBlock);
    };
    const runSubject = () => {
      const started = performance.now();
      for (let round = 0; round < ticksPerBlock; round++) {
        const tickStart = performance.now();
        sampler.tick();
        tickTimes.push(performance.now() - tickStart);
        clock += INTERVAL_MS;
      }
      ticks += ticksPerBlock;
      subject.push((performance.now() - started) / ticksPerBlock);
    };
    for (let block = 0; block < blocks; block++) {
      if (block % 2 === 0) {
        runBaseline();
        runSubject();
      } else {
        runSubject();
        runBaseline();
      }
    }
    sampler.stop();
    ticks++;
    writer.close();

    const records = { S: 0, p: 0, P: 0, sample: 0 };
    const pssTimes = new Map();
    for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
      if (line.startsWith('["S"')) {
        records.S++;
        const [, timeMs, pid] = JSON.parse(line);
        pssTimes.set(pid, [...(pssTimes.get(pid) ?? []), timeMs]);
      } else if (line.startsWith('["p"')) records.p++;
      else if (line.startsWith('["P"')) records.P++;
      else if (/^\[(-?\d|"K")/.test(line)) records.sample++;
    }

    // What one smaps_rollup read costs for these processes, to turn S records into time.
    const pssCosts = [];
    for (let round = 0; round < 3; round++) {
      for (const pid of pids) {
        const started = performance.now();
        readPss(pid);
        pssCosts.push(performance.now() - started);
      }
    }
    const pssCostMs = median(pssCosts);
    // Samples between two PSS reads of the same process, in the steady state after the first read.
    const gaps = [];
    for (const times of pssTimes.values()) {
      for (let i = 1; i < times.length; i++) gaps.push((times[i] - times[i - 1]) / INTERVAL_MS);
    }
    const pssGap = median(gaps);
    const simulatedMs = ticks * INTERVAL_MS;
    return {
      processes: pids.length,
      ticks,
      firstTickMs,
      tickMs: median(subject),
      baselineMs: median(baseline),
      tickP90Ms: percentile(tickTimes, 90),
      tickMaxMs: Math.max(...tickTimes),
      blocks: { subject, baseline },
      records,
      pssCostMs,
      pssPerProcessSample: pids.length ? records.S / (ticks * pids.length) : 0,
      pssGap,
      pssMaxPerTick: Math.max(0, ...[...countPerTime(pssTimes).values()]),
      pssShare: (records.S * pssCostMs) / simulatedMs,
    };
  } finally {
    cg.destroy();
  }
}

export async function run({ tmp, log, quick }) {
  log('sampling: empty cgroup (fixed cost of a tick)');
  const empty = await measure({ tmp, count: 0, blocks: 5, ticksPerBlock: 200 });
  log('sampling: 100 sleeping processes');
  const hundred = await measure({ tmp, count: 100, blocks: quick ? 3 : 9, ticksPerBlock: 100 });
  log('sampling: 1000 sleeping processes');
  const thousand = await measure({ tmp, count: 1000, blocks: quick ? 2 : 7, ticksPerBlock: 30 });
  if (sink < 0) log(String(sink));

  const perProcess = (m) => (m.tickMs / m.processes) * 1000;
  const basePerProcess = (m) => (m.baselineMs / m.processes) * 1000;
  const blockRatios = hundred.blocks.subject.map((value, i) => value / hundred.blocks.baseline[i]);
  const marginal = ((hundred.tickMs - empty.tickMs) / hundred.processes) * 1000;
  const pssRow = (m) => ({
    id: `sampling.pss-rate-${m.processes}`,
    name: `PSS reads per process-sample, ${m.processes} procs`,
    unit: 'reads',
    // With many processes the budget may not come round to any process twice in the run: then the
    // overall rate, first reads included, is the steady rate's upper bound.
    subject: Number.isFinite(m.pssGap) ? 1 / m.pssGap : m.pssPerProcessSample,
    baseline: 1,
    ratio: Number.isFinite(m.pssGap) ? 1 / m.pssGap : m.pssPerProcessSample,
    target: { max: 0.1, of: 'subject' },
    note:
      `${Number.isFinite(m.pssGap) ? `steady state: each process's PSS read every ${m.pssGap} samples` : 'no process read twice'}; ${m.records.S} S records over ` +
      `${m.ticks} ticks x ${m.processes} procs (${m.pssPerProcessSample.toFixed(3)} incl. first sight); ` +
      `up to ${m.pssMaxPerTick} PSS reads in one tick (baseline: every sample)`,
  });
  const shareRow = (m) => ({
    id: `sampling.pss-share-${m.processes}`,
    name: `time reading PSS at 10 Hz, ${m.processes} procs`,
    unit: '% wall',
    subject: m.pssShare * 100,
    baseline: null,
    ratio: null,
    target: { max: 1, of: 'subject' },
    note: `smaps_rollup read ${(m.pssCostMs * 1000).toFixed(1)} us each; ${m.records.S} reads in ${(m.ticks * INTERVAL_MS) / 1000} s`,
  });
  return [
    {
      id: 'sampling.per-process-100',
      name: 'sample cost per process, 100 procs',
      unit: 'us',
      subject: perProcess(hundred),
      baseline: basePerProcess(hundred),
      // Blocks of ticks and of bare rounds alternate; each adjacent pair gives a ratio.
      ratio: median(blockRatios),
      interval: medianInterval(blockRatios),
      target: { max: 1.25, of: 'ratio' },
      note:
        `tick ${(hundred.tickMs * 1000).toFixed(0)} us (p90 ${(hundred.tickP90Ms * 1000).toFixed(0)}, ` +
        `max ${(hundred.tickMaxMs * 1000).toFixed(0)}); empty-cgroup tick ${(empty.tickMs * 1000).toFixed(0)} us; ` +
        `marginal ${marginal.toFixed(2)} us/proc; first tick ${hundred.firstTickMs.toFixed(1)} ms; ` +
        `ratio of medians ${(hundred.tickMs / hundred.baselineMs).toFixed(3)}`,
      samples: hundred.blocks,
      extra: { empty, hundred: { ...hundred, blocks: undefined } },
    },
    pssRow(hundred),
    shareRow(hundred),
    {
      id: 'sampling.tick-1000',
      name: 'tick time, 1000 procs',
      unit: 'ms',
      subject: thousand.tickMs,
      baseline: thousand.baselineMs,
      ratio: thousand.tickMs / thousand.baselineMs,
      target: { max: 100, of: 'subject' },
      note:
        `${perProcess(thousand).toFixed(2)} us/proc vs bare ${basePerProcess(thousand).toFixed(2)}; ` +
        `p90 ${thousand.tickP90Ms.toFixed(1)} ms, max ${thousand.tickMaxMs.toFixed(1)} ms, ` +
        `first tick ${thousand.firstTickMs.toFixed(1)} ms`,
      samples: thousand.blocks,
      extra: { thousand: { ...thousand, blocks: undefined } },
    },
    pssRow(thousand),
    shareRow(thousand),
  ];
}
