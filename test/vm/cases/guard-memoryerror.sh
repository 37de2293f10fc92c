#!/bin/bash
# The default guard (knobs) caps a Python job's RLIMIT_DATA below --memory: an allocation past the limit
# is a MemoryError the job sees (exit 1), not an OOM kill.
# timeout: 120
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

rc=0
delegated headroom run -o job.hrc --memory 256m -- python3 -c 'x = bytearray(1024 * 2**20)' 2>err.txt || rc=$?
show 'headroom stderr' err.txt
[ "$rc" -eq 1 ] || fail "headroom exited $rc, not 1"
grep -q 'MemoryError' err.txt || fail 'no MemoryError on stderr'
summary_json job.hrc s.json
check_json s.json \
  'd["oomKilled"] is False' \
  'd["exitCode"] == 1' \
  '[a["action"] for a in d["guard"]["actions"]] == ["memory-error"]' \
  'any(k["runtime"] == "python" for k in d["guard"]["knobs"])' \
  'd["verdict"]["kind"] == "anon-growth"' \
  '"MemoryError" in d["verdict"]["cause"]'
