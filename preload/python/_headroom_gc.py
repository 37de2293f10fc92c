# The collector callback, for _headroom_profile.py. In every mode a forked child's session starts from it
# (_headroom_children.py); in the growth mode the job's threads look at memory from it, at the code that
# allocates (_headroom_sampler.py). And what a job's signal handler raises inside it, or inside the fork
# hooks, is held and raised again in the job's code.
import _thread
import gc
import sys
import time

import _headroom_children
from _headroom_children import _after_fork_in_child, _after_fork_in_parent, _before_fork
from _headroom_sampler import _OWN_FILES

# Bound at load (see _headroom_spool.py).
_sleep = time.sleep

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
            session = _headroom_children.current
            if session is None and _headroom_children.resume_token:
                session = _headroom_children.resume()
            look = getattr(session, "gc_look", None)
            if look is not None:
                # Frames: this callback's, then the code whose allocation started the collection.
                look(sys._getframe(1))
        else:
            _delivered = None
    except BaseException as error:
        if _from_signal_handler(error):
            _hold(error)


def forget_parent():
    """In a forked child (from its fork hook): the signal handling of the parent is not the child's."""
    global _main_ident, _undelivered
    # fork() may be called from any thread; it is the child's main thread, where its signals go.
    _main_ident = _thread.get_ident()
    # The parent's to raise; the thread that would have sent the signal did not survive the fork.
    _undelivered = None


def install():
    global _previous_unraisablehook
    # In every mode: a forked child's session starts from it.
    gc.callbacks.append(_gc_callback)
    _previous_unraisablehook = getattr(sys, "unraisablehook", None)
    if _previous_unraisablehook is not None:
        sys.unraisablehook = _unraisable


def uninstall():
    for callback in (_gc_callback, _MUTED):
        if callback in gc.callbacks:
            gc.callbacks.remove(callback)
