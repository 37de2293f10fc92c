#!/bin/bash
# One big write under a limit survives, and the capture puts the peak in page cache. On v2 dirty cache
# is throttled per cgroup (balance_dirty_pages), so, unlike v1, only a little of it need be dirty.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

rc=0
delegated headroom run -o job.hrc --memory 256m -- node "$jobs/write-file.mjs" "$PWD" 600 2>err.txt || rc=$?
show 'headroom stderr' err.txt
[ "$rc" -eq 0 ] || fail "headroom exited $rc"
summary_json job.hrc s.json
check_json s.json \
  'd["oomKilled"] is False' \
  'd["limit"]["bytes"] == 256 * MiB' \
  'd["peak"]["bytes"] > 150 * MiB' \
  'd["peak"]["breakdown"]["file"] > 0.5 * d["peak"]["sampledBytes"]' \
  'd["peak"]["breakdown"]["anon"] < 96 * MiB' \
  'd["verdict"]["kind"] in ("page-cache", "dirty-page-cache")' \
  '"anon-growth" not in [f["kind"] for f in d["findings"]]'
