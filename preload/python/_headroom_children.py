# Forked children, for _headroom_profile.py. The at-fork hook in the child only drops the parent's
# session: subprocess runs it between fork and exec when given a preexec_fn, and a child that is about to
# exec must not open a spool or write a record with its parent's argv. The child's own session starts at
# its first collector callback (soon, in code that allocates objects), at its exit, or from a thread that
# waits RESUME_AFTER_S first (for a child that grows without allocating objects the collector tracks:
# bytes, arrays), whichever comes first; a child exec'd by then never gets that far. That thread then runs
# the session's sampler: one thread of the profiler's in the child, as in its parent.
import _thread
import os
import sys

from _headroom_sampler import _Growth, _private, _read

# The session running in this process (a forked child replaces it with its own).
current = None
# Wired by install(): a session from the environment (_headroom_profile.py), and what the signal handling
# of the parent (_headroom_gc.py) must not leave to the child.
_new_session = None
_forget_signals = None

# How long the thread that starts a forked child's session waits for a collector callback to start it.
RESUME_AFTER_S = 0.05
# Holds one entry while a forked child's session is still to start: the parent's private memory at the
# fork (or None). Popped by whichever thread starts it (list.pop is atomic).
resume_token = []
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
        session = current
        _fork_private = None
        if isinstance(session, _Growth) and not session.stopped:
            _fork_private = session.private()
        elif session is None and resume_token:
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
    global current, _waiter
    _drop_fork_filter()
    try:
        _forget_signals()
        old = current
        current = None
        _waiter = None
        if old is None and not resume_token:
            return
        if old is not None:
            # Its sampler thread did not survive the fork; its files are the parent's.
            old.close()
        del resume_token[:]
        # subprocess with a preexec_fn: exec (or _exit) follows at once.
        try:
            caller = sys._getframe(1).f_code
        except ValueError:
            caller = None
        if caller is not None and caller.co_name == "_execute_child":
            if caller.co_filename.endswith("subprocess.py"):
                return
        resume_token.append(_fork_private)
        wake = _thread.allocate_lock()
        wake.acquire()
        _waiter = wake
        try:
            _thread.start_new_thread(_resume_later, (wake,))
        except Exception:
            _waiter = None
    except Exception:
        current = None


def resume(sampler=True):
    """
    Starts a forked child's session if it is still to start; returns the session. Its sampler is the
    waiting thread's to run, if there is one; else a new thread's, if `sampler`.
    """
    global current, _waiter
    try:
        baseline = resume_token.pop()
    except IndexError:
        return current
    waiter = _waiter
    _waiter = None
    try:
        current = _new_session(True, baseline, sampler and waiter is None)
    except Exception:
        current = None
    if waiter is not None:
        try:
            waiter.release()
        except RuntimeError:
            pass
    return current


def _resume_later(wake):
    try:
        wake.acquire(True, RESUME_AFTER_S)
        session = resume()
        if session is not None and not session.stopped and session.ident is None:
            session.run()
    except Exception:
        pass


def install(new_session, forget_signals):
    """Registers the fork hooks; `new_session(inherited, baseline, sampler)` starts a child's session."""
    global _new_session, _forget_signals
    _new_session = new_session
    _forget_signals = forget_signals
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_before_fork,
            after_in_parent=_after_fork_in_parent,
            after_in_child=_after_fork_in_child,
        )
