# A profiling session (_headroom_profile.py), what both modes share: the "I" record, call-tree nodes, when
# a snapshot is taken (a new peak within a time budget, a request from headroom, the exit) and how it is
# written, and the sampler thread's loop. The modes (_headroom_sampler.py, _headroom_tracemalloc.py) look
# at memory and group it into snapshot entries.
import _thread
import os
import sys
import time

from _headroom_spool import _Spool

# Request file and deferred snapshots: checked at this period (one stat).
HOUSEKEEPING_S = 0.1
# Lines left queued this long are written by the sampler thread even while the job's threads look from
# their collector callbacks (those write only after a look that saw memory change).
FLUSH_AFTER_S = 0.2
# A peak snapshot is written when the charged memory is this much over the highest one written...
PEAK_STEP = 1.10
# ...and at least this much over it (no flurry of snapshots of a few pages at the start).
FIRST_SNAPSHOT_BYTES = 1 << 20
# After a refused or failed snapshot, the next peak is tried this much over it.
REFUSED_STEP = 1.5
# Snapshots that are free of the budget at the start, in seconds.
BUDGET_GRACE_S = 0.05
# Distinct call-tree nodes per session; past this, new stacks are charged to one "(other stacks)" node.
MAX_NODES = 200000

# Bound at load (see _headroom_spool.py).
_stat = os.stat
_monotonic = time.monotonic
_perf = time.perf_counter
_sleep = time.sleep


def _argv():
    argv = getattr(sys, "orig_argv", None)
    if argv:
        return list(argv)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return [sys.executable] + list(getattr(sys, "argv", []))


class _Session:
    """One profiling session: the "I" record, call-tree nodes, snapshots and their schedule."""

    # Per mode: its name, the sampler thread's period, and the share of the process's wall time that its
    # peak snapshots may take.
    mode = ""
    period = None
    budget = None

    def __init__(self, directory, start_ms):
        self.directory = directory
        self.request_path = os.path.join(directory, "request")
        self.spool = _Spool(directory, start_ms)
        # Guards the charges, nodes and snapshot schedule. Never held across a call that releases the GIL.
        self.lock = _thread.allocate_lock()
        self.started = _monotonic()
        # A request older than the session was answered, or not meant, for earlier processes. A request is
        # a change of the file's mtime, not an mtime after the last snapshot: file times come from a clock
        # that lags by up to a tick, so a request just after a snapshot could look older than it.
        self.request_seen_ns = self.request_mtime()
        self.spent = 0.0
        self.peak_written = 0
        self.snapshots = 0
        self.dirty = False
        self.stopped = False
        self.ident = None
        self.pending = []
        self.next_id = 1
        self.overflow = 0

    def begin(self, note=None, sampler=True):
        """Writes the "I" record; starts the sampler thread unless the caller runs it (or none is wanted)."""
        info = {
            "runtime": "python",
            "mode": self.mode,
            "interval": int(round(self.period * 1000)),
            "argv": _argv(),
            "version": "%d.%d.%d" % sys.version_info[:3],
        }
        self.spool.queue(["I", self.spool.t(), info])
        if note:
            self.note(note)
        self.spool.flush(True)
        if sampler:
            _thread.start_new_thread(self.run, ())

    def note(self, message):
        """Queues a note; the caller flushes."""
        try:
            self.spool.queue(["W", self.spool.t(), message])
        except Exception:
            pass

    def new_node(self, parent, name, file, line):
        if self.next_id > MAX_NODES:
            if not self.overflow:
                self.overflow = self.next_id
                self.next_id += 1
                self.pending.extend((self.overflow, 0, "(other stacks)", "", 0))
            return self.overflow
        node = self.next_id
        self.next_id += 1
        self.pending.extend((node, parent, name, file, line))
        return node

    def run(self):
        self.ident = _thread.get_ident()
        sleep = _sleep
        period = self.period
        # By the clock, not by ticks: on a loaded machine a tick waits for the GIL and a core again and
        # again (after the sleep, after each read), and twenty of them took seconds, so a request went
        # unanswered for longer than a 12 s job lived.
        housekeeping_due = _monotonic() + HOUSEKEEPING_S
        try:
            while not self.stopped:
                sleep(period)
                if self.stopped:
                    break
                self.tick()
                answered = False
                if _monotonic() >= housekeeping_due:
                    answered = self.housekeeping()
                    housekeeping_due = _monotonic() + HOUSEKEEPING_S
                if self.spool.outbox and (
                    answered or self.sampler_snapshots() or self.spool.waited() > FLUSH_AFTER_S
                ):
                    self.spool.flush()
        except Exception as error:
            self.stopped = True
            self.note("profiler stopped: %s: %s" % (type(error).__name__, error))
            try:
                self.spool.flush()
            except Exception:
                pass

    def housekeeping(self):
        """Answers a request or writes a deferred peak; True when it answered a request (written at once)."""
        mtime = self.request_mtime()
        requested = mtime is not None and mtime != self.request_seen_ns
        with self.lock:
            if self.stopped:
                return False
            if requested:
                return self.snapshot("request")
            if self.peak_due() and self.sampler_snapshots():
                self.snapshot("peak")
        return False

    def request_mtime(self):
        try:
            return _stat(self.request_path).st_mtime_ns
        except OSError:
            return None

    def sampler_snapshots(self):
        """
        Whether the sampler thread writes peaks, and the spool at once. The growth mode leaves them to the
        job's threads while those look; what they leave queued FLUSH_AFTER_S is the sampler's to write.
        """
        return True

    def budget_allows(self):
        elapsed = _monotonic() - self.started
        return self.spent <= self.budget * elapsed + BUDGET_GRACE_S

    def peak_due(self):
        size = self.size()
        return (
            size >= FIRST_SNAPSHOT_BYTES
            and size >= self.peak_written * PEAK_STEP
            and size - self.peak_written >= FIRST_SNAPSHOT_BYTES // 4
            and self.budget_allows()
        )

    def snapshot(self, reason):
        """Queues one snapshot (the caller holds the lock, then flushes); False when it was refused."""
        # Any snapshot answers the requests made before it (a request is a change of the file's mtime).
        self.request_seen_ns = self.request_mtime()
        began = _perf()
        try:
            taken = self.entries(reason)
        except Exception as error:
            taken = None
            self.note("%s snapshot failed: %s %s" % (reason, type(error).__name__, error))
        if taken is None:
            # A refused or failed peak is tried again half as much further on: not on every look, and
            # not with a note for every 10 %.
            self.peak_written = max(self.peak_written, self.size() * REFUSED_STEP / PEAK_STEP)
            self.spent += _perf() - began
            return False
        entries, size = taken
        if self.pending:
            self.spool.queue(["N", self.spool.t(), self.pending])
            self.pending = []
        self.spool.queue(["A", self.spool.t(), reason, entries])
        self.peak_written = max(self.peak_written, size)
        self.snapshots += 1
        self.dirty = False
        self.spent += _perf() - began
        return True

    def finish(self, final):
        """At exit: a last snapshot unless nothing changed since the one before."""
        with self.lock:
            if self.stopped:
                return
            if final:
                self.stopped = True
            self.last_look()
            if self.dirty or self.snapshots == 0:
                self.snapshot("exit")
        self.spool.flush(True)

    def close(self):
        self.stopped = True
        self.spool.close()

    # Per mode.
    def tick(self):
        raise NotImplementedError

    def size(self):
        raise NotImplementedError

    def entries(self, reason):
        raise NotImplementedError

    def last_look(self):
        pass
