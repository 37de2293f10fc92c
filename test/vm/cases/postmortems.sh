#!/bin/bash
# headroom agent (the exporter with --postmortems) over the whole v2 hierarchy: two units it did not
# start, one filling /dev/shm past 128 MiB and one growing anon past 256 MiB, are OOM-killed and removed
# by systemd at once; there are exactly two post-mortems, each named after its unit's cgroup (the deepest
# that counted the kill, not its slice), with the victim and the cause.
# timeout: 240
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

shm=/dev/shm/hrvm-postmortem-$$
headroom agent --listen 127.0.0.1:0 --postmortems pm 2>agent.err &
agent=$!
show_on_fail+=(agent.err)
trap 'kill "$agent" 2>/dev/null || true; wait 2>/dev/null || true; rm -f "$shm"' EXIT
wait_for 60 'the agent to start recording' grep -q 'recording every cgroup' agent.err

# Transient units of systemd's: each gone with its cgroup as soon as its process is killed.
systemd-run --unit hrvm-shm --quiet --wait -p MemoryMax=128M -p MemorySwapMax=0 \
  dd if=/dev/zero of="$shm" bs=1M count=400 || true
systemd-run --unit hrvm-anon --quiet --wait -p MemoryMax=256M -p MemorySwapMax=0 \
  python3 "$jobs/grow.py" 16 0.05 100 || true
two() { [ "$(find pm -name '*.jsonl' | wc -l)" -ge 2 ]; }
wait_for 30 'two post-mortems' two
ls -l pm
[ "$(find pm -name '*.jsonl' | wc -l)" -eq 2 ] || fail 'not exactly two post-mortems'

shm_pm=$(find pm -name 'hrvm-shm.service-*.jsonl')
anon_pm=$(find pm -name 'hrvm-anon.service-*.jsonl')
[ -n "$shm_pm" ] && [ -n "$anon_pm" ] || fail "the post-mortems are not named after the units: $(ls pm)"
summary_json "$shm_pm" shm.json
check_json shm.json \
  'd["oomKilled"] is True' \
  'd["cgroup"]["path"] == "/system.slice/hrvm-shm.service"' \
  '[k["name"] for k in d["oomKills"]] == ["dd"]' \
  'd["verdict"]["kind"] == "tmpfs"' \
  'd["limit"]["bytes"] == 128 * MiB'
summary_json "$anon_pm" anon.json
check_json anon.json \
  'd["oomKilled"] is True' \
  'd["cgroup"]["path"] == "/system.slice/hrvm-anon.service"' \
  '[k["name"] for k in d["oomKills"]] == ["python3"]' \
  'd["verdict"]["kind"] == "anon-growth"' \
  'd["peak"]["breakdown"]["anon"] > 150 * MiB'

# Listed on the agent's port, the listing naming both.
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\)\/metrics.*/\1/p' agent.err | head -n1)
python3 - "$port" >listing.json <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/postmortems", timeout=5).read().decode())
PY
check_json listing.json \
  'sorted(e["cgroup"] for e in d) == ["/system.slice/hrvm-anon.service", "/system.slice/hrvm-shm.service"]'
kill -TERM "$agent"
rc=0
wait "$agent" || rc=$?
[ "$rc" -eq 0 ] || fail "the agent exited $rc on SIGTERM"
