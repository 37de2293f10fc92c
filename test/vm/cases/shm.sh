#!/bin/bash
# A /dev/shm file is tmpfs memory charged to the cgroup as shmem: filling it past the limit is an OOM
# kill whose peak is shmem, not anon.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

shm=/dev/shm/hrvm-shm-$$
trap 'rm -f "$shm"' EXIT
rc=0
delegated headroom run -o job.hrc --memory 256m -- dd if=/dev/zero of="$shm" bs=1M count=400 2>err.txt || rc=$?
show 'headroom stderr' err.txt
[ "$rc" -eq 137 ] || fail "headroom exited $rc, not 137"
summary_json job.hrc s.json
check_json s.json \
  'd["oomKilled"] is True' \
  'd["peak"]["breakdown"]["shmem"] > 200 * MiB' \
  'd["peak"]["breakdown"]["anon"] < 32 * MiB' \
  'd["verdict"]["kind"] == "tmpfs"' \
  '"runtime-heap" not in [f["kind"] for f in d["findings"]]' \
  '"right-size" not in [f["kind"] for f in d["findings"]]'
