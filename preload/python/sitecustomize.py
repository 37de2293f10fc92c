# headroom's Python guard, loaded through PYTHONPATH in every Python process of a guarded job (children
# and exec'd interpreters inherit the variable). Standard library only.
#
# CPython never looks at its container's limit: past it, the kernel's OOM killer ends the process with
# SIGKILL, no traceback, no flushed file. An RLIMIT_DATA a little below the limit makes the allocation that
# would cross it fail with MemoryError instead. Not RLIMIT_AS: it counts virtual reservations (glibc
# arenas, BLAS, thread stacks) and breaks ordinary programs. Set here, in Python processes only: Node
# sizes its heap from RLIMIT_DATA too, so it must not be set on the whole job.
import os
import sys


def _headroom_guard():
    limit = os.environ.get("HEADROOM_PYTHON_RLIMIT_DATA")
    if not limit:
        return
    try:
        import resource

        want = int(limit)
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        # A lower limit the user set stays.
        if soft == resource.RLIM_INFINITY or soft > want:
            resource.setrlimit(resource.RLIMIT_DATA, (want, hard))
    except (ValueError, OSError):
        return
    log = os.environ.get("HEADROOM_GUARD_LOG")
    if not log:
        return
    previous = sys.excepthook

    def report_memory_error(kind, value, traceback):
        if issubclass(kind, MemoryError):
            try:
                import json
                import time

                frame = traceback
                while frame is not None and frame.tb_next is not None:
                    frame = frame.tb_next
                where = (
                    "%s:%d" % (frame.tb_frame.f_code.co_filename, frame.tb_lineno) if frame is not None else None
                )
                line = json.dumps(
                    {
                        "action": "memory-error",
                        "pid": os.getpid(),
                        "runtime": "python",
                        "where": where,
                        "rlimit": want,
                        "t": time.time() * 1000,
                    }
                )
                # One short append: atomic for concurrent writers on the same file.
                fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, (line + "\n").encode())
                finally:
                    os.close(fd)
            except Exception:
                pass
        previous(kind, value, traceback)

    sys.excepthook = report_memory_error


_headroom_guard()
del _headroom_guard


def _chain():
    # Ours shadows any sitecustomize the job or its image provides: load that one too, as Python would
    # have without us.
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_chain()
del _chain
