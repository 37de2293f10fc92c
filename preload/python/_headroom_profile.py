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
#                     memory left under the limit is refused with a note, never taken.
#
# This module starts a session and wires the others, all beside it:
#   _headroom_spool.py        the spool file and its writer
#   _headroom_snapshots.py    a session: the "I" record, call-tree nodes, snapshots and when to take them
#   _headroom_sampler.py      the growth mode
#   _headroom_tracemalloc.py  the tracemalloc mode, loaded only in that mode
#   _headroom_children.py     forked children: the fork hooks, and the session running in this process
#   _headroom_gc.py           the collector callback, and a job's signal exception caught in the profiler
#
# Nothing here may raise into the job: every entry point catches everything and at worst stops profiling.
import os
import sys
import time

_HERE = os.path.abspath(__file__)
# Bound at load (see _headroom_spool.py).
_now = time.time


def _sibling(name):
    """A module beside this one, loaded by path (a module of the job's with its name must not stand in)."""
    module = sys.modules.get(name)
    if module is None:
        import importlib.util

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


# Each after the modules it imports: those are then found in sys.modules, not on sys.path.
_sibling("_headroom_spool")
_sibling("_headroom_snapshots")
_headroom_sampler = _sibling("_headroom_sampler")
_headroom_children = _sibling("_headroom_children")
_headroom_gc = _sibling("_headroom_gc")


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
        session = _headroom_sampler._Growth(directory, start_ms, baseline)
    session.begin(note, sampler)
    return session


def _threading_exit():
    # Called by threading._shutdown: at the end of the main program, before non-daemon threads are joined,
    # and at the end of a multiprocessing child, which then leaves with os._exit (no atexit).
    try:
        session = _headroom_children.current
        if session is None and _headroom_children.resume_token:
            session = _headroom_children.resume(False)
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
        session = _headroom_children.current
        if session is None and _headroom_children.resume_token:
            session = _headroom_children.resume(False)
        if session is not None:
            session.finish(True)
        _headroom_gc.uninstall()
    except Exception:
        pass


def start():
    """Starts profiling this process; never raises."""
    if _headroom_children.current is not None:
        return
    try:
        _headroom_children.current = _new_session(False)
    except Exception:
        _headroom_children.current = None
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
        _headroom_gc.install()
        _headroom_children.install(_new_session, _headroom_gc.forget_parent)
    except Exception:
        pass
