#!/bin/bash
# headroom top --once --json lists a running job's cgroup by component, with its limit.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

"${delegated_scope[@]}" headroom run --quiet --component vm_top --memory 128m -- node "$jobs/allocate.mjs" 32 16 60000 &
job=$!
show_on_fail+=(top.json top.err)
trap 'kill "$job" 2>/dev/null || true; wait "$job" 2>/dev/null || true' EXIT
listed() {
  headroom top --once --json --filter 'headroom-' >top.json 2>top.err &&
    python3 -c 'import json,sys; rows=json.load(open("top.json")); rows=rows.get("rows", rows) if isinstance(rows, dict) else rows; sys.exit(0 if any(r.get("component") == "vm_top" and r["anon"] > 24 * 2**20 for r in rows) else 1)'
}
wait_for 60 'the job in headroom top' listed
show 'top --once --json' top.json
check_json top.json \
  '[r for r in (d["rows"] if isinstance(d, dict) else d) if r.get("component") == "vm_top"][0]["limit"] == 128 * MiB' \
  '[r for r in (d["rows"] if isinstance(d, dict) else d) if r.get("component") == "vm_top"][0]["usage"] > 24 * MiB'
