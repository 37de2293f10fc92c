# headroom's exact Python allocation profiler (issue 4), HEADROOM_PYTHON_PROFILER=tracemalloc: loaded by
# _headroom_profile.py in this mode only. tracemalloc's live blocks grouped by traceback, at new peaks of
# traced memory and at exit; a snapshot copies every trace (about 3.5 times what tracemalloc holds), so one
# that would not fit in the memory left under the limit is refused with a note instead of taken.
import os
import sys
from bisect import bisect_right

from _headroom_sampler import _OWN_FILES, _PAGE, MAX_DEPTH, _code_name, _read
from _headroom_snapshots import _Session

MIB = 1 << 20

# tracemalloc mode only compares two counters per look.
TRACEMALLOC_PERIOD_S = 0.02
# tracemalloc's snapshots copy every trace: costly on a large heap, but this mode was chosen for exactness
# and tracing itself costs several times the job's own time.
TRACEMALLOC_BUDGET = 0.10
DEFAULT_TRACEMALLOC_FRAMES = 8
# Measured: copying tracemalloc's traces into Python objects and grouping them takes 3.5 (1 frame) to 4.1
# (8 frames) times what tracemalloc itself holds (get_tracemalloc_memory), on 2 to 8 million traces.
TRACEMALLOC_COPY_FACTOR = 4.5


_FunctionType = type(_code_name)
_CodeType = type(_code_name.__code__)


class _FunctionNames:
    """
    The function around a file's line: tracemalloc records only file and line. Found among the code
    objects of the loaded modules (functions, methods, and the code nested in them: inner functions,
    lambdas, comprehensions), so no source is read or compiled, which would cost seconds under tracing;
    a file no loaded module holds code of is parsed instead.
    """

    def __init__(self):
        self.lines = {}
        # filename -> code objects defined there, by first line; None when none was found.
        self.codes = {}
        self.ends = {}
        # Qualified names by code id, from the functions (code before 3.11 has no co_qualname).
        self.names = {}
        self.walked = set()
        self.modules_seen = -1
        self.modules_by_file = {}

    def name(self, filename, line):
        key = (filename, line)
        known = self.lines.get(key)
        if known is None:
            try:
                known = self.lookup(filename, line)
            except Exception:
                known = ""
            self.lines[key] = known
        return known

    def lookup(self, filename, line):
        if not filename or filename.startswith("<"):
            return ""
        if filename not in self.codes:
            self.index(filename)
        codes = self.codes.get(filename)
        if codes is None:
            return self.parsed(filename, line)
        firsts, codes = codes
        # Innermost first: nested code starts after the code around it.
        for i in range(bisect_right(firsts, line) - 1, -1, -1):
            if line <= self.end(codes[i]):
                return self.names.get(id(codes[i])) or _code_name(codes[i])
        return "<module>"

    def end(self, code):
        known = self.ends.get(id(code))
        if known is None:
            lines = getattr(code, "co_lines", None)
            if lines is not None:
                known = max((entry[2] for entry in lines() if entry[2] is not None), default=0)
            else:
                import dis

                known = max((entry[1] for entry in dis.findlinestarts(code)), default=0)
            known = max(known, code.co_firstlineno)
            self.ends[id(code)] = known
        return known

    def index(self, filename):
        if len(sys.modules) != self.modules_seen:
            # Modules by their file, again only when modules were imported since.
            self.modules_seen = len(sys.modules)
            by_file = {}
            for name, module in list(sys.modules.items()):
                module_file = getattr(module, "__file__", None)
                if isinstance(module_file, str):
                    by_file.setdefault(module_file, []).append(name)
                    by_file.setdefault(os.path.abspath(module_file), []).append(name)
            self.modules_by_file = by_file
        found = {}
        for key in (filename, os.path.abspath(filename)):
            for name in self.modules_by_file.get(key, ()):
                module = sys.modules.get(name)
                if module is not None and name not in self.walked:
                    self.walked.add(name)
                    self.walk(module, found)
        for file, codes in found.items():
            known = self.codes.get(file)
            known = list(known[1]) if known else []
            seen = set(id(code) for code in known)
            known.extend(code for code in codes if id(code) not in seen)
            known.sort(key=lambda code: code.co_firstlineno)
            self.codes[file] = ([code.co_firstlineno for code in known], known)
        self.codes.setdefault(filename, None)

    def walk(self, module, found):
        seen = set()
        todo = list(vars(module).values())
        owner = getattr(module, "__name__", None)
        codes = []
        while todo:
            item = todo.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, _FunctionType):
                codes.append((item.__code__, getattr(item, "__qualname__", None)))
                wrapped = getattr(item, "__wrapped__", None)
                if wrapped is not None:
                    todo.append(wrapped)
            elif isinstance(item, type):
                if getattr(item, "__module__", None) == owner:
                    todo.extend(vars(item).values())
            elif isinstance(item, (staticmethod, classmethod)):
                todo.append(item.__func__)
            elif isinstance(item, property):
                todo.extend(f for f in (item.fget, item.fset, item.fdel) if f is not None)
        while codes:
            code, name = codes.pop()
            if id(code) in seen:
                continue
            seen.add(id(code))
            name = getattr(code, "co_qualname", None) or name or code.co_name
            self.names[id(code)] = name
            found.setdefault(code.co_filename, []).append(code)
            codes.extend(
                (const, name + ".<locals>." + const.co_name)
                for const in code.co_consts
                if isinstance(const, _CodeType)
            )

    def parsed(self, filename, line):
        spans = self.codes.get(("ast", filename))
        if spans is None:
            spans = self.parse(filename)
            self.codes[("ast", filename)] = spans
        best = None
        for start, end, name in spans:
            if start <= line <= end and (best is None or start >= best[0]):
                best = (start, end, name)
        if best is not None:
            return best[2]
        return "<module>" if spans else ""

    @staticmethod
    def parse(filename):
        try:
            if os.path.getsize(filename) > 4 * MIB:
                return []
            import ast

            with open(filename, "rb") as f:
                tree = ast.parse(f.read(), filename)
        except Exception:
            return []
        spans = []
        todo = [(tree, "")]
        while todo:
            node, prefix = todo.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = prefix + child.name
                    if not isinstance(child, ast.ClassDef):
                        spans.append((child.lineno, getattr(child, "end_lineno", None) or child.lineno, name))
                        todo.append((child, name + ".<locals>."))
                    else:
                        todo.append((child, name + "."))
                else:
                    todo.append((child, prefix))
        # The whole file is the module's: "<module>" for lines outside every function.
        return spans or [(0, 0, "<module>")]


class _Tracemalloc(_Session):
    """tracemalloc's live blocks grouped by traceback, at peaks of traced memory and at exit."""

    mode = "tracemalloc"
    period = TRACEMALLOC_PERIOD_S
    budget = TRACEMALLOC_BUDGET

    def __init__(self, directory, start_ms, tracemalloc, inherited):
        _Session.__init__(self, directory, start_ms)
        self.tracemalloc = tracemalloc
        # A forked child starts with its parent's blocks: its first peak is growth beyond them.
        self.peak_written = tracemalloc.get_traced_memory()[0] if inherited else 0
        self.last_size = -1
        self.ids = {}
        self.names = _FunctionNames()
        self.warned_stopped = False

    def size(self):
        if not self.tracemalloc.is_tracing():
            return 0
        return self.tracemalloc.get_traced_memory()[0]

    def tick(self):
        if not self.tracemalloc.is_tracing():
            if not self.warned_stopped:
                self.warned_stopped = True
                self.note("tracemalloc was stopped by the job: no more snapshots")
            return
        size = self.tracemalloc.get_traced_memory()[0]
        if size != self.last_size:
            self.last_size = size
            self.dirty = True
        if self.peak_due():
            with self.lock:
                if not self.stopped:
                    self.snapshot("peak")

    def entries(self, reason):
        tracemalloc = self.tracemalloc
        if not tracemalloc.is_tracing():
            return None
        size = tracemalloc.get_traced_memory()[0]
        need = tracemalloc.get_tracemalloc_memory() * TRACEMALLOC_COPY_FACTOR
        left, where = _memory_left()
        if left is not None and need > left:
            self.note(
                "%s snapshot skipped: it would need ~%d MiB, only %d MiB %s"
                % (reason, _mib_up(need), max(0, left) // MIB, where)
            )
            return None
        return self.group(tracemalloc), size

    def group(self, tracemalloc):
        from itertools import groupby
        from operator import itemgetter

        get_traces = getattr(tracemalloc, "_get_traces", None)
        if get_traces is not None:
            # (domain, size, frames newest first, total frames): the copy take_snapshot makes, without
            # building a Trace object per block.
            traces = get_traces()
        else:
            traces = [
                (0, trace.size, tuple((f.filename, f.lineno) for f in reversed(trace.traceback)), 0)
                for trace in tracemalloc.take_snapshot().traces
            ]
        frames_of = itemgetter(2)
        size_of = itemgetter(1)
        # Sorting groups equal tracebacks (tracemalloc shares one tuple per traceback, so mostly identity
        # compares) and then sum() adds each group in C: a dict of running sums allocates an int per block,
        # and every allocation is traced, which made that ten times slower.
        traces.sort(key=frames_of)
        out = []
        for frames, blocks in groupby(traces, frames_of):
            if any(frame[0] in _OWN_FILES for frame in frames):
                # The profiler's own: its names cache, the snapshot being made.
                continue
            sizes = list(map(size_of, blocks))
            out.extend((self.leaf(frames), sum(sizes), len(sizes)))
        del traces
        return out

    def leaf(self, frames):
        ids = self.ids
        parent = 0
        for filename, line in reversed(frames[:MAX_DEPTH]):
            key = (parent, filename, line)
            node = ids.get(key)
            if node is None:
                node = self.new_node(parent, self.names.name(filename, line), filename, line)
                ids[key] = node
            parent = node
        if parent == 0:
            parent = ids.get((0, "", 0))
            if parent is None:
                parent = self.new_node(0, "(no traceback)", "", 0)
                ids[(0, "", 0)] = parent
        return parent


def _mib_up(value):
    return -(-int(value) // MIB)


def _read_int(path):
    return int(_read(path).split()[0])


def _memory_left():
    """
    Bytes the process may still allocate and what bounds them, the tightest of: the cgroup limit less
    its usage, the data size limit (headroom's guard sets RLIMIT_DATA a little below the cgroup limit)
    less the process's data size, and the host's available memory. (None, "") when none is known.
    """
    bounds = []
    try:
        limit = int(os.environ.get("HEADROOM_LIMIT_BYTES") or 0)
    except ValueError:
        limit = 0
    statm = None
    try:
        statm = _read("/proc/self/statm").split()
    except OSError:
        pass
    if limit > 0:
        usage = None
        usage_file = os.environ.get("HEADROOM_CGROUP_USAGE_FILE")
        if usage_file:
            try:
                usage = _read_int(usage_file)
            except (OSError, ValueError, IndexError):
                usage = None
        if usage is None and statm:
            # The process's own resident memory: at least part of what the limit counts.
            usage = int(statm[1]) * _PAGE
        bounds.append((limit - (usage or 0), "left under the limit"))
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_DATA)[0]
        if soft != resource.RLIM_INFINITY and statm:
            bounds.append((soft - int(statm[5]) * _PAGE, "left under the data size limit (RLIMIT_DATA)"))
    except (ImportError, OSError, ValueError, IndexError):
        pass
    try:
        for line in _read("/proc/meminfo").split(b"\n"):
            if line.startswith(b"MemAvailable:"):
                bounds.append((int(line.split()[1]) * 1024, "available on the host"))
                break
    except (OSError, ValueError, IndexError):
        pass
    if not bounds:
        return None, ""
    return min(bounds, key=lambda bound: bound[0])


def _tracemalloc_frames():
    try:
        frames = int(os.environ.get("HEADROOM_TRACEMALLOC_FRAMES") or DEFAULT_TRACEMALLOC_FRAMES)
    except ValueError:
        frames = DEFAULT_TRACEMALLOC_FRAMES
    return min(max(frames, 1), 100)


def new_session(directory, start_ms, inherited):
    import tracemalloc

    if not tracemalloc.is_tracing():
        tracemalloc.start(_tracemalloc_frames())
    return _Tracemalloc(directory, start_ms, tracemalloc, inherited)
