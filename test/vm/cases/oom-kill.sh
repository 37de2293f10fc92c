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
# the kill, so anon is asked to dominate it, not to fill the limit. It is weighed against the other
# memory that cannot be reclaimed, not against usage: memory.stat lags memory.current while a fast
# allocator runs (the kernel flushes per-CPU counters in batches; one run's parts added up to 173 MiB
# of a 256 MiB usage), and Node's own binary is page cache charged to the job.
check_json s.json \
  'd["cgroup"]["version"] == 2' \
  'd["cgroup"]["mode"] == "own"' \
  'd["limit"]["bytes"] == 256 * MiB' \
  'd["oomKilled"] is True' \
  'd["signal"] == "SIGKILL"' \
  'd["oomKills"][0]["name"] == "node"' \
  'isinstance(d["oomKills"][0]["pid"], int)' \
  'any(p["pid"] == d["oomKills"][0]["pid"] and p["name"] == "node" for p in d["processes"])' \
  'd["peak"]["breakdown"]["anon"] > 0.9 * (d["peak"]["breakdown"]["anon"] + d["peak"]["breakdown"]["shmem"] + d["peak"]["breakdown"]["kernel"])' \
  'd["peak"]["breakdown"]["anon"] > 128 * MiB' \
  'd["verdict"]["kind"] == "anon-growth"' \
  '"node (" in d["verdict"]["cause"]'
