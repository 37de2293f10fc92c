# shellcheck shell=bash
# Sourced by every case in test/vm/cases: the fixtures, headroom started as the README says on a v2 host,
# JSON checks, and waits on deadlines.

jobs=$HEADROOM_SRC/test/fixtures/jobs

# The README's way to give headroom a cgroup it may split on v2: a transient scope with Delegate=yes.
# As an array too, for a background job whose $! must be headroom itself (systemd-run execs it).
# The README's other way: a transient service with Delegate=yes, waited for, its stdio piped. The README
# shows both command lines; test/readme-v2.test.ts checks that they are these two.
delegated_scope=(systemd-run --scope -p Delegate=yes --quiet)
delegated_service=(systemd-run -p Delegate=yes --wait --pipe --quiet --collect -p WorkingDirectory="$PWD")
delegated() { "${delegated_scope[@]}" "$@"; }

# Files a case wants in its output when it fails (a background process's log, say): show_on_fail+=(F).
show_on_fail=()

fail() {
  local file
  for file in "${show_on_fail[@]}"; do show "$file" "$file"; done
  echo "FAIL: $*" >&2
  exit 1
}

# check_json FILE EXPR...: every Python expression, with d the JSON in FILE and MiB defined, must be true.
# Each is printed with ok/FAIL so that a failing case shows which fact did not hold, then the JSON.
check_json() {
  python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = 0
for expr in sys.argv[2:]:
  try:
      ok = bool(eval(expr, {"d": d, "MiB": 1 << 20}))
  except Exception as e:
      ok, expr = False, f"{expr}  ({type(e).__name__}: {e})"
  print(("ok    " if ok else "FAIL  ") + expr)
  bad += not ok
if bad:
  print(json.dumps(d, indent=1)[:6000])
  sys.exit(1)
PY
}

# summary_json CAPTURE OUT: headroom's JSON summary of a capture.
summary_json() { headroom summary --json "$1" >"$2"; }

# wait_for SECONDS WHAT CMD...: polls CMD until it succeeds; fails naming WHAT at the deadline.
wait_for() {
local seconds=$1 what=$2
shift 2
local deadline=$((SECONDS + seconds))
until "$@"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "waited ${seconds}s for $what"
  sleep 0.2
done
}

# show NAME FILE: a labelled copy of a file in the case's output, for the failure message.
show() {
echo "--- $1"
cat "$2" || true
echo "---"
}

# headroom's job cgroups anywhere in the tree (headroom-<pid>-<id>[-component]).
job_cgroups() { find /sys/fs/cgroup -mindepth 1 -type d -name 'headroom-*' 2>/dev/null || true; }

# watchdog_trials PCT: the watchdog in term mode at PCT % of 512m, three trials of a Python job that
# allocates 16 MiB chunks as fast as it can and has a SIGTERM handler; each must print "stopped cleanly",
# exit 0 and never be OOM-killed. Each trial's outcome goes to $HRVM_RESULTS/trials.json.
watchdog_trials() {
local failed=0 trial rc
for trial in 1 2 3; do
  rc=0
  delegated headroom run -o job-$trial.hrc --memory 512m --memory-swap 512m --guard watch \
    --watch-threshold "$1" --grace 5 -- python3 "$jobs/alloc-rate.py" 0 16 >out-$trial.txt 2>err-$trial.txt || rc=$?
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
}
