#!/bin/bash
# headroom as a systemd service with Delegate=yes (a transient one, waited for, its stdio piped): the job
# gets a cgroup of its own under the service with the --memory limit, and an OOM kill is named.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

service() { "${delegated_service[@]}" "$@"; }
rc=0
service headroom run -o "$PWD/fits.hrc" --memory 256m -- node "$jobs/allocate.mjs" 64 16 500 2>fits.err || rc=$?
show 'fits: headroom stderr' fits.err
[ "$rc" -eq 0 ] || fail "headroom in a service exited $rc"
summary_json fits.hrc fits.json
check_json fits.json \
  'd["cgroup"]["mode"] == "own"' \
  'd["cgroup"]["path"].startswith("/system.slice/run-")' \
  'd["limit"]["bytes"] == 256 * MiB' \
  'd["peak"]["breakdown"]["anon"] > 60 * MiB'

rc=0
service headroom run -o "$PWD/oom.hrc" --memory 256m -- node "$jobs/allocate.mjs" 1024 32 2>oom.err || rc=$?
show 'oom: headroom stderr' oom.err
[ "$rc" -eq 137 ] || fail "headroom in a service exited $rc, not 137"
summary_json oom.hrc oom.json
check_json oom.json 'd["oomKilled"] is True' 'd["oomKills"][0]["name"] == "node"'

# Without --memory, headroom steps into the job's cgroup for the fork and back into its leaf, so the job
# is born there and keeps the argv[0] it was given; the shell that joins instead (with a limit) would
# leave the resolved path there.
# (In a file: systemd expands $ in the command line it is given.)
cat > born.sh <<'SCRIPT'
tr '\0' '\n' < /proc/$$/cmdline | head -n 1 > born.txt
cat /proc/self/cgroup >> born.txt
SCRIPT
rc=0
service headroom run -q -- sh born.sh || rc=$?
show 'born: what the job saw' born.txt
[ "$rc" -eq 0 ] || fail "headroom in a service exited $rc"
[ "$(sed -n 1p born.txt)" = sh ] || fail "the job's argv[0] is $(sed -n 1p born.txt), not sh: it was not born in its cgroup"
grep -Eq '^0::/system\.slice/run-[^/]+\.service/headroom-[0-9]+-' born.txt || fail "the job was not in a cgroup of its own"
