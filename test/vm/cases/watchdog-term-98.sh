#!/bin/bash
# The watchdog at 98 %: a Python job allocating 16 MiB chunks as fast as it can under 512m gets SIGTERM
# in time for its handler to print "stopped cleanly" and exit 0, never an OOM kill. Three trials, since
# one clean stop can be luck; each trial's outcome goes to $HRVM_RESULTS/trials.json.
# timeout: 180
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

failed=0
for trial in 1 2 3; do
  rc=0
  delegated headroom run -o job-$trial.hrc --memory 512m --memory-swap 512m --guard watch \
    --watch-threshold 98 --grace 5 -- python3 "$jobs/alloc-rate.py" 0 16 >out-$trial.txt 2>err-$trial.txt || rc=$?
  echo "trial $trial: headroom exited $rc, job said: $(cat out-$trial.txt)"
  summary_json job-$trial.hrc s-$trial.json
  if [ "$rc" -ne 0 ] || [ "$(cat out-$trial.txt)" != 'stopped cleanly' ] ||
    ! check_json s-$trial.json \
      'd["oomKilled"] is False' \
      'd["exitCode"] == 0' \
      '[a["action"] for a in d["guard"]["actions"]] == ["term"]'; then
    show "trial $trial: headroom stderr" err-$trial.txt
    failed=$((failed + 1))
  fi
done
python3 - "$HRVM_RESULTS/trials.json" s-1.json s-2.json s-3.json <<'PY'
import json, sys
trials = [json.load(open(f)) for f in sys.argv[2:]]
json.dump([{"oomKilled": s["oomKilled"], "exitCode": s["exitCode"], "signal": s["signal"],
            "peakBytes": s["peak"]["bytes"], "actions": [a["action"] for a in s["guard"]["actions"]]}
           for s in trials], open(sys.argv[1], "w"))
PY
[ "$failed" -eq 0 ] || fail "$failed of 3 trials did not stop cleanly"
