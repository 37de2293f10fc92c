#!/bin/bash
# The watchdog at 95 %: a Python job allocating 16 MiB chunks as fast as it can under 512m gets SIGTERM
# in time for its handler to print "stopped cleanly" and exit 0; never an OOM kill.
# timeout: 150
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

rc=0
delegated headroom run -o job.hrc --memory 512m --memory-swap 512m --guard watch --watch-threshold 95 \
  --grace 5 -- python3 "$jobs/alloc-rate.py" 0 16 >out.txt 2>err.txt || rc=$?
show 'job stdout' out.txt
show 'headroom stderr' err.txt
[ "$rc" -eq 0 ] || fail "headroom exited $rc, not 0"
[ "$(cat out.txt)" = 'stopped cleanly' ] || fail 'the job did not stop cleanly'
summary_json job.hrc s.json
check_json s.json \
  'd["oomKilled"] is False' \
  'd["exitCode"] == 0' \
  '[a["action"] for a in d["guard"]["actions"]] == ["term"]'
