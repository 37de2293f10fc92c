#!/bin/bash
# headroom exporter on 127.0.0.1 serves a running job's cgroup: its limit and its anon memory, labelled
# with the component.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

"${delegated_scope[@]}" headroom run --quiet --component vm_exporter --memory 128m -- node "$jobs/allocate.mjs" 48 16 60000 &
job=$!
headroom exporter --listen 127.0.0.1:0 --filter 'headroom-\d+-[0-9a-z]+-vm_exporter$' 2>exporter.err &
exporter=$!
show_on_fail+=(exporter.err)
trap 'kill "$job" "$exporter" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
port() { sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\)\/metrics.*/\1/p' exporter.err | head -n1; }
listening() { [ -n "$(port)" ]; }
wait_for 30 'the exporter to say where it listens' listening
scrape() {
  python3 - "$(port)" >metrics.txt <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode())
PY
  python3 - <<'PY'
import re, sys
m = re.search(r'^headroom_memory_anon_bytes\{[^}]*component="vm_exporter"\} (\d+)$', open("metrics.txt").read(), re.M)
sys.exit(0 if m and int(m.group(1)) > 40 << 20 else 1)
PY
}
wait_for 60 "the job's 48 MiB of anon in the metrics" scrape
grep -Eq '^headroom_memory_limit_bytes\{[^}]*component="vm_exporter"\} 134217728$' metrics.txt ||
  { show metrics metrics.txt; fail 'no 128 MiB limit metric for the job'; }
grep -q '^headroom_exporter_cgroups 1$' metrics.txt || { show metrics metrics.txt; fail 'not exactly one cgroup'; }
kill -TERM "$exporter"
rc=0
wait "$exporter" || rc=$?
[ "$rc" -eq 0 ] || fail "the exporter exited $rc on SIGTERM"
