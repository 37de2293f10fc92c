// npm run test:busy: the suite while one busy loop per core keeps the machine loaded, as CI machines and
// users' hosts are. Timing-sensitive tests that pass only on a quiet machine fail here.
//
// By default it runs the v1 suite and the diagnosis corpus (`vitest run`), then the single executable's
// chroot test. `--vm` adds the cgroup v2 VM, whose emulated kernel is slowed by the loops as a whole.
// Arguments after `--` go to the first vitest run (a file filter, for instance).
import { spawn } from 'node:child_process';
import os from 'node:os';

const args = process.argv.slice(2);
const dashes = args.indexOf('--');
const withVm = args.includes('--vm');
const filter = dashes >= 0 ? args.slice(dashes + 1) : [];

const runs = [
  ['vitest', 'run', ...filter],
  ...(filter.length === 0 ? [['vitest', 'run', '-c', 'vitest.exe.config.ts']] : []),
  ...(withVm && filter.length === 0 ? [['vitest', 'run', '-c', 'vitest.vm.config.ts']] : []),
];

const loops = Array.from({ length: os.availableParallelism() }, () =>
  spawn('sh', ['-c', 'exec yes > /dev/null'], { stdio: 'ignore' }),
);
const stopLoops = () => {
  for (const loop of loops) if (loop.exitCode === null && loop.signalCode === null) loop.kill('SIGKILL');
};
process.on('exit', stopLoops);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopLoops();
    process.exit(130);
  });
}

const started = Date.now();
console.log(`test:busy: ${loops.length} busy loops (yes > /dev/null), one per core`);
let status = 0;
for (const command of runs) {
  status = await new Promise((resolve) => {
    const child = spawn('npx', command, { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  if (status !== 0) break;
}
stopLoops();
console.log(
  `test:busy: ${status === 0 ? 'passed' : `failed (exit ${status})`} in ${Math.round((Date.now() - started) / 1000)} s under load`,
);
process.exit(status);
