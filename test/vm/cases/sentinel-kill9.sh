#!/bin/bash
# kill -9 of headroom mid-run: its sentinel stops the job and removes the job's cgroup within seconds,
# and notes it in the capture.
# timeout: 120
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

"${delegated_scope[@]}" headroom run -o job.hrc --grace 1 -- node "$jobs/sleep.mjs" 120 >job.pid 2>err.txt &
headroom_pid=$!
wait_for 60 'the job to start' test -s job.pid
job_pid=$(head -n1 job.pid)
cgroup=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$job_pid/cgroup")
echo "job $job_pid in $cgroup; headroom $headroom_pid"
case $cgroup in */headroom-*) ;; *) fail "the job is not in a cgroup of its own: $cgroup" ;; esac
# The capture must name the job before the kill: a kill before the first process record leaves nothing to
# name, which is not what this case checks.
wait_for 30 'the capture to record the job' grep -q "^\\[\"P\",[0-9]*,$job_pid," job.hrc
kill -KILL "$headroom_pid"
wait "$headroom_pid" || true
wait_for 15 'the sentinel to stop the job' sh -c "! kill -0 $job_pid 2>/dev/null"
wait_for 15 "the sentinel to remove $cgroup" test ! -d "$cgroup"
grep -q 'headroom was killed; its sentinel stopped the job' job.hrc || fail 'no sentinel note in the capture'
summary_json job.hrc s.json
check_json s.json 'd["truncated"] is True' '"node" in [p["name"] for p in d["processes"]]'
