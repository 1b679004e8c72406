"""Writers in separate processes take turns at SQLite's write lock (xinan/core/sqlite/turns.py):
one that writes back to back cannot starve another's live write."""

import multiprocessing
import sqlite3
import time

import pytest

from xinan.core.sqlite import turns


def _hog(path: str, stop_at: float) -> None:
    """Write transactions back to back, each holding the lock for 20 ms, like a bulk lane."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    while time.time() < stop_at:
        turns.take(path, timeout=30)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (who) VALUES ('hog')")
            time.sleep(0.02)
            db.execute("COMMIT")
        finally:
            turns.give(path)


@pytest.fixture
def database(tmp_path):
    path = str(tmp_path / "turns.sqlite3")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
    db.close()
    return path


def test_a_live_writer_gets_its_turn_beside_a_back_to_back_writer(database):
    hog = multiprocessing.get_context("spawn").Process(
        target=_hog, args=(database, time.time() + 8)
    )
    hog.start()
    try:
        db = sqlite3.connect(database, timeout=30, isolation_level=None)
        deadline = time.time() + 30
        while not db.execute("SELECT count(*) FROM t").fetchone()[0]:
            assert time.time() < deadline, "the writing process never started"
            time.sleep(0.05)
        for _ in range(20):
            # A turn within 2 s each time, while the other process writes without pause;
            # without turns it takes the lock again between its own commits and this waits on.
            turns.take(database, timeout=2)
            try:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO t (who) VALUES ('live')")
                db.execute("COMMIT")
            finally:
                turns.give(database)
        assert hog.is_alive(), "the other writer stopped early: nothing was shown"
        live = db.execute("SELECT count(*) FROM t WHERE who = 'live'").fetchone()[0]
        assert live == 20
    finally:
        hog.join(15)


def test_the_lock_times_out_with_sqlites_own_words(database):
    ctx = multiprocessing.get_context("spawn")
    holding, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(database, holding, release))
    other.start()
    try:
        assert holding.wait(30)
        from django.db import OperationalError

        with pytest.raises(OperationalError, match="database is locked"):
            turns.take(database, timeout=0.2)
    finally:
        release.set()
        other.join(15)
    turns.take(database, timeout=5)  # free again once the holder let go
    turns.give(database)


def _hold(path, holding, release) -> None:
    turns.take(path, timeout=5)
    holding.set()
    release.wait(30)
    turns.give(path)


def test_only_database_files_take_turns():
    assert turns.applies("/var/lib/xinan/xinan.sqlite3")
    assert not turns.applies(":memory:")
    assert not turns.applies("file:memorydb_default?mode=memory&cache=shared")
