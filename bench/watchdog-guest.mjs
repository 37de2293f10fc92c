// Runs inside the cgroup v2 VM (bench/watchdog-v2.mjs boots it): the watchdog trials at 95 % and 98 %,
// each headroom started as the README says on a systemd host, in a delegated scope. Writes the rows to
// $HRVM_RESULTS/rows.json for the host to read back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { watchdogRows } from './watchdog.mjs';

const trials = Number(process.argv[2] ?? 5);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-'));
const rows = await watchdogRows({
  tmp,
  log: (line) => console.log(line),
  trials,
  thresholds: [95, 98],
  idPrefix: 'watchdog-v2',
  prefix: ['systemd-run', '--scope', '-p', 'Delegate=yes', '--quiet'],
});
fs.writeFileSync(path.join(process.env.HRVM_RESULTS ?? tmp, 'rows.json'), JSON.stringify(rows));
for (const row of rows) console.log(`${row.name}: ${row.subject} ${row.unit}; ${row.note}`);
