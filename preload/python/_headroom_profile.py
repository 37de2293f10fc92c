# headroom's Python allocation profiler (issue 4), started by sitecustomize.py in every Python process of a
# job run with profiling on (HEADROOM_PROFILE_DIR set). Standard library only, Python 3.8+. It writes JSON
# Lines to $HEADROOM_PROFILE_DIR/<pid>.jsonl in the format of src/profile/profile-format.ts, one whole line
# per write(2), so a process killed at any moment leaves complete lines behind.
#
# Two modes (HEADROOM_PYTHON_PROFILER):
#   growth (default)  reads the process's private resident memory (a pread of /proc/self/statm) every 5 ms
#                     and, when it grew, charges the growth to the Python stacks running then. It looks from
#                     a sampler thread, and from the job's own threads when their cyclic collector starts
#                     (which it does after every few hundred objects they allocate): those see the
#                     allocating code itself, and need no GIL handover. tracemalloc is far too costly for
#                     a default (several times slower on allocation-heavy code, and a snapshot can double
#                     the RSS of a large heap); this answers "which code grew the memory up to the peak"
#                     for a small fraction of that.
#   tracemalloc       exact live blocks per traceback, for small jobs; a snapshot that would not fit in the
#                     memory left under the limit is refused with a note, never taken. In
#                     _headroom_tracemalloc.py, loaded only in this mode.
#
# Nothing here may raise into the job: every entry point catches everything and at worst stops profiling.
import _thread
import gc
import os
import sys
import time

try:
    # The C string encoder alone: importing json would cost every Python process of the job more.
    from _json import encode_basestring_ascii as _quote
except ImportError:
    from json.encoder import py_encode_basestring_ascii as _quote

# How often the growth mode looks at memory, at most. The sampler thread needs the GIL for each look: a
# busy job hands it over at this rate (CPython's own switch interval is 5 ms as well).
GROWTH_PERIOD_S = 0.005
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
# Share of the process's wall time that peak snapshots may take; a peak over budget waits for the budget.
GROWTH_BUDGET = 0.01
# Snapshots that are free of the budget at the start, in seconds.
BUDGET_GRACE_S = 0.05
# Frames kept per stack, innermost first (the allocation site is the innermost frame of the job's code).
MAX_DEPTH = 256
# Stat files of threads kept open to read their page faults; more threads are opened on each read.
MAX_THREAD_FDS = 64
# Distinct call-tree nodes per session; past this, new stacks are charged to one "(other stacks)" node.
MAX_NODES = 200000
MIB = 1 << 20

_HERE = os.path.abspath(__file__)
# Bound once: a job that patches os or time (fake file systems, frozen clocks in its tests) must not
# change what the profiler reads or when it thinks it is.
_open = os.open
_close = os.close
_pread = os.pread
_write = os.write
_stat = os.stat
_now = time.time
_now_ns = time.time_ns
_monotonic = time.monotonic
_perf = time.perf_counter
_sleep = time.sleep
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):
    _PAGE = 4096

# The session running in this process (a forked child replaces it with its own).
_current = None


def _code_name(code, outer=None):
    """
    The function's qualified name. Before 3.11 code has no co_qualname: a comprehension or lambda
    ("<listcomp>") is then named after the code it runs in, as 3.11 would ("load.<locals>.<listcomp>").
    """
    name = getattr(code, "co_qualname", None)
    if name:
        return name
    name = code.co_name
    if outer is not None and name.startswith("<") and name != "<module>":
        return _code_name(outer) + ".<locals>." + name
    return name


def _argv():
    argv = getattr(sys, "orig_argv", None)
    if argv:
        return list(argv)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return [sys.executable] + list(getattr(sys, "argv", []))


def _dumps(value):
    """JSON for what the spool holds: lists (mostly flat ints), strings, ints, and the "I" record's dict."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (list, tuple)):
        try:
            # Snapshots: ids, bytes and counts, all ints; str() of an int is its JSON.
            if all(type(item) is int for item in value):
                return "[" + ",".join(map(str, value)) + "]"
        except TypeError:
            pass
        return "[" + ",".join(map(_dumps, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_quote(str(key)) + ":" + _dumps(item) for key, item in value.items()) + "}"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "null"
    return _quote(str(value))


class _Spool:
    """
    This process's spool file, `<dir>/<pid>.jsonl`, appended to (an exec'd Python adds a session).

    Lines are queued and written in order by one thread at a time, never while the session's lock is
    held: a write releases the GIL, and a sampler thread waiting to get it back while it held the lock
    could keep the job's own thread (which looks from its collector callbacks) out for hundreds of ms.
    """

    def __init__(self, directory, start_ms):
        self.start_ms = start_ms
        path = os.path.join(directory, "%d.jsonl" % os.getpid())
        self.fd = _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
        self.outbox = []
        # When the oldest line still queued was queued.
        self.since = 0.0
        self.writing = _thread.allocate_lock()

    def t(self):
        return int(_now() * 1000) - self.start_ms

    def queue(self, record):
        # list.append and list.pop are atomic: no lock between the threads that queue and the one writer.
        if not self.outbox:
            self.since = _monotonic()
        self.outbox.append((_dumps(record) + "\n").encode("ascii"))

    def waited(self):
        """Seconds the oldest queued line has waited (a race with a flush can only make it more)."""
        return _monotonic() - self.since if self.outbox else 0.0

    def flush(self, blocking=False):
        """Writes the queued lines, in order; without blocking, leaves them to the thread writing now."""
        outbox = self.outbox
        if not outbox or not self.writing.acquire(blocking):
            return
        try:
            while outbox:
                data = outbox.pop(0)
                while data:
                    data = data[_write(self.fd, data) :]
        finally:
            self.writing.release()

    def close(self):
        try:
            _close(self.fd)
        except OSError:
            pass


class _Session:
    """One profiling session: the "I" record, call-tree nodes, snapshots and their schedule."""

    mode = ""
    period = GROWTH_PERIOD_S
    budget = GROWTH_BUDGET

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
        every = max(1, int(HOUSEKEEPING_S / period))
        ticks = 0
        try:
            while not self.stopped:
                sleep(period)
                if self.stopped:
                    break
                self.tick()
                ticks += 1
                if ticks % every == 0:
                    self.housekeeping()
                if self.spool.outbox and (self.sampler_snapshots() or self.spool.waited() > FLUSH_AFTER_S):
                    self.spool.flush()
        except Exception as error:
            self.stopped = True
            self.note("profiler stopped: %s: %s" % (type(error).__name__, error))
            try:
                self.spool.flush()
            except Exception:
                pass

    def housekeeping(self):
        mtime = self.request_mtime()
        requested = mtime is not None and mtime != self.request_seen_ns
        with self.lock:
            if self.stopped:
                return
            if requested:
                self.snapshot("request")
            elif self.peak_due() and self.sampler_snapshots():
                self.snapshot("peak")

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


class _Growth(_Session):
    """Charges growth of private resident memory to the Python stacks that were running."""

    mode = "growth"
    period = GROWTH_PERIOD_S
    budget = GROWTH_BUDGET

    def __init__(self, directory, start_ms, baseline=None):
        _Session.__init__(self, directory, start_ms)
        # /proc/self resolves at open: a forked child opens its own.
        self.statm = _open("/proc/self/statm", os.O_RDONLY | _O_CLOEXEC)
        # A forked child's session starts after fork(), from its parent's memory then (the child's own
        # at the fork: it shares those pages and counts them resident), so that what it grew since is
        # charged at its first look.
        self.baseline = self.private()
        if baseline is not None and baseline < self.baseline:
            self.baseline = baseline
        self.last = self.baseline
        # Charges in units of `scale`: a decrease scales every charge at once by changing one number.
        self.raw = {}
        self.counts = {}
        self.scale = 1.0
        self.total = 0
        self.next_gc_look = 0.0
        self.gc_looked = -1.0
        # (parent, id(code), line) -> node id; the code objects are kept so that their ids stay theirs.
        self.ids = {}
        self.codes = {}
        # Other threads by kernel id: minor faults at the last read, faults no growth matched yet, kept-open
        # stat files.
        self.faults = {}
        self.unmatched = {}
        self.task_fds = {}
        threading = sys.modules.get("threading")
        self.idents = set(getattr(threading, "_active", None) or ())

    def close(self):
        _Session.close(self)
        for tid in list(self.task_fds):
            self.forget_thread(tid)
        try:
            _close(self.statm)
        except OSError:
            pass

    def private(self):
        return _private(_pread(self.statm, 128, 0))

    def size(self):
        return self.total

    def tick(self):
        private = self.private()
        threading = sys.modules.get("threading")
        active = getattr(threading, "_active", None) if threading is not None else None
        changed = active is not None and len(active) != len(self.idents)
        faults = None
        if active is not None and (changed or (private != self.last and len(active) > 1)):
            # Read before taking the lock: each read releases the GIL.
            faults = self.read_all_faults(active)
        if changed:
            with self.lock:
                self.known_faults(active, faults)
        if private != self.last:
            with self.lock:
                if self.stopped:
                    return
                self.last = private
                self.change(private, True, None, faults)
                if self.peak_due() and self.sampler_snapshots():
                    self.snapshot("peak")

    def sampler_snapshots(self):
        # While the job's threads look from their collector callbacks, peaks are theirs to write: the
        # sampler thread may not get the GIL back for a long time after a write.
        return _perf() - self.gc_looked > 0.1

    def gc_look(self, frame):
        """
        A look from inside the thread that allocates: the cyclic collector starts after every few hundred
        container objects a thread allocates, in that thread, with the allocating code's frame on top. The
        sampler thread needs the GIL, and a thread that releases it often for short I/O (reading a CSV
        line by line) keeps winning it back before the sampler wakes: the sampler can then wait for
        hundreds of ms, and would charge that growth to whatever runs when it gets in.
        """
        now = _perf()
        if now < self.next_gc_look or self.stopped or _thread.get_ident() == self.ident:
            return
        self.next_gc_look = now + self.period
        self.gc_looked = now
        private = self.private()
        if private == self.last:
            return
        # Not blocking: this thread may hold the lock itself (a collection inside the profiler's own code).
        if not self.lock.acquire(False):
            return
        try:
            self.last = private
            self.change(private, True, frame)
            if self.peak_due():
                self.snapshot("peak")
        finally:
            self.lock.release()
        self.spool.flush()

    def last_look(self):
        # At exit only a decrease is applied: the stack running now is the exit machinery's.
        private = self.private()
        if private < self.last:
            self.last = private
            self.change(private, False)

    def change(self, private, charge, frame=None, faults=None):
        if private < self.baseline:
            # Freed below where it started: later growth counts from here.
            self.baseline = private
        growth = private - self.baseline
        if growth <= 0:
            if self.raw or self.total:
                self.raw.clear()
                self.counts.clear()
                self.scale = 1.0
                self.total = 0
                self.dirty = True
            return
        if growth > self.total:
            if not charge:
                return
            if frame is not None:
                self.add(self.leaf(frame), growth - self.total)
            else:
                self.charge(growth - self.total, faults)
        else:
            # Whatever was freed, every charge keeps its share: their sum stays the growth.
            self.scale *= growth / self.total
            if self.scale < 1e-9:
                self.renormalize()
        self.total = growth
        self.dirty = True

    def renormalize(self):
        scale = self.scale
        raw = {}
        for node, value in self.raw.items():
            value *= scale
            if value >= 0.5:
                raw[node] = value
        self.counts = {node: count for node, count in self.counts.items() if node in raw}
        self.raw = raw
        self.scale = 1.0

    def charge(self, amount, faults):
        frames = sys._current_frames()
        me = self.ident
        targets = [(ident, frame) for ident, frame in frames.items() if ident != me]
        del frames
        if not targets:
            self.add(self.root_node("(no Python thread)"), amount)
            return
        if len(targets) == 1:
            self.add(self.leaf(targets[0][1]), amount)
            return
        weights = self.weights([ident for ident, _ in targets], amount, faults or {})
        total = float(sum(weights))
        for (ident, frame), weight in zip(targets, weights):
            if weight > 0:
                self.add(self.leaf(frame), amount * weight / total)

    def add(self, node, amount):
        raw = self.raw
        raw[node] = raw.get(node, 0.0) + amount / self.scale
        self.counts[node] = self.counts.get(node, 0) + 1

    def weights(self, idents, amount, faults):
        """
        Each thread's share of a growth: the page faults it took that no growth has matched yet.

        Resident memory grows by page faults, taken by the thread that first touches the new pages, which
        is the one that allocated them. CPU time would also charge threads that only computed, and an
        equal split would charge a thread waiting in join(). The faults are read a little after the
        memory (each read releases the GIL, and another thread may run for a switch interval in between),
        so faults not yet matched by growth carry over to the next growth instead of being dropped.
        Equal shares only when no thread's faults are known. `faults`: ident -> (kernel id, faults).
        """
        tids = []
        for ident in idents:
            known = faults.get(ident)
            if known is None:
                # Started without the threading module (no kernel id to read), or started just now.
                return [1] * len(idents)
            tids.append(known[0])
        last = self.faults
        unmatched = self.unmatched
        now = {}
        for tid, count in faults.values():
            now[tid] = count
            # A thread not counted when the threads changed is new since: all its faults count.
            unmatched[tid] = unmatched.get(tid, 0) + max(0, count - last.get(tid, 0))
        for tid in list(unmatched):
            if tid not in now:
                del unmatched[tid]
        self.faults = now
        weights = [unmatched.get(tid, 0) for tid in tids]
        total = sum(weights)
        if total <= 0:
            return [1] * len(idents)
        keep = max(0.0, 1.0 - amount / _PAGE / total)
        for tid in tids:
            if tid in unmatched:
                unmatched[tid] *= keep
        return weights

    def known_faults(self, active, faults):
        """
        When threads come or go: the faults of those that were there before, so that only their faults
        from now on count; a thread started since counts all of its own.
        """
        before = self.idents
        self.faults = {tid: count for ident, (tid, count) in faults.items() if ident in before}
        self.unmatched = {}
        self.idents = set(active)

    def read_all_faults(self, active):
        """ident -> (kernel id, minor faults) for the threads the threading module knows; sampler only."""
        faults = {}
        for ident, thread in list(active.items()):
            tid = getattr(thread, "native_id", None)
            if tid is not None:
                count = self.read_faults(tid)
                if count is not None:
                    faults[ident] = (tid, count)
        live = set(tid for tid, _ in faults.values())
        for tid in list(self.task_fds):
            if tid not in live:
                self.forget_thread(tid)
        return faults

    def read_faults(self, tid):
        """Minor faults of one thread of this process (/proc/self/task/TID/stat, field 10), or None."""
        fd = self.task_fds.get(tid)
        try:
            if fd is None:
                fd = _open("/proc/self/task/%d/stat" % tid, os.O_RDONLY | _O_CLOEXEC)
                if len(self.task_fds) < MAX_THREAD_FDS:
                    self.task_fds[tid] = fd
                else:
                    try:
                        return self.parse_faults(_pread(fd, 1024, 0))
                    finally:
                        _close(fd)
            return self.parse_faults(_pread(fd, 1024, 0))
        except (OSError, ValueError, IndexError):
            self.forget_thread(tid)
            return None

    @staticmethod
    def parse_faults(stat):
        # The command name, in parentheses, may hold spaces: fields count from its closing one.
        return int(stat[stat.rindex(b")") + 2 :].split(None, 8)[7])

    def forget_thread(self, tid):
        fd = self.task_fds.pop(tid, None)
        if fd is not None:
            try:
                _close(fd)
            except OSError:
                pass

    def root_node(self, name):
        key = (0, name, 0)
        node = self.ids.get(key)
        if node is None:
            node = self.new_node(0, name, "", 0)
            self.ids[key] = node
        return node

    def leaf(self, frame):
        # A thread inside the profiler (its collector callback reading memory, a fork hook importing) is
        # charged for the code that called in: what the profiler's own frames called is not the job's.
        stack = []
        while frame is not None and len(stack) < MAX_DEPTH:
            if frame.f_code.co_filename == _HERE:
                del stack[:]
            else:
                stack.append(frame)
            frame = frame.f_back
        ids = self.ids
        parent = 0
        outer = None
        for frame in reversed(stack):
            code = frame.f_code
            line = frame.f_lineno or 0
            key = (parent, id(code), line)
            node = ids.get(key)
            if node is None:
                node = self.new_node(parent, _code_name(code, outer), code.co_filename, line)
                ids[key] = node
                self.codes[id(code)] = code
            parent = node
            outer = code
        return parent

    def entries(self, reason):
        scale = self.scale
        counts = self.counts
        out = []
        for node, raw in self.raw.items():
            size = int(raw * scale + 0.5)
            if size > 0:
                out.extend((node, size, counts.get(node, 0)))
        return out, self.total


def _private(statm):
    # resident - shared: anonymous pages, what the process itself allocated (not its mapped files).
    fields = statm.split(None, 3)
    return (int(fields[1]) - int(fields[2])) * _PAGE


def _read(path):
    fd = _open(path, os.O_RDONLY | _O_CLOEXEC)
    try:
        return _pread(fd, 1 << 16, 0)
    finally:
        _close(fd)


def _sibling(name):
    """A module beside this one, loaded by path (a module of the job's with its name must not stand in)."""
    module = sys.modules.get(name)
    if module is None:
        import importlib.util

        # The sibling imports this module by its name.
        sys.modules.setdefault("_headroom_profile", sys.modules[__name__])
        path = os.path.join(os.path.dirname(_HERE), name + ".py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return module


def _new_session(inherited, baseline=None, sampler=True):
    directory = os.environ.get("HEADROOM_PROFILE_DIR")
    if not directory:
        return None
    try:
        start_ms = int(os.environ.get("HEADROOM_START_MS") or 0)
    except ValueError:
        start_ms = 0
    if start_ms <= 0:
        start_ms = int(_now() * 1000)
    mode = os.environ.get("HEADROOM_PYTHON_PROFILER") or "growth"
    note = None
    if mode == "tracemalloc":
        session = _sibling("_headroom_tracemalloc").new_session(directory, start_ms, inherited)
    else:
        if mode != "growth":
            note = "unknown HEADROOM_PYTHON_PROFILER %r: profiling growth" % mode
        session = _Growth(directory, start_ms, baseline)
    session.begin(note, sampler)
    return session


# Forked children. The at-fork hook in the child only drops the parent's session: subprocess runs it
# between fork and exec when given a preexec_fn, and a child that is about to exec must not open a spool
# or write a record with its parent's argv. The child's own session starts at its first collector
# callback (soon, in code that allocates objects), at its exit, or from a thread that waits
# RESUME_AFTER_S first (for a child that grows without allocating objects the collector tracks: bytes,
# arrays), whichever comes first; a child exec'd by then never gets that far. That thread then runs the
# session's sampler: one thread of the profiler's in the child, as in its parent.
RESUME_AFTER_S = 0.05
# Holds one entry while a forked child's session is still to start: the parent's private memory at the
# fork (or None). Popped by whichever thread starts it (list.pop is atomic).
_resume_token = []
# The lock the waiting thread sleeps on, released to wake it early; None when no thread waits.
_waiter = None
# The parent's private memory read just before fork().
_fork_private = None

# Python 3.12+ warns at fork() when the process has other threads, counting them in the kernel: the sampler
# thread alone would make every fork of a single-threaded job warn. Silenced for that one case, around the
# fork only; with threads of the job's own the warning stays.
_FORK_WARNING = r"This process \(pid=\d+\) is multi-threaded, use of \w+\(\) may lead to deadlocks"
_fork_filter = None


def _os_threads():
    stat = _read("/proc/self/stat")
    return int(stat[stat.rindex(b")") + 2 :].split()[17])


def _before_fork():
    global _fork_filter, _fork_private
    try:
        session = _current
        _fork_private = None
        if isinstance(session, _Growth) and not session.stopped:
            _fork_private = session.private()
        elif session is None and _resume_token:
            # A child forking before its own session started: its child still needs a baseline.
            _fork_private = _private(_read("/proc/self/statm"))
        ours = (session is not None and not session.stopped) or _waiter is not None
        if sys.version_info >= (3, 12) and ours and _os_threads() == 2:
            import warnings

            warnings.filterwarnings("ignore", message=_FORK_WARNING, category=DeprecationWarning)
            _fork_filter = warnings.filters[0]
    except Exception:
        pass


def _drop_fork_filter():
    global _fork_filter
    entry = _fork_filter
    _fork_filter = None
    if entry is None:
        return
    try:
        import warnings

        warnings.filters.remove(entry)
        mutated = getattr(warnings, "_filters_mutated", None)
        if mutated is not None:
            mutated()
    except Exception:
        pass


def _after_fork_in_parent():
    _drop_fork_filter()


def _after_fork_in_child():
    global _current, _main_ident, _undelivered, _waiter
    _drop_fork_filter()
    try:
        # fork() may be called from any thread; it is the child's main thread, where its signals go.
        _main_ident = _thread.get_ident()
        # The parent's to raise; the thread that would have sent the signal did not survive the fork.
        _undelivered = None
        old = _current
        _current = None
        _waiter = None
        if old is None and not _resume_token:
            return
        if old is not None:
            # Its sampler thread did not survive the fork; its files are the parent's.
            old.close()
        del _resume_token[:]
        # subprocess with a preexec_fn: exec (or _exit) follows at once.
        try:
            caller = sys._getframe(1).f_code
        except ValueError:
            caller = None
        if caller is not None and caller.co_name == "_execute_child":
            if caller.co_filename.endswith("subprocess.py"):
                return
        _resume_token.append(_fork_private)
        wake = _thread.allocate_lock()
        wake.acquire()
        _waiter = wake
        try:
            _thread.start_new_thread(_resume_later, (wake,))
        except Exception:
            _waiter = None
    except Exception:
        _current = None


def _resume(sampler=True):
    """
    Starts a forked child's session if it is still to start; returns the session. Its sampler is the
    waiting thread's to run, if there is one; else a new thread's, if `sampler`.
    """
    global _current, _waiter
    try:
        baseline = _resume_token.pop()
    except IndexError:
        return _current
    waiter = _waiter
    _waiter = None
    try:
        _current = _new_session(True, baseline, sampler and waiter is None)
    except Exception:
        _current = None
    if waiter is not None:
        try:
            waiter.release()
        except RuntimeError:
            pass
    return _current


def _resume_later(wake):
    try:
        wake.acquire(True, RESUME_AFTER_S)
        session = _resume()
        if session is not None and not session.stopped and session.ident is None:
            session.run()
    except Exception:
        pass


# Signals. A signal's Python handler runs in the main thread at the next check of the eval loop, and the
# profiler runs Python code in the main thread: its collector callback, on every collection, and its fork
# hooks. The handler may run there (at the callback's very first instruction, out of reach of any try),
# and what it raises (KeyboardInterrupt on Ctrl-C, SystemExit from a SIGTERM handler, an alarm's timeout)
# would be dropped by the interpreter ("Exception ignored in ..."): the job would run on. Such an exception
# is held instead and raised again in the job's own code. Not by setting the signal pending again from the
# profiler's frame: the interpreter checks right after every call, so it would be handled, and dropped,
# there again. The collector callback is muted (nothing of the profiler then runs in the main thread), a
# spare signal whose default is to be ignored gets a handler that raises the held exception, and a thread
# sends that signal to the main thread until it is raised (a real signal also ends a blocking call). The
# handler stays installed afterwards, doing nothing: a signal still on its way must not find it gone.
# The entry case is seen through sys.unraisablehook: a job that replaces the hook loses it.
KNOCK_S = 0.005
_main_ident = _thread.get_ident()
# The exception to raise in the job's code, and the last one raised (it may land in a finalizer run by a
# collection, and be dropped again: the collection's end forgets it).
_undelivered = None
_delivered = None
_spare = None
_previous_unraisablehook = None
_OWN_FILES = (_HERE, os.path.join(os.path.dirname(_HERE), "_headroom_tracemalloc.py"))
# Stands in for the collector callback while it is muted: a C callable that takes (phase, info) and runs
# no Python code.
_MUTED = slice

try:
    import _signal
except ImportError:
    _signal = None


def _from_signal_handler(error):
    """Whether an exception caught in the profiler's code was raised by one of the job's signal handlers."""
    if not isinstance(error, Exception):
        # KeyboardInterrupt, SystemExit: never the profiler's own.
        return True
    if _signal is None:
        return False
    handlers = set()
    for number in range(1, _signal.NSIG):
        try:
            handler = _signal.getsignal(number)
        except (ValueError, OSError):
            continue
        handler = getattr(handler, "__func__", handler)
        code = getattr(handler, "__code__", None)
        if code is not None:
            handlers.add(code)
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code in handlers:
            return True
        tb = tb.tb_next
    return False


def _mute(muted):
    callbacks = gc.callbacks
    old, new = (_gc_callback, _MUTED) if muted else (_MUTED, _gc_callback)
    # In place: the collector may be walking the list now.
    for index in range(len(callbacks)):
        if callbacks[index] is old:
            callbacks[index] = new
            return


def _spare_signal():
    if _signal is None or not hasattr(_signal, "pthread_kill"):
        return None
    for name in ("SIGURG", "SIGWINCH"):
        number = getattr(_signal, name, None)
        if number is None:
            continue
        handler = _signal.getsignal(number)
        if handler is _raise_held:
            return number
        if handler == _signal.SIG_DFL:
            _signal.signal(number, _raise_held)
            return number
    return None


def _hold(error):
    """Holds a job's exception caught in the profiler's code, to raise it in the job's; False if it cannot."""
    global _undelivered, _spare
    if _thread.get_ident() != _main_ident:
        return False
    if _undelivered is not None:
        # Two at once: the first is raised, as the interpreter would.
        return True
    try:
        if _spare is None or _signal.getsignal(_spare) is not _raise_held:
            _spare = _spare_signal()
        if _spare is None:
            return False
        _undelivered = error
        _mute(True)
        _thread.start_new_thread(_knock, (_main_ident, _spare))
        return True
    except Exception:
        _undelivered = None
        try:
            _mute(False)
        except Exception:
            pass
        return False


def _knock(target, number):
    while _undelivered is not None:
        try:
            _signal.pthread_kill(target, number)
        except Exception:
            return
        _sleep(KNOCK_S)


def _raise_held(signum, frame):
    global _undelivered, _delivered
    error = _undelivered
    if error is None:
        return
    if frame is not None and frame.f_code.co_filename in _OWN_FILES:
        # Still the profiler's own code (its exit hooks): the next knock.
        return
    _undelivered = None
    _delivered = error
    try:
        _mute(False)
    except Exception:
        pass
    # Without the profiler's frames it was caught in: what the job's code was doing, and the handler's.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in _OWN_FILES:
        tb = tb.tb_next
    raise error.with_traceback(tb)  # a signal handler raised it in headroom's profiler: raised again here


def _unraisable(unraisable):
    try:
        error = unraisable.exc_value
        hooks = (_gc_callback, _before_fork, _after_fork_in_parent, _after_fork_in_child)
        if error is not None and (error is _delivered or any(unraisable.object is hook for hook in hooks)):
            if _hold(error):
                return
    except Exception:
        pass
    previous = _previous_unraisablehook or sys.__unraisablehook__
    previous(unraisable)


def _gc_callback(phase, info):
    global _delivered
    try:
        if phase == "start":
            session = _current
            if session is None and _resume_token:
                session = _resume()
            look = getattr(session, "gc_look", None)
            if look is not None:
                # Frames: this callback's, then the code whose allocation started the collection.
                look(sys._getframe(1))
        else:
            _delivered = None
    except BaseException as error:
        if _from_signal_handler(error):
            _hold(error)


def _threading_exit():
    # Called by threading._shutdown: at the end of the main program, before non-daemon threads are joined,
    # and at the end of a multiprocessing child, which then leaves with os._exit (no atexit).
    try:
        session = _current
        if session is None and _resume_token:
            session = _resume(False)
        if session is None:
            return
        threading = sys.modules.get("threading")
        if threading is not None:
            main = threading.main_thread()
            for thread in threading.enumerate():
                if thread is not main and not thread.daemon and thread.is_alive():
                    # They may still allocate: atexit, after they are joined, writes the last snapshot.
                    return
        session.finish(False)
    except Exception:
        pass


def _atexit():
    try:
        session = _current
        if session is None and _resume_token:
            session = _resume(False)
        if session is not None:
            session.finish(True)
        for callback in (_gc_callback, _MUTED):
            if callback in gc.callbacks:
                gc.callbacks.remove(callback)
    except Exception:
        pass


def start():
    """Starts profiling this process; never raises."""
    global _current, _previous_unraisablehook
    if _current is not None:
        return
    try:
        _current = _new_session(False)
    except Exception:
        _current = None
        return
    try:
        import atexit

        atexit.register(_atexit)
        threading = sys.modules.get("threading")
        if threading is None:
            import threading
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(_threading_exit)
        # In every mode: a forked child's session starts from it.
        gc.callbacks.append(_gc_callback)
        _previous_unraisablehook = getattr(sys, "unraisablehook", None)
        if _previous_unraisablehook is not None:
            sys.unraisablehook = _unraisable
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=_before_fork,
                after_in_parent=_after_fork_in_parent,
                after_in_child=_after_fork_in_child,
            )
    except Exception:
        pass
