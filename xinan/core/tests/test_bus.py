"""The bus wakes listeners on commit, in this process (local) and across processes (PostgreSQL
LISTEN/NOTIFY, Redis pub/sub); never for a rolled-back transaction; again after a lost connection.

PostgreSQL tests run in the PostgreSQL pass (`postgres` marker), Redis tests wherever Redis is up
(`redis` marker; under CI a skip fails).
"""

import os
import subprocess
import sys
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction

from xinan.core import bus, outbox
from xinan.crisis import checks

TOPIC = "assessment.scored"
QUICK = 2.0  # generous bound for "at once" on a busy CI machine; typical is a few milliseconds


def _wait_timed(listener, timeout=QUICK) -> float | None:
    started = time.monotonic()
    return time.monotonic() - started if listener.wait(timeout) else None


def _commit_publish(topic=TOPIC):
    with transaction.atomic():
        bus.publish(topic)


def _rollback_publish(topic=TOPIC):
    with pytest.raises(RuntimeError), transaction.atomic():
        bus.publish(topic)
        raise RuntimeError("rolled back")


# -- backend choice -------------------------------------------------------------------------


def test_it_defaults_to_postgres_on_postgresql_and_local_elsewhere(settings, db):
    settings.BUS_BACKEND = ""
    expected = "postgres" if connection.vendor == "postgresql" else "local"
    assert bus.backend_name() == expected


def test_an_unknown_backend_is_refused_by_a_system_check(settings, db):
    settings.BUS_BACKEND = "kafka"
    with pytest.raises(ImproperlyConfigured, match="kafka"):
        bus.backend_name()
    assert [e.id for e in checks.check_bus(None)] == ["xinan.E301"]


def test_the_postgres_bus_needs_postgresql(settings, db):
    settings.BUS_BACKEND = "postgres"
    expected = [] if connection.vendor == "postgresql" else ["xinan.E302"]
    assert [e.id for e in checks.check_bus(None)] == expected


# -- local ----------------------------------------------------------------------------------


@pytest.fixture
def local_bus(settings):
    settings.BUS_BACKEND = "local"


@pytest.mark.django_db(transaction=True)
def test_local_wakes_a_listener_when_the_transaction_commits_not_before(local_bus):
    with bus.listen([TOPIC]) as listener:
        with transaction.atomic():
            bus.publish(TOPIC)
            assert listener.wait(0.05) is False  # the rows are not visible yet
        assert _wait_timed(listener) is not None
        assert listener.wait(0.05) is False  # one commit, one wake-up


@pytest.mark.django_db(transaction=True)
def test_local_sends_nothing_for_a_rolled_back_transaction(local_bus):
    with bus.listen([TOPIC]) as listener:
        _rollback_publish()
        assert listener.wait(0.2) is False


@pytest.mark.django_db(transaction=True)
def test_a_listener_hears_only_its_topics_and_can_be_interrupted(local_bus):
    with bus.listen([TOPIC]) as listener:
        _commit_publish("alert.raised")
        assert listener.wait(0.1) is False
        threading.Timer(0.05, listener.interrupt).start()
        assert _wait_timed(listener) is not None


@pytest.mark.django_db(transaction=True)
def test_outbox_emit_publishes_its_topic_on_commit(local_bus):
    with bus.listen([TOPIC]) as listener:
        with transaction.atomic():
            outbox.emit(TOPIC, {"assessment_id": 1})
        assert _wait_timed(listener) is not None


def test_a_closed_local_listener_is_forgotten(local_bus):
    listener = bus.listen([TOPIC])
    listener.close()
    assert listener not in bus._local_listeners


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_bus(settings, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, this run uses {connection.vendor}")
    settings.BUS_BACKEND = "postgres"
    settings.BUS_CHANNEL = f"xinan_test_{os.getpid()}"
    return connection.get_connection_params()


def _psycopg_params(params):
    keys = ("dbname", "user", "password", "host", "port")
    return {k: params[k] for k in keys if params.get(k)}


@pytest.mark.postgres
def test_postgres_wakes_a_listener_from_another_process(pg_bus, settings):
    script = (
        "import sys, json, psycopg\n"
        "with psycopg.connect(**json.loads(sys.argv[1])) as conn:\n"
        "    conn.execute('SELECT pg_notify(%s, %s)', [sys.argv[2], sys.argv[3]])\n"
    )
    import json

    with bus.listen([TOPIC]) as listener:
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", script, json.dumps(_psycopg_params(pg_bus))]
            + [settings.BUS_CHANNEL, TOPIC],
            check=True,
            timeout=30,
        )
        assert _wait_timed(listener) is not None


@pytest.mark.postgres
def test_postgres_notifies_on_commit_of_a_django_transaction_only(pg_bus):
    with bus.listen([TOPIC]) as listener:
        _rollback_publish()
        assert listener.wait(0.3) is False
        with transaction.atomic():
            bus.publish(TOPIC)
            assert listener.wait(0.1) is False  # queued by PostgreSQL until the commit
        assert _wait_timed(listener) is not None


@pytest.mark.postgres
def test_postgres_listener_reconnects_after_its_connection_is_killed(pg_bus):
    with bus.listen([TOPIC]) as listener:
        pid = listener.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The first wait notices the loss, reconnects and says "look", as it may have missed
        # something while it was away.
        assert listener.wait(5) is True
        assert listener.backend_pid not in (None, pid)
        _commit_publish()
        assert _wait_timed(listener) is not None


# -- Redis ----------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_wakes_a_listener_from_another_process(redis_bus, settings):
    script = (
        "import sys, redis\nredis.Redis.from_url(sys.argv[1]).publish(sys.argv[2], sys.argv[3])\n"
    )
    with bus.listen([TOPIC]) as listener:
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", script, redis_bus, settings.BUS_CHANNEL, TOPIC],
            check=True,
            timeout=30,
        )
        assert _wait_timed(listener) is not None


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_publishes_on_commit_and_never_for_a_rollback(redis_bus):
    with bus.listen([TOPIC]) as listener:
        _rollback_publish()
        assert listener.wait(0.3) is False
        with transaction.atomic():
            bus.publish(TOPIC)
            assert listener.wait(0.1) is False
        assert _wait_timed(listener) is not None


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_listener_hears_again_after_its_connection_is_killed(redis_bus, settings):
    import redis

    admin = redis.Redis.from_url(redis_bus)
    with bus.listen([TOPIC]) as listener:
        admin.client_kill_filter(_type="pubsub", skipme=True)
        # Publish until it is heard: the listener (or redis-py under it) reconnects by itself.
        deadline = time.monotonic() + 10
        heard = False
        while not heard and time.monotonic() < deadline:
            admin.publish(settings.BUS_CHANNEL, TOPIC)
            heard = listener.wait(0.3)
        assert heard
        assert admin.pubsub_numsub(settings.BUS_CHANNEL)[0][1] == 1  # subscribed again


def test_a_redis_publish_that_fails_is_logged_not_raised(settings, caplog):
    settings.BUS_BACKEND = "redis"
    settings.BUS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    bus._redis_publish(TOPIC)
    assert "consumers will poll" in caplog.text


def test_the_worker_command_names_its_bus(settings, monkeypatch, capsys, db):
    import threading

    from xinan.core import worker

    settings.BUS_BACKEND = "local"
    monkeypatch.setattr(worker.Worker, "start", lambda self: self)
    monkeypatch.setattr(worker.Worker, "shutdown", lambda self: None)
    monkeypatch.setattr(threading.Event, "wait", lambda self, timeout=None: True)
    call_command("crisis_worker")  # the old name of `xinan worker`
    assert "bus: local" in capsys.readouterr().out
