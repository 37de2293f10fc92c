#!/bin/bash
# The in-VM suite runner. It reports on the second serial port (ttyS1), which carries nothing else: the
# kernel and systemd write to ttyS0. Every line is framed as "HRVM <run id> <VERB> ..." and case output is
# base64, so nothing a case prints can forge or break a frame. Verbs, in order:
#   START <count> <kernel release> <fs type of /sys/fs/cgroup> <seconds since the kernel started>
#   BEGIN <case> <timeout s>; OUT <case> <base64 chunk>...; FILE <case> <name> <base64 chunk>...;
#   END <case> <pass|fail|timeout> <exit status> <ms>
#   DONE <passed> <failed>        (absent when the run crashed or hung: the host treats that as failure)
set -uo pipefail

# shellcheck disable=SC1091
source /opt/hrvm/run.env
cases_dir=${HRVM_CASES_DIR:-/opt/headroom/test/vm/cases}
default_timeout=${HRVM_DEFAULT_TIMEOUT:-180}
port=/dev/ttyS1
stty -F "$port" raw -echo 115200 2>/dev/null || true
exec 3>"$port"

emit() { printf 'HRVM %s %s\n' "$HRVM_RUN_ID" "$*" >&3; }
emit_b64() { # VERB-AND-ARGS... < data: one frame per 300 base64 characters
  local line
  base64 -w 300 | while IFS= read -r line; do emit "$@" "$line"; done
}

mapfile -t all < <(cd "$cases_dir" && ls -1 -- *.sh | LC_ALL=C sort)
selected=()
for file in "${all[@]}"; do
  name=${file%.sh}
  if [ -n "${HRVM_CASES:-}" ] && [[ ",$HRVM_CASES," != *",$name,"* ]]; then continue; fi
  selected+=("$name")
done

emit START "${#selected[@]}" "$(uname -r)" "$(stat -fc %T /sys/fs/cgroup)" "$(cut -d' ' -f1 /proc/uptime)"
passed=0 failed=0
for name in "${selected[@]}"; do
  script="$cases_dir/$name.sh"
  timeout=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$script" | head -n1)
  timeout=${timeout:-$default_timeout}
  work=$(mktemp -d /var/tmp/hrvm-case.XXXXXX)
  results=$(mktemp -d /var/tmp/hrvm-results.XXXXXX)
  log=$(mktemp /var/tmp/hrvm-log.XXXXXX)
  emit BEGIN "$name" "$timeout"
  echo "hrvm: case $name (timeout ${timeout}s)" >/dev/ttyS0
  start=$(date +%s%N)
  # A case is on disk (/var/tmp), not on tmpfs, so that its files are page cache and not shmem.
  (cd "$work" && HEADROOM_SRC=/opt/headroom HRVM_RESULTS="$results" HRVM_CASE="$name" \
    PATH=/usr/local/bin:$PATH timeout -k 10 "$timeout" /bin/bash "$script") >"$log" 2>&1 </dev/null
  status=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  emit_b64 OUT "$name" <"$log"
  for result in "$results"/*; do
    [ -f "$result" ] || continue
    emit_b64 FILE "$name" "$(basename "$result")" <"$result"
  done
  if [ "$status" -eq 0 ]; then
    verdict=pass passed=$((passed + 1))
  elif [ "$status" -eq 124 ] || { [ "$status" -eq 137 ] && [ "$ms" -ge $((timeout * 1000)) ]; }; then
    verdict=timeout failed=$((failed + 1))
  else
    verdict=fail failed=$((failed + 1))
  fi
  emit END "$name" "$verdict" "$status" "$ms"
  echo "hrvm: case $name $verdict ($status) in ${ms}ms" >/dev/ttyS0
  rm -rf "$work" "$results" "$log"
done
emit DONE "$passed" "$failed"
