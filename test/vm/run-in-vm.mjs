#!/usr/bin/env node
// Boots the cgroup v2 test VM once and prints what ran in it. For developers and benchmarks:
//   node test/vm/run-in-vm.mjs                      every case in test/vm/cases
//   node test/vm/run-in-vm.mjs --cases limits,oom-kill
//   node test/vm/run-in-vm.mjs [--timeout S] [--out DIR] -- 'headroom limits; cat /proc/meminfo'
// --out DIR writes each case's output and result files there. Exit status 0 only when the run completed
// and every case passed. Needs `npm run build` first (the VM runs dist/).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runInVm } from './vm.mjs';

const split = process.argv.indexOf('--');
const { values } = parseArgs({
  args: process.argv.slice(2, split === -1 ? undefined : split),
  options: {
    cases: { type: 'string' },
    timeout: { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
});
const command = split === -1 ? undefined : process.argv.slice(split + 1).join(' ');
if (command !== undefined && command.trim() === '') {
  console.error('run-in-vm: nothing after --');
  process.exit(2);
}

const decode = (line) => {
  const [, , verb, ...rest] = line.split(' ');
  if (verb === 'BEGIN') return `  ${rest[0]} ...`;
  if (verb === 'END')
    return `  ${rest[0]} ${rest[1]} (exit ${rest[2]}, ${(Number(rest[3]) / 1000).toFixed(1)} s)`;
  if (verb === 'START') return `  kernel ${rest[1]}, /sys/fs/cgroup is ${rest[2]}`;
  return null;
};

const seconds = (ms) => (ms === null ? '?' : (ms / 1000).toFixed(0));

const run = await runInVm({
  cases: values.cases ? values.cases.split(',').filter(Boolean) : [],
  command,
  caseTimeoutS: values.timeout ? Number(values.timeout) : undefined,
  keep: values.keep,
  log: (message) => console.error(`run-in-vm: ${message}`),
  onLine: (line) => {
    const text = decode(line);
    if (text && !values.quiet) console.error(text);
  },
});

const { results } = run;
for (const entry of results.cases.values()) {
  console.log(`===== ${entry.name}: ${entry.status} (exit ${entry.exitStatus}, ${entry.ms} ms)`);
  if (!values.quiet || entry.status !== 'pass') process.stdout.write(entry.output);
  if (values.out) {
    const dir = path.join(values.out, entry.name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'output.txt'), entry.output);
    for (const [name, data] of Object.entries(entry.files)) fs.writeFileSync(path.join(dir, name), data);
  }
}
const t = run.times;
console.log(
  `===== ${results.done ? `completed: ${results.done.passed} passed, ${results.done.failed} failed` : 'DID NOT COMPLETE'}` +
    ` | rootfs ${t.rootfsBuilt ? `built in ${(t.rootfsMs / 1000).toFixed(0)} s` : 'cached'}, payload ${(t.payloadMs / 1000).toFixed(1)} s, VM ${(t.vmMs / 1000).toFixed(0)} s` +
    ` (boot ${seconds(run.vm.startedMs)} s, suite ${seconds(run.vm.doneMs === null || run.vm.startedMs === null ? null : run.vm.doneMs - run.vm.startedMs)} s)`,
);
if (!results.done) {
  console.log(
    run.vm.timedOut ? 'qemu was killed at the deadline' : `qemu exited ${run.vm.exitCode ?? run.vm.signal}`,
  );
  console.log(`console (tail; full log in ${run.workDir}):\n${run.consoleTail}`);
}
process.exit(results.done && results.done.failed === 0 ? 0 : 1);
