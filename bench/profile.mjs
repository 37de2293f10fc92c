// Not part of run-all: profiles headroom with node --cpu-prof and prints where its CPU goes.
//   node bench/profile.mjs [SECONDS]   sampling a job of 100 idle processes at 10 Hz for SECONDS (10)
//   node bench/profile.mjs startup      `headroom run -- true`: node boot, module loading, setup, summary
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HEADROOM, ROOT, timed } from './lib/spawn.mjs';
import { sleepersJob } from './self.mjs';

const mode = process.argv[2] ?? '10';
const job = mode === 'startup' ? ['/bin/true'] : sleepersJob(100, Number(mode));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-profile-'));

function top(entries, count) {
  return [...entries].sort((a, b) => b[1] - a[1]).slice(0, count);
}

try {
  const wall = await timed(process.execPath, [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    HEADROOM,
    'run',
    '--quiet',
    '-o',
    path.join(dir, 'capture.hrc'),
    '--',
    ...job,
  ]);
  const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map();
  const byFile = new Map();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]).callFrame;
    const us = profile.timeDeltas[i] ?? 0;
    if (frame.functionName === '(idle)') continue;
    busy += us;
    const url = frame.url.startsWith('file://')
      ? path.relative(ROOT, new URL(frame.url).pathname)
      : frame.url;
    const where = url ? `${url}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const group = url.startsWith('node_modules/')
      ? url.split('/').slice(0, 2).join('/')
      : url || frame.functionName;
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  }
  const line = (key, us) =>
    `${(us / 1000).toFixed(1).padStart(9)} ms  ${((us / busy) * 100).toFixed(1).padStart(5)} %  ${key}`;
  const total = (profile.endTime - profile.startTime) / 1000;
  console.log(
    `wall ${wall.toFixed(0)} ms (profiled ${total.toFixed(0)} ms after node boot), on CPU ${(busy / 1000).toFixed(0)} ms`,
  );
  console.log('\nby function (self time)');
  for (const [key, us] of top(byFunction, 20)) console.log(line(key, us));
  console.log('\nby file (self time)');
  for (const [key, us] of top(byFile, 15)) console.log(line(key, us));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
