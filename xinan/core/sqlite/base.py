"""SQLite with one in-process queue for write transactions.

SQLite allows one writer. When several threads of one server process begin IMMEDIATE
transactions at once, the losers wait in SQLite's busy handler, which sleeps in growing steps
(up to 100 ms) instead of waking when the lock is free; under load that sleep, not the work, is
what a request waits for. Threads of this process therefore queue on a Python lock before
BEGIN and are woken the moment the previous writer commits (a write outside atomic(), which is
a transaction of its own, queues the same way); processes take turns through
file locks beside the database (turns.py), so one that writes back to back cannot starve
another's live write.

A long-running server also moves WAL checkpoints off the request path (`start_checkpointer`).
By default SQLite checkpoints inside whichever commit pushes the WAL past 1,000 pages: that
commit copies the pages into the database file and syncs it while holding the write lock, so
every queued writer waits (about 17 ms here, once in 60 submissions). With the checkpointer
running, this process's connections turn automatic checkpoints off and one thread checkpoints
once a second, copying each page once however often it changed: first beside the writers, then
the few frames they added meanwhile while holding the write queue for that moment, because
SQLite starts the WAL file over only when a writer finds every frame already copied.
"""

import logging
import sqlite3
import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

from xinan.core.sqlite import turns

log = logging.getLogger(__name__)

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def write_lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(name), threading.Lock())


_checkpointers: dict[str, "Checkpointer"] = {}


class Checkpointer(threading.Thread):
    """Checkpoint one database's WAL every `interval` seconds on its own connection.

    PASSIVE never waits for SQLite's writer or readers: what it cannot copy now it copies next
    time. The WAL file is cut back to `size_limit` bytes once it starts over. Writers in other
    processes do not queue on this process's lock, so under their continuous writes the WAL may
    start over less often; connections outside a served process keep SQLite's own checkpoints
    (a RESTART checkpoint, which would wait for them while holding this process's queue, could
    stall every request for seconds).
    """

    def __init__(self, path: str, interval: float = 1.0, size_limit: int = 64 << 20):
        super().__init__(name=f"sqlite-checkpoint {path}", daemon=True)
        self.path, self.interval, self.size_limit = path, interval, size_limit
        self.stop = threading.Event()
        self.checkpoints = 0

    def run(self) -> None:
        db = None
        while not self.stop.wait(self.interval):
            try:
                if db is None:
                    db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                    db.execute(f"PRAGMA journal_size_limit={int(self.size_limit)}")
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                lock = write_lock(self.path)
                if lock.acquire(timeout=5):
                    try:
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    finally:
                        lock.release()
                self.checkpoints += 1
            except sqlite3.Error:
                # A checkpoint that fails now is retried next time; the WAL only grows meanwhile.
                log.exception("WAL checkpoint of %s failed", self.path)
                if db is not None:
                    db.close()
                    db = None
        if db is not None:
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                db.close()


def start_checkpointer(settings_dict: dict, interval: float = 1.0) -> Checkpointer | None:
    """Start (once per process and file) the background checkpointer for this database."""
    path = str(settings_dict["NAME"])
    if settings_dict.get("ENGINE") != __package__ or path in ("", ":memory:"):
        return None
    if path.startswith("file:"):
        return None  # shared in-memory test databases have no WAL
    with _locks_guard:
        if path in _checkpointers and _checkpointers[path].is_alive():
            return None
        thread = _checkpointers[path] = Checkpointer(path, interval)
    thread.start()
    return thread


def stop_checkpointer(path: str) -> None:
    with _locks_guard:
        thread = _checkpointers.pop(str(path), None)
    if thread is not None:
        thread.stop.set()
        thread.join(timeout=10)


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _holds_turn = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Always the outermost wrapper: `connection.execute_wrapper()` appends after it.
        self.execute_wrappers.append(self._queue_autocommit_write)

    def _queue_autocommit_write(self, execute, sql, params, many, context):
        """A write outside a transaction (`QuerySet.update()`, a single-row save()) is a
        transaction of its own in SQLite: it takes its turn in the queue like atomic() does."""
        if not self.get_autocommit() or self._holds_write_lock:
            return execute(sql, params, many, context)
        if not sql.lstrip()[:7].upper().startswith(WRITES):
            return execute(sql, params, many, context)
        self._take_write_lock()
        try:
            return execute(sql, params, many, context)
        finally:
            self._release_write_lock()

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        checkpointer = _checkpointers.get(str(self.settings_dict["NAME"]))
        if checkpointer is not None and checkpointer.is_alive():
            conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    def _write_lock(self) -> threading.Lock:
        return write_lock(self.settings_dict["NAME"])

    def _lock_timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    # The queue is taken and released in the connection's public transaction methods: the
    # outermost atomic() begins with set_autocommit(False, force_begin_...=True), which on
    # SQLite issues an explicit BEGIN, and ends with commit() or rollback(); close() covers a
    # connection dropped inside a transaction.
    def set_autocommit(self, autocommit, force_begin_transaction_with_broken_autocommit=False):
        force_begin = force_begin_transaction_with_broken_autocommit
        if autocommit or not force_begin:
            return super().set_autocommit(autocommit, force_begin)
        self._take_write_lock()
        try:
            return super().set_autocommit(False, force_begin)
        except BaseException:
            self._release_write_lock()
            raise

    def _take_write_lock(self) -> None:
        lock = self._write_lock()
        if not lock.acquire(timeout=self._lock_timeout()):
            # What SQLite itself says when its busy timeout runs out.
            raise OperationalError("database is locked")
        self._holds_write_lock = True
        try:
            path = str(self.settings_dict["NAME"])
            if turns.applies(path):
                turns.take(path, self._lock_timeout())  # and other processes' writers
                self._holds_turn = True
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_turn:
            self._holds_turn = False
            turns.give(str(self.settings_dict["NAME"]))
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

    # Released once the transaction has ended, not when commit() or rollback() refuses to run
    # (called inside atomic()) or fails: atomic() then rolls back, or closes the connection.
    def commit(self):
        super().commit()
        self._release_write_lock()

    def rollback(self):
        super().rollback()
        self._release_write_lock()

    def close(self):
        try:
            return super().close()
        finally:
            self._release_write_lock()
