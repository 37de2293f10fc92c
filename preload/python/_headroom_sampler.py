# The growth sampler (_headroom_profile.py, HEADROOM_PYTHON_PROFILER=growth, the default): reads the
# process's private resident memory (a pread of /proc/self/statm) every 5 ms and, when it grew, charges
# the growth to the Python stacks running then. It looks from the sampler thread, and from the job's own
# threads when their cyclic collector starts (_headroom_gc.py): those see the allocating code itself, and
# need no GIL handover.
import _thread
import os
import sys
import time

from _headroom_snapshots import _Session

# How often the growth mode looks at memory, at most. The sampler thread needs the GIL for each look: a
# busy job hands it over at this rate (CPython's own switch interval is 5 ms as well).
GROWTH_PERIOD_S = 0.005
# Share of the process's wall time that peak snapshots may take; a peak over budget waits for the budget.
GROWTH_BUDGET = 0.01
# Frames kept per stack, innermost first (the allocation site is the innermost frame of the job's code).
MAX_DEPTH = 256
# Stat files of threads kept open to read their page faults; more threads are opened on each read.
MAX_THREAD_FDS = 64

_DIR = os.path.dirname(os.path.abspath(__file__))
# The profiler's files (all beside this one): what its frames called, or allocated, is not the job's.
_OWN_FILES = frozenset(
    os.path.join(_DIR, name + ".py")
    for name in (
        "_headroom_profile",
        "_headroom_spool",
        "_headroom_snapshots",
        "_headroom_sampler",
        "_headroom_gc",
        "_headroom_children",
        "_headroom_tracemalloc",
    )
)

# Bound at load (see _headroom_spool.py).
_open = os.open
_close = os.close
_pread = os.pread
_perf = time.perf_counter
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):
    _PAGE = 4096


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
            if frame.f_code.co_filename in _OWN_FILES:
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
