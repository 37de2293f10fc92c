// Baseline for headroom's own CPU: the least a sampler can do. `node bare-poller.mjs PARENT_DIR OWNER_PID`
// waits for headroom's job cgroup (PARENT_DIR/headroom-OWNER_PID-*) and then, every 100 ms, reads the
// cgroup's usage and memory.stat and each process's /proc/PID/status (open, read, close), parsing nothing,
// until the cgroup is gone.
import fs from 'node:fs';
import path from 'node:path';

const [parent, owner] = process.argv.slice(2);
const prefix = `headroom-${owner}-`;
let dir;
const find = () => {
  dir = fs
    .readdirSync(parent)
    .filter((entry) => entry.startsWith(prefix))
    .map((entry) => path.join(parent, entry))[0];
  if (!dir) setTimeout(find, 20);
  else poll();
};
let bytes = 0;
const poll = () => {
  let procs;
  try {
    bytes += fs.readFileSync(path.join(dir, 'memory.usage_in_bytes')).length;
    bytes += fs.readFileSync(path.join(dir, 'memory.stat')).length;
    procs = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'latin1');
  } catch {
    return; // cgroup gone: the job ended
  }
  for (const pid of procs.split('\n')) {
    if (!pid) continue;
    try {
      bytes += fs.readFileSync(`/proc/${pid}/status`).length;
    } catch {
      // exited
    }
  }
  setTimeout(poll, 100);
};
find();
process.on('exit', () => {
  if (bytes < 0) console.log(bytes);
});
