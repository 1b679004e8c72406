"""Nothing lost, nothing doubled: the crisis consumer on the worker under crashes, races and
floods."""

import datetime as dt
import os
import random
import subprocess
import sys
import threading
import time
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from xinan.core import bus, outbox, worker
from xinan.core.models import Delivery, OutboxEvent
from xinan.crisis import runner, services
from xinan.crisis.models import Alert, AlertEvent, AlertRule
from xinan.crisis.tests.conftest import RunningLoop, emit, item9, scored


def after_lease(seconds=1):
    return time_machine.travel(
        timezone.now() + dt.timedelta(seconds=worker.lease_seconds() + seconds), tick=False
    )


def pending():
    return Delivery.objects.filter(consumer=runner.CONSUMER, state="pending")


def test_an_alert_survives_the_worker_dying_between_claim_and_delivery(person_a, crisis_a):
    event = emit(person_id=person_a.pk, critical=item9())
    # A worker claims the delivery and dies before committing anything.
    assert [c.event_id for c in worker.claim("critical", "dead-worker")] == [event.pk]
    assert worker.deliver("critical", "next").processed == 0  # its lease holds: not ours
    with after_lease():
        result = worker.deliver("critical", "next")
    assert result.processed == 1
    assert not pending().exists()
    assert Alert.objects.get().assigned_to == crisis_a


def test_a_crash_inside_processing_leaves_no_half_alert_and_is_retried(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9())
    real = services.process_assessment_event

    def crash(event, active_rules=None):
        real(event, active_rules)  # the alert's rows are written, then the process fails
        raise RuntimeError("killed")

    with mock.patch.object(services, "process_assessment_event", side_effect=crash):
        result = worker.deliver("critical", "w1")
    assert result.failed == 1
    assert not Alert.objects.exists()  # rolled back with the event's processing
    delivery = pending().get()
    assert delivery.leased_by == "" and delivery.attempts == 1 and "killed" in delivery.last_error
    assert worker.deliver("critical", "w2").processed == 0  # backing off
    with time_machine.travel(timezone.now() + worker.backoff(1), tick=False):
        assert worker.deliver("critical", "w2").processed == 1
    assert Alert.objects.count() == 1


def test_processing_the_same_assessment_twice_changes_nothing(person_a, crisis_a):
    event = emit(person_id=person_a.pk, critical=item9())
    with transaction.atomic():
        services.process_assessment_event(event)
        services.process_assessment_event(event)
    alert = Alert.objects.get()
    assert alert.repeats == 0 and alert.events.count() == 1


def test_two_workers_never_both_claim_one_delivery(db):
    events = [emit(critical=item9()) for _ in range(50)]
    first = worker.claim("critical", "w1", limit=30)
    second = worker.claim("critical", "w2", limit=100)
    assert (len(first), len(second)) == (30, 20)
    assert not {c.id for c in first} & {c.id for c in second}
    assert worker.claim("critical", "w3") == []
    with after_lease():
        taken = worker.claim("critical", "w3")
        again = worker.claim("critical", "w4")
    assert {c.event_id for c in taken} == {e.pk for e in events} and again == []


def test_a_worker_whose_lease_was_taken_over_commits_nothing(person_a, crisis_a):
    """w1 is slow: its lease runs out, w2 takes the delivery over and processes it; w1's own
    transaction then finds the delivery no longer its and rolls its alert back."""
    emit(person_id=person_a.pk, critical=item9())
    claimed = worker.claim("critical", "w1")
    with after_lease():
        assert worker.deliver("critical", "w2").processed == 1
    result = worker.Result()
    consumer = worker._registered(runner.CONSUMER)
    events = worker.load_events([claimed[0].event_id])
    worker._run_consumer(
        consumer, [(claimed[0], events[claimed[0].event_id])], "critical", "w1", result
    )
    assert (result.processed, result.lost) == (0, 1)
    assert AlertEvent.objects.filter(kind="raised").count() == 1


# PostgreSQL only: the tests' SQLite database is in memory with a shared cache, whose table
# locks fail a writer at once while another thread reads (SQLITE_LOCKED, no busy wait); the
# file database in WAL mode that deployments use has no such locks. On SQLite, writers of one
# process queue on the backend's lock (xinan/core/sqlite), tested in xinan/core/tests.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_once_share_the_deliveries_without_overlap():
    """The worker's own claim, from four threads at once until nothing is left."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (see the comment above)")
    pks = {emit(critical=item9()).pk for _ in range(200)}
    won: dict[str, list[int]] = {}
    errors: list[Exception] = []
    start = threading.Barrier(4)

    def work(name):
        try:
            start.wait()
            mine = won.setdefault(name, [])
            while batch := worker.claim("critical", name, limit=7):
                mine.extend(c.event_id for c in batch)
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    claimed = [pk for batch in won.values() for pk in batch]
    assert len(claimed) == len(set(claimed)) == 200 and set(claimed) == pks
    assert worker.claim("critical", "w5") == []


def test_an_edited_rule_applies_from_the_next_event(person_a, person_b, crisis_a):
    """Rule objects are reused, but only while the rows are unchanged."""
    emit(person_id=person_a.pk, band="severe", total=22)
    worker.deliver("critical", "w")
    assert Alert.objects.count() == 1
    assert runner.active_rules() is runner.active_rules()  # nothing changed: nothing rebuilt
    AlertRule.objects.filter(key="phq9-severe").update(level="red")
    assert next(r for r in runner.active_rules() if r.key == "phq9-severe").level == "red"
    AlertRule.objects.filter(key="phq9-severe").update(active=False)
    emit(person_id=person_b.pk, band="severe", total=22)
    worker.deliver("critical", "w")
    assert Alert.objects.count() == 1 and not pending().exists()


def test_a_flood_of_2000_imported_events_produces_exactly_the_alerts_the_rules_say(
    areas, crisis_a, crisis_b, crisis_district
):
    rng = random.Random(20261123)
    places = [areas["grid_a"].code, areas["village_b"].code, areas["grid_a2"].code, ""]
    expected = {"red": 0, "orange": 0, "yellow": 0}
    payloads = []
    for i in range(2000):
        kind = rng.random()
        payload = scored(assessment_id=100000 + i, area_code=rng.choice(places), anonymous=True)
        if kind < 0.05:
            payload.update(critical=item9(rng.randint(1, 3)), band="moderate", total=12)
            expected["red"] += 1
        elif kind < 0.12:
            payload.update(band="severe", total=22)
            expected["orange"] += 1
        elif kind < 0.16:
            payload.update(instrument="gad7", total=14, previous_total=8, band="moderate")
            expected["yellow"] += 1
        payloads.append(payload)
    with transaction.atomic():
        outbox.emit_many(runner.TOPIC, payloads)
    # one bulk delivery per event, for all the topic's consumers
    assert Delivery.objects.filter(lane="bulk", consumer=outbox.ALL_CONSUMERS).count() == 2000
    assert not pending().exists()
    # Two workers share the flood; the first pass of w1 fails on every seventh event.
    real = services.process_assessment_event

    def flaky(event, active_rules=None):
        if event.id % 7 == 0:
            raise RuntimeError("killed")
        return real(event, active_rules)

    with mock.patch.object(services, "process_assessment_event", side_effect=flaky):
        crashed = worker.deliver("bulk", "w1", limit=700).failed
    assert crashed > 0
    # each event crisis failed on is now owed to crisis alone; the other consumers' work on
    # it is committed
    assert pending().filter(lane="bulk", attempts=1).count() == crashed
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5), tick=False):
        while Delivery.objects.filter(lane="bulk", state="pending").exists():
            worker.deliver("bulk", "w1", limit=300)
            worker.deliver("bulk", "w2", limit=200)
    got = {lvl: Alert.objects.filter(level=lvl).count() for lvl in expected}
    assert got == expected
    assert AlertEvent.objects.filter(kind="raised").count() == sum(expected.values())
    assert not Alert.objects.filter(assigned_to__isnull=True).exists()


def test_the_worker_command_runs_one_pass(person_a, crisis_a, capsys):
    emit(person_id=person_a.pk, critical=item9())
    call_command("crisis_worker", "--once")
    assert "alerts=1 failed=0" in capsys.readouterr().out
    assert Alert.objects.count() == 1


def test_the_background_worker_starts_only_when_asked(monkeypatch):
    monkeypatch.delenv("XINAN_WORKER_BACKGROUND", raising=False)
    monkeypatch.delenv("XINAN_CRISIS_BACKGROUND", raising=False)
    assert worker.start_background() is None


@pytest.mark.django_db(transaction=True)
def test_a_committed_assessment_event_wakes_the_consumer_s_listener(settings):
    settings.BUS_BACKEND = "local"
    with bus.listen([runner.TOPIC]) as listener:
        with transaction.atomic():
            outbox.emit(runner.TOPIC, scored())
            assert not listener.wait(0.05)  # not before the commit: the row must be visible
        assert listener.wait(1)


def test_a_poison_event_is_parked_after_ten_attempts_and_others_still_flow(person_a, crisis_a):
    poison = emit(person_id=person_a.pk, critical=item9())
    real = services.process_assessment_event

    def broken(event, active_rules=None):
        if event.id == poison.pk:
            raise ValueError("bad payload")
        return real(event, active_rules)

    with mock.patch.object(services, "process_assessment_event", side_effect=broken):
        for minute in range(1, 13):
            with time_machine.travel(timezone.now() + dt.timedelta(minutes=minute), tick=False):
                worker.deliver("critical", "w")
        emit(critical=item9(), area_code="310105001001")
        worker.deliver("critical", "w")
    parked = Delivery.objects.get(event=poison, consumer=runner.CONSUMER)
    assert (parked.state, parked.attempts) == ("parked", worker.MAX_ATTEMPTS)
    assert "bad payload" in parked.last_error
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        taken = worker.claim("critical", "w2")
        assert [c for c in taken if c.consumer == runner.CONSUMER] == []  # parked: nobody takes it
    assert Alert.objects.count() == 1  # the healthy event after it


@pytest.mark.django_db(transaction=True)
def test_the_background_loop_turns_a_committed_event_into_an_alert(settings, person_a, crisis_a):
    settings.BUS_BACKEND = "local"
    with RunningLoop() as loop:
        emit(person_id=person_a.pk, critical=item9())
        # The loop polls every 60 s: an alert within wait_for_alerts' 5 s was woken by the
        # commit. How fast is a figure of `make bench` (crisis latency), not of this test.
        loop.wait_for_alerts()
    assert Alert.objects.get().assigned_to == crisis_a
    assert all(r is not None for r in loop.results)  # no pass failed (no "table is locked")


@pytest.mark.django_db(transaction=True)
def test_the_loop_still_polls_when_no_notification_comes(settings, person_a, crisis_a):
    settings.BUS_BACKEND = "local"
    with RunningLoop(interval=0.2) as loop:
        # Rows written without outbox.emit, as a lost notification would leave them.
        event = OutboxEvent.objects.create(
            topic=runner.TOPIC, payload=scored(person_id=person_a.pk, critical=item9())
        )
        Delivery.objects.create(event=event, consumer=runner.CONSUMER, lane="critical")
        loop.wait_for_alerts()
    assert Alert.objects.count() == 1


_EMIT_SCRIPT = """
import django, sys
django.setup()
from django.db import connection, transaction
from xinan.core import bus, outbox
with transaction.atomic():
    outbox.emit("assessment.scored", {
        "assessment_id": 777001, "person_id": None, "instrument": "phq9", "version": "1",
        "total": 12, "band": "moderate", "positive": True,
        "critical": [{"item": 9, "level": "red", "answer": 3}],
        "area_code": sys.argv[1], "anonymous": True, "previous_total": None,
        "mode": "self", "submitted_at": "",
    })
"""


def _emit_from_another_process(area_code: str, **env) -> float:
    """Run a separate Python that saves an assessment event; returns when it has committed."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", _EMIT_SCRIPT, area_code],
        env={**os.environ, "DATABASE_URL": url, "XINAN_CRISIS_BACKGROUND": "0", **env},
        check=True,
        timeout=60,
    )
    return time.monotonic()


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, this run uses {connection.vendor}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_loop_picks_up_an_event_committed_by_another_process_via_postgres(
    settings, areas, crisis_a
):
    _postgres_only()
    settings.BUS_BACKEND = "postgres"
    settings.BUS_CHANNEL = f"xinan_test_{os.getpid()}"
    with RunningLoop() as loop:
        _emit_from_another_process(
            areas["grid_a"].code, XINAN_BUS="postgres", XINAN_BUS_CHANNEL=settings.BUS_CHANNEL
        )
        loop.wait_for_alerts()  # within 5 s while the loop polls every 60 s: woken by the bus
    assert Alert.objects.get().assigned_to == crisis_a


# Marked postgres only: it needs both, the SQLite pass may skip it, and in the PostgreSQL pass
# (where a skip fails) a missing Redis fails it too.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_loop_picks_up_an_event_committed_by_another_process_via_redis(
    redis_bus, settings, areas, crisis_a
):
    _postgres_only()
    with RunningLoop() as loop:
        _emit_from_another_process(
            areas["grid_a"].code,
            XINAN_BUS="redis",
            XINAN_REDIS_URL=redis_bus,
            XINAN_BUS_CHANNEL=settings.BUS_CHANNEL,
        )
        loop.wait_for_alerts()  # within 5 s while the loop polls every 60 s: woken by the bus
    assert Alert.objects.get().assigned_to == crisis_a


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_redis_notification_from_another_client_wakes_the_loop(
    redis_bus, settings, person_a, crisis_a
):
    import redis

    with RunningLoop() as loop:
        # The row is there without a notification (as if its writer died right after the
        # commit); a notification from another client wakes the loop long before its poll.
        event = OutboxEvent.objects.create(
            topic=runner.TOPIC, payload=scored(person_id=person_a.pk, critical=item9())
        )
        Delivery.objects.create(event=event, consumer=runner.CONSUMER, lane="critical")
        redis.Redis.from_url(redis_bus).publish(settings.BUS_CHANNEL, runner.TOPIC)
        assert loop.wait_for_alerts() < 1.0
    assert Alert.objects.count() == 1


def test_the_served_platform_starts_the_worker_once_when_asked(monkeypatch):
    started = []

    class Fake:
        def __init__(self, *args, **kwargs):
            self.lanes = kwargs.get("lanes", worker.LANES)

        def start(self):
            started.append(self.lanes)
            return self

    monkeypatch.setenv("XINAN_WORKER_BACKGROUND", "1")
    monkeypatch.setattr(worker, "_started", False)
    monkeypatch.setattr(worker, "Worker", Fake)
    assert isinstance(worker.start_background(), Fake)
    assert started == [worker.LANES]  # every lane: consumers, sweeps and jobs
    assert worker.start_background() is None  # a second import of the WSGI module: no twin


def test_an_anonymous_assessment_in_a_campaign_routes_to_the_campaign_s_area(
    areas, crisis_a, crisis_b, grid_worker
):
    from xinan.screening.models import Campaign
    from xinan.screening.services import submit_assessment

    today = timezone.localdate()
    campaign = Campaign.objects.create(
        name="淞虹社区筛查",
        area=areas["village_b"],
        instruments=["PHQ-9"],
        starts_on=today,
        ends_on=today,
        created_by=grid_worker,
    )
    submit_assessment(
        instrument_code="PHQ-9",
        answers=[1, 1, 1, 1, 1, 1, 1, 1, 2],
        mode="self",
        actor=None,
        campaign=campaign,
    )
    runner.run_once("w")
    alert = Alert.objects.get()
    assert alert.area_code == areas["village_b"].code and alert.assigned_to == crisis_b
    assert alert.subject_key.startswith("assessment:") and alert.level == "red"


_DIE_MID_TRANSACTION = """
import os, signal, django
django.setup()
from xinan.core import worker
from xinan.crisis import services
real = services.process_assessment_event
def die(event, active_rules=None):
    real(event, active_rules)  # the alert's rows are written, not yet committed
    os.kill(os.getpid(), signal.SIGKILL)
services.process_assessment_event = die
worker.deliver("critical", "doomed")
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_alert_survives_the_delivering_process_being_killed_mid_transaction(person_a, crisis_a):
    _postgres_only()
    event = emit(person_id=person_a.pk, critical=item9())
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    killed = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _DIE_MID_TRANSACTION],
        env={**os.environ, "DATABASE_URL": url, "XINAN_CRISIS_BACKGROUND": "0"},
        timeout=60,
    )
    assert killed.returncode == -9
    assert pending().get(event=event).leased_by == "doomed"
    assert not Alert.objects.exists()  # the half-written alert died with its transaction
    assert worker.deliver("critical", "next").processed == 0  # its lease holds: not ours
    with after_lease():
        assert worker.deliver("critical", "next").processed == 1
    assert Alert.objects.get().assigned_to == crisis_a
    assert AlertEvent.objects.filter(kind="raised").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_workers_process_every_event_exactly_once(areas, crisis_a):
    _postgres_only()
    rng = random.Random(7)
    rows, expected = [], 0
    for i in range(400):
        payload = scored(assessment_id=500000 + i, area_code=areas["grid_a"].code, anonymous=True)
        if rng.random() < 0.2:
            payload.update(critical=item9(), total=12, band="moderate")
            expected += 1
        rows.append(payload)
    with transaction.atomic():
        for payload in rows:
            outbox.emit(runner.TOPIC, payload)
    start = threading.Barrier(2)
    results = {"w1": [], "w2": []}

    def work(name):
        try:
            start.wait()
            while pending().exists():
                results[name].append(worker.deliver("critical", name, limit=25))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    processed = {
        n: sum(r.by_consumer.get(runner.CONSUMER, 0) for r in rs) for n, rs in results.items()
    }
    assert sum(processed.values()) == 400, processed  # each event once, by one worker
    assert all(r.failed == 0 for rs in results.values() for r in rs)
    assert Alert.objects.count() == expected
    assert AlertEvent.objects.filter(kind="raised").count() == expected
    assert not pending().exists()
