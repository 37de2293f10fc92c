// Acceptance on a real cgroup v2 kernel: boots the Debian VM of test/vm once and runs every case of
// test/vm/cases in it (HRVM_CASES=a,b for a subset). Missing qemu or debootstrap fails here, loudly.
import { beforeAll, describe, expect, it } from 'vitest';
import { listCases, runInVm, type VmRun } from './vm.mjs';

const all = listCases();
const subset = (process.env.HRVM_CASES ?? '').split(',').filter(Boolean);
const cases = subset.length > 0 ? subset : all;

let run: VmRun | undefined;
const seconds = (ms: number | null) => (ms === null ? '?' : Math.round(ms / 1000));
let failure: unknown;

beforeAll(async () => {
  try {
    run = await runInVm({
      cases: subset,
      log: (message) => process.stderr.write(`cgroup-v2 VM: ${message}\n`),
      // Minutes pass in beforeAll: say each case's verdict as it comes, not only at the end.
      onLine: (line) => {
        const [, , verb, name, status, , ms] = line.split(' ');
        if (verb === 'END')
          process.stderr.write(`cgroup-v2 VM: ${name} ${status} in ${Number(ms) / 1000} s\n`);
      },
    });
    const t = run.times;
    process.stderr.write(
      `cgroup-v2 VM: rootfs ${t.rootfsBuilt ? `built in ${Math.round(t.rootfsMs / 1000)} s` : 'cached'}, ` +
        `payload ${(t.payloadMs / 1000).toFixed(1)} s, boot and suite ${Math.round(t.vmMs / 1000)} s ` +
        `(suite started after ${seconds(run.vm.startedMs)} s, done after ${seconds(run.vm.doneMs)} s)\n`,
    );
  } catch (error) {
    // Kept for every test to report: a beforeAll that throws would only say so once.
    failure = error;
  }
}, 30 * 60_000);

function completed(): VmRun {
  if (failure) throw failure;
  if (!run) throw new Error('the VM did not run');
  return run;
}

describe('cgroup v2 VM', () => {
  it('boots a v2-only kernel and completes the suite', () => {
    const { results, vm, consoleTail, workDir } = completed();
    const why = vm.timedOut
      ? 'qemu was killed at the deadline'
      : `qemu exited ${vm.exitCode ?? vm.signal}${vm.qemuOutput ? `: ${vm.qemuOutput}` : ''}`;
    expect(results.started, `no START from the guest; ${why}\n${consoleTail}`).not.toBeNull();
    expect(results.started?.cgroupFs).toBe('cgroup2fs');
    expect(
      results.done,
      `the suite did not complete (${why}; logs in ${workDir}):\n${consoleTail}`,
    ).not.toBeNull();
    expect(results.started?.count).toBe(cases.length);
  });

  for (const name of cases) {
    it(name, () => {
      const entry = completed().results.cases.get(name);
      if (!entry) throw new Error(`${name} did not run`);
      if (entry.status !== 'pass') {
        throw new Error(
          `${name}: ${entry.status} (exit ${entry.exitStatus}) after ${entry.ms} ms\n${entry.output}`,
        );
      }
    });
  }
});
