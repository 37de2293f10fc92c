# headroom's Python guard, loaded through PYTHONPATH in every Python process of a guarded job (children
# and exec'd interpreters inherit the variable). Standard library only.
#
# CPython never looks at its container's limit: past it, the kernel's OOM killer ends the process with
# SIGKILL, no traceback, no flushed file. An RLIMIT_DATA a little below the limit makes the allocation that
# would cross it fail with MemoryError instead. Not RLIMIT_AS: it counts virtual reservations (glibc
# arenas, BLAS, thread stacks) and breaks ordinary programs. Set here, in Python processes: Node sizes its
# heap from RLIMIT_DATA too, so it must not be set on the whole job (a program a Python process starts
# does inherit it).
#
# With profiling on (HEADROOM_PROFILE_DIR set) it also starts the allocation profiler,
# _headroom_profile.py beside it; without, it costs nothing more than one environment lookup.
import os
import sys


def _headroom_rlimit():
    limit = os.environ.get("HEADROOM_PYTHON_RLIMIT_DATA")
    if not limit:
        return None
    try:
        import resource

        want = int(limit)
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        # A lower limit the user set stays.
        if soft == resource.RLIM_INFINITY or soft > want:
            resource.setrlimit(resource.RLIMIT_DATA, (want, hard))
        return want
    except (ValueError, OSError):
        return None


def _headroom_chain():
    # Ours shadows any sitecustomize the job or its image provides: load that one too, as Python would
    # have without us. Real paths, so that our directory reached through a symlink is still ours.
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    rest = [entry for entry in sys.path if os.path.realpath(entry or ".") != here]
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None or spec.origin is None:
        return
    if os.path.realpath(spec.origin) == os.path.realpath(os.path.abspath(__file__)):
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _headroom_profile():
    # Before the job's own sitecustomize, so that what that one allocates is profiled too. Loaded by path:
    # a module of the job's named like ours must not stand in for it.
    if not os.environ.get("HEADROOM_PROFILE_DIR"):
        return
    try:
        import importlib.util

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_headroom_profile.py")
        spec = importlib.util.spec_from_file_location("_headroom_profile", path)
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules["_headroom_profile"] = module
        spec.loader.exec_module(module)
        module.start()
    except Exception:
        pass


def _headroom_report(rlimit):
    # Installed after the job's own sitecustomize, so that a hook of theirs is wrapped, not lost.
    log = os.environ.get("HEADROOM_GUARD_LOG")
    if not log or rlimit is None:
        return

    def report(traceback):
        try:
            import json
            import time

            frame = traceback
            while frame is not None and frame.tb_next is not None:
                frame = frame.tb_next
            where = "%s:%d" % (frame.tb_frame.f_code.co_filename, frame.tb_lineno) if frame is not None else None
            line = json.dumps(
                {
                    "action": "memory-error",
                    "pid": os.getpid(),
                    "runtime": "python",
                    "where": where,
                    "rlimit": rlimit,
                    "t": time.time() * 1000,
                }
            )
            # One short append: atomic for concurrent writers on the same file.
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        except Exception:
            pass

    previous = sys.excepthook

    def on_exception(kind, value, traceback):
        if issubclass(kind, MemoryError):
            report(traceback)
        previous(kind, value, traceback)

    sys.excepthook = on_exception
    try:
        import threading

        previous_thread = threading.excepthook

        def on_thread_exception(args):
            if issubclass(args.exc_type, MemoryError):
                report(args.exc_traceback)
            previous_thread(args)

        threading.excepthook = on_thread_exception
    except (ImportError, AttributeError):
        pass


_headroom_limit = _headroom_rlimit()
_headroom_profile()
_headroom_chain()
_headroom_report(_headroom_limit)
del _headroom_rlimit, _headroom_profile, _headroom_chain, _headroom_report, _headroom_limit
