import { type ChildProcess, spawn } from 'node:child_process';
import type { LeafMove } from '../kernel/index.js';

/**
 * A tiny shell that outlives headroom: it blocks reading a pipe whose only writer is headroom. If
 * headroom exits cleanly it writes "done" first; if headroom is killed (even by SIGKILL) the read sees
 * end-of-file, and the sentinel stops the job (SIGTERM, then SIGKILL after the grace period), removes
 * the job's cgroup, and notes in the capture what happened. So no job runs on unobserved.
 */
const SCRIPT = `
read line
[ "$line" = done ] && exit 0
cg="$1"; job="$2"; grace="$3"; capture="$4"; start="$5"; parent="$6"; leaf="$7"; enabled="$8"
# A capture that ends with END was finished by headroom: nothing is left to do.
tail -c 4096 "$capture" 2>/dev/null | grep -q '^["END"' && exit 0
members() { if [ -n "$cg" ]; then cat "$cg/cgroup.procs" 2>/dev/null; else kill -0 "$job" 2>/dev/null && echo "$job"; fi; }
now=$(date +%s%3N)
printf '\\n["E",%s,"note",{"message":"headroom was killed; its sentinel stopped the job (SIGTERM, then SIGKILL after %ss)"}]\\n' $((now - start)) "$grace" >> "$capture"
pids=$(members); [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
i=0
while [ $i -lt $((grace * 10)) ] && [ -n "$(members)" ]; do sleep 0.1; i=$((i + 1)); done
for round in 1 2 3 4 5; do
  pids=$(members); [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null; sleep 0.1
done
if [ -n "$cg" ]; then
  i=0; while ! rmdir "$cg" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
fi
# cgroup v2 leaf layout: once no other cgroup than the leaf is left, the memory controller goes off again
# and the leaf's processes (this sentinel among them) move back, as headroom itself would have done.
if [ -n "$leaf" ] && [ -z "$(find "$parent" -mindepth 1 -maxdepth 1 -type d ! -name "\${leaf##*/}" 2>/dev/null)" ]; then
  [ "$enabled" = 1 ] && echo -memory > "$parent/cgroup.subtree_control" 2>/dev/null
  for round in 1 2 3 4 5; do
    for pid in $(cat "$leaf/cgroup.procs" 2>/dev/null); do echo "$pid" > "$parent/cgroup.procs" 2>/dev/null; done
  done
  rmdir "$leaf" 2>/dev/null
fi
`;

export interface Sentinel {
  pid: number;
  /** Tells the sentinel headroom is finishing normally; it exits without touching anything. */
  release(): void;
}

export function startSentinel(options: {
  cgroupDir: string | null;
  /** The v2 leaf headroom moved into, to be undone like headroom would. */
  leaf?: LeafMove | undefined;
  jobPid: number;
  graceSeconds: number;
  capture: string;
  startMs: number;
}): Sentinel {
  const child: ChildProcess = spawn(
    '/bin/sh',
    [
      '-c',
      SCRIPT,
      'headroom-sentinel',
      options.cgroupDir ?? '',
      String(options.jobPid),
      String(Math.ceil(options.graceSeconds)),
      options.capture,
      String(options.startMs),
      options.leaf?.parentDir ?? '',
      options.leaf?.leafDir ?? '',
      options.leaf?.enabledMemory ? '1' : '0',
    ],
    // Its own process group: a Ctrl-C or a kill of headroom's group must not take it down too.
    { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
  );
  child.unref();
  const stdin = child.stdin;
  // The pipe must not keep headroom's event loop alive.
  (stdin as unknown as { unref?: () => void } | null)?.unref?.();
  stdin?.on('error', () => {});
  return {
    pid: child.pid ?? -1,
    release() {
      stdin?.end('done\n');
    },
  };
}
