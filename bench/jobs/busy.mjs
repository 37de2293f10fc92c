// `node busy.mjs N SECONDS`: forks N children that allocate and free memory in waves for SECONDS, so
// every child's RSS changes on most samples.
import { fork } from 'node:child_process';

const [mode, arg1] = process.argv.slice(2);
if (mode === '--child') {
  const until = Date.now() + Number(arg1) * 1000;
  let held = [];
  let step = 0;
  const wave = () => {
    if (Date.now() >= until) return;
    // Grow to about 32 MiB over a second, then drop it all.
    if (step++ % 10 === 9) held = [];
    else held.push(Buffer.alloc(3 * 1024 * 1024, step & 0xff));
    setTimeout(wave, 100);
  };
  wave();
} else {
  const count = Number(mode ?? 10);
  const seconds = Number(arg1 ?? 5);
  const children = [];
  for (let i = 0; i < count; i++) children.push(fork(import.meta.filename, ['--child', String(seconds)]));
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
}
