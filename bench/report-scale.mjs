// 6. The HTML report at scale: `headroom report` on a synthetic 24-hour capture at 10 Hz (864,000 samples,
// OOM kills at known times, one sharp one-sample spike as the true peak) must finish in 3 s into at most
// 5 MB, and keep the peak and every OOM kill in what it draws. Baseline, side by side in the same rounds:
// `headroom summary --json` on the same capture (reading and summarizing it, without the HTML).
import fs from 'node:fs';
import path from 'node:path';
import { SAMPLE_FIELDS } from '../dist/record/capture-format.js';
import { CaptureWriter } from '../dist/record/capture-writer.js';
import { HEADROOM, timed } from './lib/spawn.mjs';
import { MIB, median } from './lib/stats.mjs';

const HOURS = 24;
const INTERVAL_MS = 100;
const SAMPLES = (HOURS * 3600 * 1000) / INTERVAL_MS;
const LIMIT = 1024 * MIB;
/** The one sample that is the true peak, and its usage. */
const SPIKE_INDEX = 500_017;
const SPIKE_BYTES = 1000 * MIB;
/** OOM kills, ms since the start. */
export const OOM_KILL_MS = [3 * 3600_000 + 1234_500, 9.5 * 3600_000, 17 * 3600_000 + 42_100];
const MAX_SECONDS = 3;
const MAX_BYTES = 5 * 1000 * 1000;

/** Writes the synthetic capture; returns the true peak in bytes as the reader will see it (KiB-rounded). */
export function writeDayCapture(file) {
  const header = {
    format: 'headroom-capture',
    version: 1,
    tool: 'headroom bench',
    hostname: 'bench-host',
    kernel: '6.1.0',
    startMs: Date.UTC(2026, 0, 1),
    intervalMs: INTERVAL_MS,
    command: ['python', 'nightly-etl.py', '--day', '2026-01-01'],
    component: 'etl',
    cgroup: { version: 2, path: '/bench/etl', mode: 'own', ancestorsHidden: false },
    limit: { bytes: LIMIT, source: 'memory.max of /bench/etl', high: null, swapBytes: 0 },
    requested: { memory: LIMIT, memorySwap: LIMIT },
    hostMemory: { total: 16384 * MIB, swapTotal: 0 },
    fields: [...SAMPLE_FIELDS],
  };
  fs.rmSync(file, { force: true });
  const writer = new CaptureWriter(file, header);
  const kills = OOM_KILL_MS.map((ms) => Math.round(ms / INTERVAL_MS));
  const workers = [101, 102, 103, 104, 105, 106];
  writer.processStart(0, 100, 1, 'python', header.command);
  for (const pid of workers) {
    writer.processStart(0, pid, 100, 'python', ['python', '-c', `worker(${pid})`]);
  }
  let oomKills = 0;
  let limitHits = 0;
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < SAMPLES; i++) {
    const t = i * INTERVAL_MS;
    const hour = t / 3600_000;
    // A daily rhythm, a slow sawtooth of page cache, noise; kept well below the spike.
    const anon = Math.round((300 + 150 * Math.sin(hour / 3) + 20 * random()) * MIB);
    const file = Math.round((200 + 3 * ((i % 36_000) / 600) + 10 * random()) * MIB);
    const dirty = Math.round(file * 0.2 * random());
    const spike = i === SPIKE_INDEX ? SPIKE_BYTES - (anon + file + 24 * MIB) : 0;
    const usage = anon + spike + file + 24 * MIB;
    if (kills.includes(i)) {
      oomKills++;
      writer.event({ kind: 'oom-kill', timeMs: t, count: 1, victims: [{ pid: 106, name: 'python' }] });
    }
    if (i % 20_000 === 7) {
      limitHits++;
      writer.event({ kind: 'limit-hit', timeMs: t, count: 1, total: limitHits });
    }
    writer.sample(t, {
      usage,
      anon: anon + spike,
      file,
      activeFile: Math.round(file / 2),
      inactiveFile: Math.round(file / 2),
      fileDirty: dirty,
      fileWriteback: 0,
      shmem: 4 * MIB,
      kernel: 20 * MIB,
      swap: 0,
      peak: -1,
      oomKills,
      limitHits,
      highHits: 0,
      psiSome: -1,
      psiFull: -1,
      self: 0,
    });
    if (i % 100 === 0) {
      for (const pid of workers) {
        const share = Math.round(anon / 8 + (pid - 100) * 3 * MIB * random());
        writer.processMemory(t, {
          pid,
          ppid: 100,
          name: 'python',
          rssAnon: share,
          rssFile: 8 * MIB,
          rssShmem: 0,
          swap: 0,
        });
      }
    }
    if (i % 5000 === 0) writer.flush();
  }
  const durationMs = SAMPLES * INTERVAL_MS;
  writer.end(durationMs, {
    exitCode: 0,
    signal: null,
    status: 0,
    durationMs,
    peakBytes: null,
    oomKills,
    limitHits,
  });
  writer.close();
  return Math.round(SPIKE_BYTES / 1024) * 1024;
}

/** The JSON data embedded in a report. */
export function embeddedData(html) {
  const match = /<script type="application\/json" id="headroom-data">([^<]*)<\/script>/.exec(html);
  if (!match) throw new Error('the report holds no data element');
  return JSON.parse(match[1]);
}

export async function run({ tmp, log, quick }) {
  const dir = path.join(tmp, 'report-scale');
  fs.mkdirSync(dir, { recursive: true });
  const capture = path.join(dir, 'day.hrc');
  log(`report-scale: writing a ${HOURS} h capture at ${1000 / INTERVAL_MS} Hz (${SAMPLES} samples)`);
  const peak = writeDayCapture(capture);
  const captureBytes = fs.statSync(capture).size;
  const report = path.join(dir, 'day.html');
  const rounds = quick ? 1 : 3;
  const reportMs = [];
  const summaryMs = [];
  for (let round = 0; round < rounds; round++) {
    log(`report-scale: round ${round + 1}/${rounds}`);
    const both = [
      async () => reportMs.push(await timed(process.execPath, [HEADROOM, 'report', capture, '-o', report])),
      async () => summaryMs.push(await timed(process.execPath, [HEADROOM, 'summary', '--json', capture])),
    ];
    if (round % 2) both.reverse();
    for (const step of both) await step();
  }
  const html = fs.readFileSync(report, 'utf8');
  const data = embeddedData(html);
  const usage = data.timeline.usage;
  const drawnPeak = Math.max(...usage.filter((v) => v !== null));
  const kills = data.timeline.oomKills.map((kill) => kill.timeMs);
  const missingKills = OOM_KILL_MS.filter((ms) => !kills.includes(ms) || !data.timeline.timeMs.includes(ms));
  const problems = [];
  if (drawnPeak !== peak) problems.push(`the drawn peak is ${drawnPeak}, not the true ${peak}`);
  if (data.peak.bytes !== peak) problems.push(`the summary peak is ${data.peak.bytes}, not ${peak}`);
  if (missingKills.length) problems.push(`OOM kills missing at ${missingKills.join(', ')} ms`);
  const points = data.timeline.timeMs.length;
  if (points > 4100) problems.push(`${points} points drawn, more than ~4000`);
  if (problems.length) throw new Error(`report-scale: ${problems.join('; ')}`);

  const subject = median(reportMs);
  const baseline = median(summaryMs);
  const note =
    `${SAMPLES} samples (${(captureBytes / MIB).toFixed(0)} MiB capture) drawn as ${points} points; ` +
    `peak ${peak} B and ${OOM_KILL_MS.length} OOM kills kept; baseline: headroom summary --json on it`;
  return [
    {
      id: 'report.time-24h',
      name: `headroom report, ${HOURS} h at 10 Hz`,
      unit: 's',
      subject: subject / 1000,
      baseline: baseline / 1000,
      ratio: subject / baseline,
      target: { max: MAX_SECONDS, of: 'subject' },
      note,
      samples: { subject: reportMs, baseline: summaryMs },
    },
    {
      id: 'report.size-24h',
      name: `report size, ${HOURS} h at 10 Hz`,
      unit: 'MB',
      subject: Buffer.byteLength(html) / 1e6,
      baseline: captureBytes / 1e6,
      ratio: Buffer.byteLength(html) / captureBytes,
      target: { max: MAX_BYTES / 1e6, of: 'subject' },
      note: 'baseline: the capture file',
    },
  ];
}
