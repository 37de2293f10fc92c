#!/bin/bash
# The watchdog at 98 %: a Python job allocating 16 MiB chunks as fast as it can under 512m gets SIGTERM
# in time for its handler to print "stopped cleanly" and exit 0, never an OOM kill. Three trials, since
# one clean stop can be luck; each trial's outcome goes to $HRVM_RESULTS/trials.json.
# timeout: 180
set -euo pipefail
source "$HEADROOM_SRC/test/vm/guest/lib.sh"

watchdog_trials 98
