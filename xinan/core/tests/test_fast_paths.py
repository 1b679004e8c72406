"""The hand-tuned paths on the submission route give the same answers as the ORM."""

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from xinan.core import scope
from xinan.core.lib import crypto, fastsql
from xinan.core.models import AuditEntry, OutboxEvent
from xinan.people.models import Person
from xinan.testing import factories


def test_fastsql_insert_stores_what_save_stores(grid_worker):
    a = AuditEntry(
        actor=grid_worker,
        actor_label="gw_a",
        action="x.y",
        object_type="people.person",
        object_id="7",
        changed_fields=["name", "phone"],
        ip_address="10.0.0.1",
    )
    fastsql.insert(a)
    b = AuditEntry.objects.get(pk=a.pk)
    assert (b.actor, b.changed_fields, b.ip_address, b.at) == (
        grid_worker,
        ["name", "phone"],
        "10.0.0.1",
        a.at,
    )
    with transaction.atomic():
        e = fastsql.insert(OutboxEvent(topic="t", payload={"中文": [1, 2.5, None]}))
    assert OutboxEvent.objects.get(pk=e.pk).payload == {"中文": [1, 2.5, None]}
    assert not e._state.adding and e.created_at is not None


@pytest.mark.parametrize(
    "user_fixture", ["grid_worker", "other_grid_worker", "counsellor", "psychiatrist", "sysadmin"]
)
def test_find_person_agrees_with_the_scope_querysets(request, user_fixture, person_a, person_b):
    user = request.getfixturevalue(user_fixture)
    for person in (person_a, person_b):
        digest = crypto.lookup_hash(person.id_number)
        expected = scope.persons(user).filter(id_number_hash=digest).first()
        found = scope.find_person(user, id_number_hash=digest)
        assert (found and found.pk) == (expected and expected.pk)
    assert scope.find_person(user, id_number_hash="0" * 64) is None


def test_find_person_honours_institutions_and_break_glass(areas, person_a, person_b):
    chc = factories.institution(areas["town_b"])
    doctor = factories.staff("doctor", institution=chc, username="doc_chc")
    digest = crypto.lookup_hash(person_b.id_number)
    assert scope.find_person(doctor, id_number_hash=digest) is None
    person_b.institutions.add(chc)
    assert scope.find_person(doctor, id_number_hash=digest).pk == person_b.pk

    gw = factories.staff("grid_worker", area=areas["grid_a"], username="gw_glass")
    assert scope.find_person(gw, id_number_hash=digest) is None
    scope.grant_access(
        person_b,
        to_user=gw,
        kind="break_glass",
        reason="急诊",
        source="test",
        expires_at=timezone.now() + timezone.timedelta(hours=1),
        actor=gw,
    )
    found = scope.find_person(gw, id_number_hash=digest)
    assert found.pk == person_b.pk and found.name == "李四"
    assert isinstance(found, Person) and "notes" in found.get_deferred_fields()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the in-process writer queue is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_sqlite_writers_of_one_process_queue_instead_of_failing(settings):
    errors: list[Exception] = []

    def write(n):
        try:
            for i in range(20):
                with transaction.atomic():
                    OutboxEvent.objects.create(topic=f"w{n}", payload={"i": i})
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and OutboxEvent.objects.count() == 120


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the in-process writer queue is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_a_write_outside_a_transaction_queues_behind_an_open_one():
    """`QuerySet.update()` and a single-row save() run in autocommit mode, without atomic(): they
    too wait their turn in the queue rather than meeting the open transaction in SQLite (the
    tests' shared-cache database fails such a write at once: 'database table is locked')."""
    event = OutboxEvent.objects.create(topic="before", payload={})
    inside, release, errors = threading.Event(), threading.Event(), []

    def open_transaction():
        try:
            with transaction.atomic():
                OutboxEvent.objects.create(topic="held", payload={})
                inside.set()
                release.wait(5)
        finally:
            connection.close()

    def autocommit_write():
        try:
            OutboxEvent.objects.filter(pk=event.pk).update(topic="after")
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=open_transaction)
    holder.start()
    assert inside.wait(5)
    writer = threading.Thread(target=autocommit_write)
    writer.start()
    writer.join(0.3)
    assert writer.is_alive() and errors == []  # waiting in the queue, not failed
    release.set()
    holder.join(5)
    writer.join(5)
    assert errors == []
    assert set(OutboxEvent.objects.values_list("topic", flat=True)) == {"after", "held"}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the in-process writer queue is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_a_refused_commit_inside_atomic_keeps_the_transaction_its_place_in_the_queue():
    from django.db.transaction import TransactionManagementError

    from xinan.core.sqlite.base import write_lock

    lock = write_lock(connection.settings_dict["NAME"])
    with transaction.atomic():
        OutboxEvent.objects.create(topic="x", payload={})
        for refused in (connection.commit, connection.rollback):
            with pytest.raises(TransactionManagementError):
                refused()
            assert not lock.acquire(timeout=0.05)  # still this transaction's
    assert lock.acquire(timeout=1)  # the real commit released it
    lock.release()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the in-process writer queue is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_sqlite_write_lock_is_released_on_rollback_and_times_out_clearly():
    from xinan.core.sqlite.base import write_lock

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        OutboxEvent.objects.create(topic="x", payload={})
        1 / 0  # noqa: B018
    lock = write_lock(connection.settings_dict["NAME"])
    assert lock.acquire(timeout=1)  # released by the rollback
    try:
        connection.settings_dict["OPTIONS"]["timeout"] = 0.2
        with pytest.raises(OperationalError, match="locked"), transaction.atomic():
            pass
    finally:
        lock.release()
        connection.settings_dict["OPTIONS"]["timeout"] = 20
    with transaction.atomic():
        OutboxEvent.objects.create(topic="y", payload={})
    assert OutboxEvent.objects.filter(topic="y").exists()


@pytest.mark.django_db(transaction=True)  # closes the connection: not inside a test transaction
def test_fastsql_speaks_djangos_errors_and_placeholders(grid_worker):
    from django.db import IntegrityError

    from xinan.accounts.models import User

    row = fastsql.fetchone(
        "SELECT username FROM accounts_user WHERE username LIKE %s AND '%%' = '%%'", ["gw%"]
    )
    assert row == ("gw_a",)
    with pytest.raises(IntegrityError), transaction.atomic():
        fastsql.insert(User(username="gw_a", password="x"))  # noqa: S106 — a duplicate username
    connection.close()  # a new connection gets a new driver cursor
    assert fastsql.fetchone("SELECT COUNT(*) FROM accounts_user", [])[0] == 1


def test_fastsql_refuses_to_run_in_a_broken_transaction(grid_worker):
    from django.db import IntegrityError
    from django.db.transaction import TransactionManagementError

    from xinan.accounts.models import User

    with transaction.atomic():
        with pytest.raises(IntegrityError):
            fastsql.insert(User(username="gw_a", password="x"))  # noqa: S106
        with pytest.raises(TransactionManagementError):
            fastsql.fetchone("SELECT 1", [])
        transaction.set_rollback(True)


def _served_connection(path):
    """A driver connection opened as the server's backend opens one."""
    from xinan.core.sqlite.base import DatabaseWrapper

    wrapper = DatabaseWrapper({**connection.settings_dict, "NAME": str(path)}, alias="served")
    return wrapper.get_new_connection(wrapper.get_connection_params())


def test_a_served_sqlite_database_checkpoints_in_the_background(tmp_path):
    """With the checkpointer running, commits do no checkpoint of their own, and the WAL still
    starts over (stays small) under a steady stream of writes."""
    import sqlite3

    from xinan.core.sqlite.base import start_checkpointer, stop_checkpointer, write_lock

    path = tmp_path / "served.sqlite3"
    settings_dict = {"ENGINE": "xinan.core.sqlite", "NAME": str(path)}
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE row (id INTEGER PRIMARY KEY, body BLOB)")
    before = _served_connection(path)
    assert before.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    checkpointer = start_checkpointer(settings_dict, interval=0.05)
    try:
        assert start_checkpointer(settings_dict) is None  # one per file and process
        served = _served_connection(path)
        assert served.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        db.execute("PRAGMA wal_autocheckpoint=0")  # as the served connections are
        written = 0
        lock = write_lock(str(path))
        for i in range(3000):
            with lock:  # the in-process writer queue, as every served write takes it
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO row (body) VALUES (?)", [bytes(3000)])
                db.execute("COMMIT")
            written += 4096
            if i % 50 == 0:
                time.sleep(0.01)  # a request's other work, during which the queue is free
        time.sleep(0.2)
        assert checkpointer.checkpoints > 5
        wal = path.with_name(path.name + "-wal").stat().st_size
        assert wal < written / 3, (wal, written)
        assert db.execute("SELECT count(*) FROM row").fetchone() == (3000,)
    finally:
        stop_checkpointer(str(path))
    assert not checkpointer.is_alive()
    assert start_checkpointer({"ENGINE": "xinan.core.sqlite", "NAME": ":memory:"}) is None
    assert start_checkpointer({"ENGINE": "django.db.backends.postgresql", "NAME": "x"}) is None


def test_fastsql_insert_row_stores_what_save_stores(grid_worker):
    before = timezone.now()
    pk = fastsql.insert_row(
        AuditEntry,
        {"actor_id": grid_worker.pk, "action": "x.y", "object_id": "7", "changed_fields": ["a"]},
    )
    row = AuditEntry.objects.get(pk=pk)
    saved = AuditEntry(actor=grid_worker, action="x.y", object_id="7", changed_fields=["a"])
    saved.save()
    saved.refresh_from_db()
    for field in ("actor_id", "actor_label", "action", "object_type", "area_code", "reason"):
        assert getattr(row, field) == getattr(saved, field), field
    # Fields left out take their defaults, as the model's own constructor gives them.
    assert (row.changed_fields, row.ip_address) == (["a"], None)
    assert before <= row.at <= timezone.now()
    with transaction.atomic():
        event = OutboxEvent.objects.get(
            pk=fastsql.insert_row(OutboxEvent, {"topic": "t", "payload": {"中文": [1, None]}})
        )
    assert (event.payload, event.topic) == ({"中文": [1, None]}, "t")


def test_fastsql_insert_row_refuses_what_it_cannot_prepare(grid_worker):
    with pytest.raises(TypeError, match="no field actor"):
        fastsql.insert_row(AuditEntry, {"actor": grid_worker})  # the attname is actor_id
    with pytest.raises(TypeError, match="computes its value on save"):
        fastsql.insert_row(Person, {"name": "x"})  # its updated_at is auto_now
    assert not AuditEntry.objects.filter(action="").exists() and not Person.objects.exists()


def test_fastsql_refuses_a_model_that_has_save_receivers(db):
    """Its statements skip model signals, so a model someone listens to must go through the
    ORM instead of silently losing its receivers' work."""
    from django.db.models.signals import post_save

    from xinan.core.lib import fastsql
    from xinan.core.models import Institution

    def receiver(**kwargs):
        pass

    post_save.connect(receiver, sender=Institution)
    try:
        with pytest.raises(TypeError, match="post_save receivers"):
            fastsql.insert_row(Institution, {"name": "x", "kind": "chc", "area_id": "1"})
    finally:
        post_save.disconnect(receiver, sender=Institution)
