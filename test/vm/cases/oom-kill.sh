#!/bin/bash
# A Node job allocating past --memory (Buffers: outside the V8 heap the guard sizes) is OOM-killed;
# headroom exits 137 and names the victim with its pid.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

rc=0
delegated headroom run -o job.hrc --memory 256m -- node "$jobs/allocate.mjs" 1024 32 2>err.txt || rc=$?
show 'headroom stderr' err.txt
[ "$rc" -eq 137 ] || fail "headroom exited $rc, not 137"
grep -q 'OOM' err.txt || fail 'stderr does not mention the OOM kill'
summary_json job.hrc s.json
# The breakdown is the highest sample's: at 100 ms a fast allocator's last sample can come well before
# the kill, so anon is asked to dominate it, not to fill the limit.
check_json s.json \
  'd["cgroup"]["version"] == 2' \
  'd["cgroup"]["mode"] == "own"' \
  'd["limit"]["bytes"] == 256 * MiB' \
  'd["oomKilled"] is True' \
  'd["signal"] == "SIGKILL"' \
  'd["oomKills"][0]["name"] == "node"' \
  'isinstance(d["oomKills"][0]["pid"], int)' \
  'any(p["pid"] == d["oomKills"][0]["pid"] and p["name"] == "node" for p in d["processes"])' \
  'd["peak"]["breakdown"]["anon"] > 0.9 * d["peak"]["sampledBytes"]' \
  'd["peak"]["breakdown"]["anon"] > 128 * MiB'
