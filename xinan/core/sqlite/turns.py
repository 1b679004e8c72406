"""Turns at SQLite's one write lock across processes.

Threads of one process queue on a Python lock (base.py); processes beside each other (the
server, two `xinan worker`s, a management command) would otherwise meet only SQLite's busy
handler, which retries in growing sleeps of up to 100 ms. A process that writes back to back
(the bulk lane, an import) then takes the lock again in the microseconds between its own
commits, and a live submission in another process waits out its whole busy timeout: it was
refused with "database is locked" while an import ran.

So every write transaction of this backend first takes an exclusive `flock` on a file beside
the database, and a process that finds the lock taken holds a shared `flock` on a second file
while it waits. A writer that is about to begin again and sees someone waiting steps aside
until the waiter has taken the lock (at most 50 ms), so the waiter gets its turn. A process
killed mid-transaction loses its locks with its file descriptors; nothing to clean up.
"""

import fcntl
import os
import threading
import time

from django.db import OperationalError

POLL_SECONDS = 0.001  # a waiter retries this often
STEP_ASIDE_SECONDS = 0.05  # at most this long a writer lets the waiting go first

# By process too: a forked child must not share its parent's open files, whose flocks they
# would hold together.
_files: dict[tuple[str, int], tuple[int, int]] = {}
_guard = threading.Lock()


def _fds(path: str) -> tuple[int, int]:
    key = (path, os.getpid())
    with _guard:
        if key not in _files:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            _files[key] = (
                os.open(f"{path}-writer.lock", flags, 0o600),
                os.open(f"{path}-waiting.lock", flags, 0o600),
            )
        return _files[key]


def applies(path: str) -> bool:
    """Only a database file has other processes beside it (not :memory:, not file: URIs)."""
    return bool(path) and path != ":memory:" and not path.startswith("file:")


def _someone_waits(waiting: int) -> bool:
    try:
        fcntl.flock(waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(waiting, fcntl.LOCK_UN)
    return False


def take(path: str, timeout: float) -> None:
    """Take this process's turn at the write lock of `path` (the caller holds the process's
    Python write lock, so one thread per process gets here at a time)."""
    writer, waiting = _fds(path)
    # Step aside until the waiting have had their turn (a waiter stops waiting once it holds
    # the lock); bounded, so a waiter that is itself stuck cannot stop this process.
    until = time.monotonic() + STEP_ASIDE_SECONDS
    while _someone_waits(waiting) and time.monotonic() < until:
        time.sleep(POLL_SECONDS)
    try:
        fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    deadline = time.monotonic() + timeout
    fcntl.flock(waiting, fcntl.LOCK_SH)
    try:
        while True:
            time.sleep(POLL_SECONDS)
            try:
                fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    # What SQLite itself says when its busy timeout runs out.
                    raise OperationalError("database is locked") from None
    finally:
        fcntl.flock(waiting, fcntl.LOCK_UN)


def give(path: str) -> None:
    writer, _waiting = _fds(path)
    fcntl.flock(writer, fcntl.LOCK_UN)
