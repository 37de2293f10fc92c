#!/bin/bash
# headroom limits on a real v2 host: in a delegated scope it names the scope's MemoryMax; run from a
# process in the root cgroup (no limit, no memory.max there) it must still answer, not fail.
# timeout: 120
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

delegated -p MemoryMax=300M headroom limits --json >scope.json
check_json scope.json \
  'd["available"] is True' \
  'd["cgroup"]["version"] == 2' \
  'd["limit"]["bytes"] == 300 * MiB' \
  'd["limit"]["source"]["file"] == "memory.max"' \
  'd["cgroup"]["readOnly"] is False' \
  'd["jobCgroup"]["how"] == "beside-leaf"'
delegated -p MemoryMax=300M headroom limits >scope.txt
show 'limits in a scope' scope.txt
grep -q '^memory limit 300 MiB' scope.txt || fail 'the text form does not say "memory limit 300 MiB"'
grep -q "moves this cgroup's processes into a leaf" scope.txt || fail 'limits does not say how a job gets its cgroup here'

rc=0
sh -c 'echo $$ >/sys/fs/cgroup/cgroup.procs && exec headroom limits --json' >root.json 2>root.err || rc=$?
show 'limits at the root cgroup: stderr' root.err
[ "$rc" -eq 0 ] || fail "headroom limits at the root cgroup exited $rc"
check_json root.json \
  'd["available"] is True' \
  'd["cgroup"]["version"] == 2' \
  'd["limit"]["bytes"] is None' \
  'd["usage"]["usage"] > 0' \
  'd["jobCgroup"]["how"] == "child"'

rc=0
sh -c 'echo $$ >/sys/fs/cgroup/cgroup.procs && exec headroom run --observe -o root.hrc -- python3 "$0/fork-workers.py" 1 20 1' "$jobs" \
  >root-run.out 2>root-run.err || rc=$?
show 'run --observe at the root cgroup: stderr' root-run.err
[ "$rc" -eq 0 ] || fail "headroom run --observe at the root cgroup exited $rc"
summary_json root.hrc root-run.json
check_json root-run.json \
  'd["cgroup"]["mode"] == "observe"' \
  'd["cgroup"]["path"] == "/"' \
  'd["peak"]["bytes"] > 0'
