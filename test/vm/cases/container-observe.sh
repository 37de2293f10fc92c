#!/bin/bash
# Like `docker run --memory 300m`: a 300M scope seen from its own cgroup namespace, with /sys/fs/cgroup a
# read-only cgroup2 mount of it. headroom limits names the 300 MiB limit and the read-only tree,
# headroom run observes the container instead of making a cgroup, and an OOM victim is named.
# timeout: 180
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

printf 'jobs=%q\n' "$jobs" >inside.sh
cat >>inside.sh <<'SH'
set -u
# The host's cgroup2 superblock cannot be mounted twice on one mount point: take the old mount away.
umount -l /sys/fs/cgroup && mount -t cgroup2 -o ro none /sys/fs/cgroup || { echo 'mount failed' >mount.failed; exit 1; }
headroom limits --json >limits.json 2>limits.err; echo $? >limits.rc
headroom limits >limits.txt 2>&1
headroom run -o observe.hrc -- python3 "$jobs/fork-workers.py" 2 40 1 >observe.out 2>observe.err; echo $? >observe.rc
headroom run -o oom.hrc --no-guard -- python3 "$jobs/alloc-rate.py" 0 16 >oom.out 2>oom.err; echo $? >oom.rc
SH
# OOMPolicy=continue: by default systemd stops a unit when the kernel OOM-kills one of its processes;
# a container runtime does not stop the container for it.
systemd-run --scope -p MemoryMax=300M -p MemorySwapMax=0 -p OOMPolicy=continue --quiet unshare -Cm bash inside.sh || true
[ ! -e mount.failed ] || fail 'could not mount a read-only cgroup2 in the namespace'
for f in limits.err limits.txt observe.err oom.err; do show "$f" "$f"; done

[ "$(cat limits.rc)" -eq 0 ] || fail "headroom limits exited $(cat limits.rc)"
check_json limits.json \
  'd["limit"]["bytes"] == 300 * MiB' \
  'd["cgroup"]["version"] == 2' \
  'd["cgroup"]["readOnly"] is True'
grep -q '^memory limit 300 MiB' limits.txt || fail 'limits does not say "memory limit 300 MiB"'

[ "$(cat observe.rc)" -eq 0 ] || fail "the observed run exited $(cat observe.rc)"
[ "$(grep -c 'observing the cgroup headroom runs in' observe.err)" -eq 1 ] || fail 'observe mode not said once'
summary_json observe.hrc observe.json
check_json observe.json \
  'd["cgroup"]["mode"] == "observe"' \
  'd["limit"]["bytes"] == 300 * MiB' \
  'len([p for p in d["processes"] if any(a.endswith("fork-workers.py") for a in p["argv"]) and p["peakRssBytes"] > 38 * MiB]) == 2'

[ "$(cat oom.rc)" -eq 137 ] || fail "the OOM run exited $(cat oom.rc), not 137"
summary_json oom.hrc oom.json
check_json oom.json \
  'd["cgroup"]["mode"] == "observe"' \
  'd["oomKilled"] is True' \
  'd["oomKills"][0]["name"] == "python3"' \
  'isinstance(d["oomKills"][0]["pid"], int)'
