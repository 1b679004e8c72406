"""Live work first within one worker process: bulk work steps aside while a live lane runs.

A worker's lanes are threads of one process (xinan/core/worker.py). Their own database
connections keep them from waiting on each other's transactions, but not from sharing the
process's interpreter lock and its share of the CPU: on PostgreSQL, with an import running,
the critical lane's thread spent most of each pass waiting to run again after each query while
the bulk lane's consumers and the importer's parsing held the interpreter (the database
sessions of the critical lane sat idle in transaction, waiting for their client; passes of
60 deliveries took 2.4 s for 0.47 s of the thread's own CPU).

So a live lane (critical, default) marks its pass with `live()`, and bulk work in the same
process calls `step_aside()` at its safe points (the bulk lane before each of its transactions,
the importer between rows it parses, outside its transaction): it waits while a live pass
runs, at most `STEP_ASIDE_SECONDS` at a time so it still moves under a steady live load. It
never waits inside a transaction (on SQLite a transaction holds the one write lock).
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Longest one step aside lasts: bulk work goes on for a moment between live passes that follow
# each other without a pause.
STEP_ASIDE_SECONDS = 0.25

_cond = threading.Condition()
_live = 0
_waiting = 0


@contextmanager
def live() -> Iterator[None]:
    """Mark live work running in this process for the block's duration."""
    global _live
    with _cond:
        _live += 1
    try:
        yield
    finally:
        with _cond:
            _live -= 1
            if not _live:
                _cond.notify_all()


def busy() -> bool:
    """Whether live work is running in this process now."""
    return _live > 0


def waiting() -> int:
    """How many threads of this process are stepping aside now."""
    return _waiting


def step_aside(longest: float | None = None) -> float:
    """Wait while live work runs in this process, at most `longest` seconds (by default
    STEP_ASIDE_SECONDS); return how long it waited (0 when nothing live was running, the
    common case, checked without taking a lock)."""
    global _waiting
    if not _live:
        return 0.0
    start = time.monotonic()
    with _cond:
        _waiting += 1
        try:
            _cond.wait_for(
                lambda: not _live, timeout=STEP_ASIDE_SECONDS if longest is None else longest
            )
        finally:
            _waiting -= 1
    return time.monotonic() - start
