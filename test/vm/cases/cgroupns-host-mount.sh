#!/bin/bash
# Like a privileged container under Docker's default private cgroup namespace with the host's
# /sys/fs/cgroup mounted in: /proc/self/cgroup says "/" and the mount's root is "/..". headroom must find
# the 300M scope it really runs in (the cgroup whose cgroup.procs lists it), not the host's root, and
# name the OOM kill as one.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

printf 'jobs=%q\n' "$jobs" >inside.sh
cat >>inside.sh <<'SH'
set -u
cat /proc/self/cgroup >self.cgroup
grep ' /sys/fs/cgroup ' /proc/self/mountinfo >mount.txt
headroom limits --json >limits.json 2>limits.err; echo $? >limits.rc
headroom run -o oom.hrc --observe --no-guard -- python3 "$jobs/alloc-rate.py" 0 16 >oom.out 2>oom.err; echo $? >oom.rc
SH
systemd-run --scope -p MemoryMax=300M -p MemorySwapMax=0 -p OOMPolicy=continue --quiet unshare -C bash inside.sh || true
for f in self.cgroup mount.txt limits.err oom.err; do show "$f" "$f"; done
[ "$(cat self.cgroup)" = '0::/' ] || fail 'the namespace does not put the process at its root'
grep -q ' /\.\.' mount.txt || fail "the host's mount is not seen from below its root"

[ "$(cat limits.rc)" -eq 0 ] || fail "headroom limits exited $(cat limits.rc)"
check_json limits.json \
  'd["limit"]["bytes"] == 300 * MiB' \
  'd["cgroup"]["version"] == 2' \
  'd["cgroup"]["path"].endswith(".scope")'

[ "$(cat oom.rc)" -eq 137 ] || fail "the OOM run exited $(cat oom.rc), not 137"
summary_json oom.hrc oom.json
check_json oom.json \
  'd["limit"]["bytes"] == 300 * MiB' \
  'd["oomKilled"] is True' \
  'd["oomKills"][0]["name"] == "python3"'
