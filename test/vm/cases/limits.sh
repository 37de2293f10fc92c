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
  'd["cgroup"]["readOnly"] is False'
delegated -p MemoryMax=300M headroom limits >scope.txt
show 'limits in a scope' scope.txt
grep -q '^memory limit 300 MiB' scope.txt || fail 'the text form does not say "memory limit 300 MiB"'

rc=0
sh -c 'echo $$ >/sys/fs/cgroup/cgroup.procs && exec headroom limits --json' >root.json 2>root.err || rc=$?
show 'limits at the root cgroup: stderr' root.err
[ "$rc" -eq 0 ] || fail "headroom limits at the root cgroup exited $rc"
check_json root.json \
  'd["available"] is True' \
  'd["cgroup"]["version"] == 2' \
  'd["limit"]["bytes"] is None' \
  'd["usage"]["usage"] > 0'
