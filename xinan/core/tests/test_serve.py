"""`xinan serve` hands granian the threads that suit the database."""

import pytest
from django.core.management import call_command
from django.db import connection

from xinan.core.management.commands import serve


class Started(Exception):
    pass


@pytest.fixture
def granian_argv(monkeypatch):
    """What `xinan serve` would exec (granian is not started)."""
    seen: list[str] = []

    def execv(path, argv):
        seen.extend(argv)
        raise Started

    monkeypatch.setattr(serve.os, "execv", execv)
    # serve sets its defaults in the environment before it execs: keep them out of this process
    monkeypatch.setattr(serve.os, "environ", dict(serve.os.environ))
    monkeypatch.delenv("XINAN_THREADS", raising=False)
    return seen


def threads_in(argv: list[str]) -> int:
    return int(argv[argv.index("--blocking-threads") + 1])


def test_the_server_overlaps_database_waits_on_postgresql_and_not_on_sqlite(granian_argv):
    with pytest.raises(Started):
        call_command("serve", "--port", "8999")
    assert threads_in(granian_argv) == (8 if connection.vendor == "postgresql" else 4)


def test_xinan_threads_overrides_the_default(granian_argv, monkeypatch):
    monkeypatch.setenv("XINAN_THREADS", "6")
    with pytest.raises(Started):
        call_command("serve", "--port", "8999")
    assert threads_in(granian_argv) == 6
