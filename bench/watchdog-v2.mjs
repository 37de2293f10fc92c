// 7b. The watchdog benchmark on cgroup v2: the same trials as bench/watchdog.mjs, at 95 % and 98 %, in
// the test VM (a real v2 kernel under systemd; this machine's memory controller is v1). Software
// emulation makes a trial take seconds, so fewer trials run than on v1.
import { runInVm } from '../test/vm/vm.mjs';

export async function run({ log, quick }) {
  const trials = quick ? 3 : 10;
  const vm = await runInVm({
    command: `node /opt/headroom/bench/watchdog-guest.mjs ${trials}`,
    caseTimeoutS: 3600,
    timeoutMs: 3700 * 1000,
    log: (message) => log(`watchdog-v2: ${message}`),
  });
  const [entry] = vm.results.cases.values();
  const rows = entry?.files['rows.json'];
  if (!vm.results.done || !rows)
    throw new Error(`the watchdog trials did not complete in the VM:\n${entry?.output ?? '(no output)'}`);
  return JSON.parse(String(rows));
}
