#!/bin/bash
# A Python parent forking workers: every worker is listed at its own size, as a child of the parent.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

rc=0
delegated headroom run -o job.hrc --memory 512m -- python3 "$jobs/fork-workers.py" 4 60 2 2>err.txt || rc=$?
show 'headroom stderr' err.txt
[ "$rc" -eq 0 ] || fail "headroom exited $rc"
summary_json job.hrc s.json
check_json s.json \
  'd["cgroup"]["version"] == 2' \
  'len([p for p in d["processes"] if p["peakRssBytes"] > 50 * MiB]) == 4' \
  'all("python" in p["name"] and p["peakRssBytes"] < 80 * MiB for p in d["processes"] if p["peakRssBytes"] > 50 * MiB)' \
  'len({p["ppid"] for p in d["processes"] if p["peakRssBytes"] > 50 * MiB}) == 1' \
  'any(p["pid"] == next(w["ppid"] for w in d["processes"] if w["peakRssBytes"] > 50 * MiB) for p in d["processes"])' \
  'd["verdict"]["kind"] == "healthy"' \
  'all(f["severity"] == "info" for f in d["findings"])'
