# The profiler's spool writer (_headroom_profile.py): JSON Lines to $HEADROOM_PROFILE_DIR/<pid>.jsonl in
# the format of src/profile/profile-format.ts, one whole line per write(2), so a process killed at any
# moment leaves complete lines behind.
import _thread
import os
import time

try:
    # The C string encoder alone: importing json would cost every Python process of the job more.
    from _json import encode_basestring_ascii as _quote
except ImportError:
    from json.encoder import py_encode_basestring_ascii as _quote

# Bound at load, before the job's code runs: a job that patches os or time (fake file systems, frozen
# clocks in its tests) must not change what the profiler writes or when it thinks it is.
_open = os.open
_close = os.close
_write = os.write
_now = time.time
_monotonic = time.monotonic
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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
