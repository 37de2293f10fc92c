// 5. Capture size: bytes per cgroup sample line for an idle, a file-writing and an allocating job, and
// what per-process detail adds for 100 idle and 10 busy processes.
import fs from 'node:fs';
import path from 'node:path';
import { headroomArgs, JOBS, timed } from './lib/spawn.mjs';
import { median } from './lib/stats.mjs';
import { sleepersJob } from './self.mjs';

const SAMPLE = /^\[(-?\d|"K")/;
const PROCESS = /^\["[PpSX]"/;

/** Sizes in a capture; the baseline re-encodes every sample as a keyframe (absolute values). */
export function analyze(file) {
  const lines = fs.readFileSync(file, 'latin1').split('\n').filter(Boolean);
  const header = JSON.parse(lines[0]);
  let sampleBytes = 0;
  let samples = 0;
  let absoluteBytes = 0;
  let processBytes = 0;
  let pBytes = 0;
  let pLines = 0;
  let durationMs = 0;
  const pids = new Set();
  let time = 0;
  let values = [];
  for (const line of lines.slice(1)) {
    if (SAMPLE.test(line)) {
      const record = JSON.parse(line);
      if (record[0] === 'K') {
        time = record[1];
        values = record.slice(2);
      } else {
        time += record[0];
        values = values.map((value, i) => value + (record[i + 1] ?? 0));
      }
      samples++;
      sampleBytes += line.length + 1;
      absoluteBytes += JSON.stringify(['K', time, ...values]).length + 1;
    } else if (PROCESS.test(line)) {
      processBytes += line.length + 1;
      const record = JSON.parse(line);
      if (record[0] === 'P') pids.add(record[2]);
      if (record[0] === 'p') {
        pBytes += line.length + 1;
        pLines++;
      }
    } else if (line.startsWith('["END"')) {
      durationMs = JSON.parse(line)[2].durationMs;
    }
  }
  const seconds = durationMs / 1000;
  return {
    samples,
    bytesPerSample: sampleBytes / samples,
    absoluteBytesPerSample: absoluteBytes / samples,
    processes: pids.size,
    seconds,
    processBytesPerProcessSecond: pids.size ? processBytes / pids.size / seconds : 0,
    // Every process's memory written on every sample, and nothing else.
    everySampleBytesPerProcessSecond: pLines ? (pBytes / pLines) * (1000 / header.intervalMs) : 0,
    totalBytes: lines.reduce((sum, line) => sum + line.length + 1, 0),
  };
}

export async function run({ tmp, log, quick }) {
  const dir = path.join(tmp, 'capture-size');
  fs.mkdirSync(dir, { recursive: true });
  const reps = quick ? 1 : 3;
  const jobs = {
    idle: ['/bin/sleep', '3'],
    'write-file': [process.execPath, path.join(JOBS, 'write-file.mjs'), path.join(dir, 'big'), '1024', '0'],
    alloc: [process.execPath, path.join(JOBS, 'alloc.mjs'), '420'],
    '100 idle procs': sleepersJob(100, 5),
    '10 busy procs': [process.execPath, path.join(JOBS, 'busy.mjs'), '10', '5'],
  };
  const found = Object.fromEntries(Object.keys(jobs).map((name) => [name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, job] of Object.entries(jobs)) {
      if (rep >= 2 && name.includes('procs')) continue; // two runs are plenty for these, and they are long
      log(`capture-size: ${name} (${rep + 1}/${reps})`);
      const capture = path.join(dir, `${name.replace(/\W+/g, '-')}-${rep}.hrc`);
      fs.rmSync(capture, { force: true });
      await timed(process.execPath, headroomArgs(capture, job));
      found[name].push(analyze(capture));
    }
  }
  const rows = [];
  for (const name of ['idle', 'write-file', 'alloc']) {
    const runs = found[name];
    const subject = median(runs.map((r) => r.bytesPerSample));
    const baseline = median(runs.map((r) => r.absoluteBytesPerSample));
    rows.push({
      id: `capture.sample-${name}`,
      name: `bytes per cgroup sample, ${name} job`,
      unit: 'B',
      subject,
      baseline,
      ratio: subject / baseline,
      target: { max: 64, of: 'subject' },
      note: `${median(runs.map((r) => r.samples))} samples per run (baseline: every sample a keyframe)`,
      samples: {
        subject: runs.map((r) => r.bytesPerSample),
        baseline: runs.map((r) => r.absoluteBytesPerSample),
      },
    });
  }
  for (const name of ['100 idle procs', '10 busy procs']) {
    const runs = found[name];
    const subject = median(runs.map((r) => r.processBytesPerProcessSecond));
    const baseline = median(runs.map((r) => r.everySampleBytesPerProcessSecond));
    rows.push({
      id: `capture.per-process-${name.replace(/\W+/g, '-')}`,
      name: `per-process detail, ${name}`,
      unit: 'B/proc/s',
      subject,
      baseline,
      ratio: subject / baseline,
      target: null,
      note:
        `P/p/S/X lines over ${median(runs.map((r) => r.processes))} processes and ` +
        `${median(runs.map((r) => r.seconds)).toFixed(1)} s; capture ${median(runs.map((r) => r.totalBytes))} B ` +
        '(baseline: a "p" line for every process on every sample)',
      samples: { subject: runs.map((r) => r.processBytesPerProcessSecond) },
    });
  }
  return rows;
}
