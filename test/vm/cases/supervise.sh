#!/bin/bash
# headroom supervise restarts a leaking service when its working set crosses --restart-above, and gives
# up after --max-restarts with exit 1; the service answers in between.
# timeout: 180
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

port=18431
rc=0
"${delegated_scope[@]}" headroom supervise --memory 256m --restart-above 100m --max-restarts 1 --backoff 100ms --grace 2 \
  -- node "$jobs/leaky-service.mjs" "$port" 2>err.txt &
supervisor=$!
show_on_fail+=(err.txt)
answer() { python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$port/', timeout=1).read().decode())" 2>/dev/null; }
wait_for 60 'the service to answer' answer
wait "$supervisor" || rc=$?
show 'supervise stderr' err.txt
[ "$rc" -eq 1 ] || fail "headroom supervise exited $rc, not 1 (gave up)"
grep -Eq '^headroom supervise: generation 1 stopped .*working set [0-9.]+ MiB over --restart-above 100 MiB' err.txt ||
  fail 'generation 1 was not stopped for its working set'
grep -Eq 'restart 1/1 in' err.txt || fail 'no restart line'
grep -Eq '^headroom supervise: generation 2 stopped .*gave up after 1 restart' err.txt || fail 'did not give up'
