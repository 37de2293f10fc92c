#!/bin/bash
# The watchdog's other actions on v2. reclaim: page cache written and synced (clean) fills the limit, and
# headroom writes memory.reclaim, recording how much it got back. snapshot: a job allocating past the
# limit is recorded once near it, then left to the kernel, which OOM-kills it.
# timeout: 180
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

# 16 MiB at a time, each fsynced so the cache is clean, kept on disk until the job ends.
cat >writer.py <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    for _ in range(32):
        f.write(b"\x02" * (16 << 20))
        f.flush()
        os.fsync(f.fileno())
PY
rc=0
delegated headroom run -o reclaim.hrc --memory 256m --guard watch --on-limit reclaim --watch-threshold 80 \
  -- python3 writer.py "$PWD/data.bin" 2>reclaim.err || rc=$?
show 'reclaim: headroom stderr' reclaim.err
[ "$rc" -eq 0 ] || fail "the reclaim run exited $rc"
summary_json reclaim.hrc reclaim.json
check_json reclaim.json \
  'd["oomKilled"] is False' \
  'any(a["action"] == "reclaim" for a in d["guard"]["actions"])' \
  'any(a["action"] == "reclaim" and not a["message"].startswith("reclaimed 0 B") for a in d["guard"]["actions"])'
rm -f data.bin

rc=0
delegated headroom run -o snapshot.hrc --memory 256m --guard watch --on-limit snapshot \
  -- python3 "$jobs/alloc-rate.py" 0 16 2>snapshot.err || rc=$?
show 'snapshot: headroom stderr' snapshot.err
[ "$rc" -eq 137 ] || fail "the snapshot run exited $rc, not 137 (the kernel decides after a snapshot)"
summary_json snapshot.hrc snapshot.json
check_json snapshot.json \
  'd["oomKilled"] is True' \
  '"snapshot" in [a["action"] for a in d["guard"]["actions"]]' \
  '"term" not in [a["action"] for a in d["guard"]["actions"]]'
