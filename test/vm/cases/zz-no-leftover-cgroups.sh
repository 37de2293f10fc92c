#!/bin/bash
# Runs last (byte order of the names): after every other case, no job cgroup of headroom's is left
# anywhere in the tree, and no transient scope of the cases still holds processes.
# timeout: 60
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

left() { [ -z "$(job_cgroups)" ]; }
# Removal can trail the last job's exit by a poll or two.
if ! (wait_for 10 'job cgroups to go' left); then
  for dir in $(job_cgroups); do echo "left: $dir ($(tr '\n' ' ' <"$dir/cgroup.procs"))"; done
  fail 'headroom job cgroups remain'
fi
find /sys/fs/cgroup -mindepth 1 -type d -name 'hrvm-*' | grep . && fail 'a case left its own cgroup'
busy=$(for procs in /sys/fs/cgroup/system.slice/run-*.scope/cgroup.procs; do
  [ -f "$procs" ] && [ -s "$procs" ] && echo "$procs"
done || true)
[ -z "$busy" ] || fail "scopes still hold processes: $busy"
echo 'no leftover cgroups'
