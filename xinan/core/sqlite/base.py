"""SQLite with one in-process queue for write transactions.

SQLite allows one writer. When several threads of one server process begin IMMEDIATE
transactions at once, the losers wait in SQLite's busy handler, which sleeps in growing steps
(up to 100 ms) instead of waking when the lock is free; under load that sleep, not the work, is
what a request waits for. Threads of this process therefore queue on a Python lock before
BEGIN and are woken the moment the previous writer commits. Other processes (a separate
worker, a management command) still meet SQLite's own busy timeout as before.
"""

import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def write_lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _write_lock(self) -> threading.Lock:
        return write_lock(self.settings_dict["NAME"])

    def _lock_timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def _start_transaction_under_autocommit(self):
        lock = self._write_lock()
        if not lock.acquire(timeout=self._lock_timeout()):
            # What SQLite itself says when its busy timeout runs out.
            raise OperationalError("database is locked")
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_lock()
