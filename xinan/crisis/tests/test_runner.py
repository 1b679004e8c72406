"""Nothing lost, nothing doubled: the consumer under crashes, races and floods."""

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

from xinan.core import bus, outbox
from xinan.core.models import OutboxEvent
from xinan.crisis import runner, services
from xinan.crisis.models import Alert, AlertEvent, AlertRule
from xinan.crisis.tests.conftest import RunningLoop, emit, item9, scored


def test_an_alert_survives_the_worker_dying_between_claim_and_delivery(person_a, crisis_a):
    event = emit(person_id=person_a.pk, critical=item9())
    # A worker claims the event and dies before committing anything.
    assert [e.pk for e in outbox.claim("dead-worker", runner.TOPIC)] == [event.pk]
    assert runner.process_pending("next").processed == 0  # fresh claim: not ours to take
    later = timezone.now() + dt.timedelta(seconds=runner.stale_seconds() + 1)
    with time_machine.travel(later, tick=False):
        result = runner.process_pending("next")
    assert (result.processed, result.alerts) == (1, 1)
    event.refresh_from_db()
    assert event.processed_at and event.claimed_by == "next"
    assert Alert.objects.get().assigned_to == crisis_a


def test_a_crash_inside_processing_leaves_no_half_alert_and_is_retried(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9())
    with mock.patch.object(outbox, "mark_processed", side_effect=RuntimeError("killed")):
        result = runner.process_pending("w1")
    assert result.failed == 1
    assert not Alert.objects.exists()  # rolled back with the event's processing
    event = OutboxEvent.objects.get(topic=runner.TOPIC)
    assert event.claimed_at is None and event.attempts == 1 and "killed" in event.last_error
    assert runner.process_pending("w2").alerts == 1
    assert Alert.objects.count() == 1


def test_processing_the_same_assessment_twice_changes_nothing(person_a, crisis_a):
    event = emit(person_id=person_a.pk, critical=item9())
    with transaction.atomic():
        services.process_assessment_event(event)
        services.process_assessment_event(event)
    alert = Alert.objects.get()
    assert alert.repeats == 0 and alert.events.count() == 1


def test_two_workers_never_both_claim_one_event(db):
    events = [emit(critical=item9()) for _ in range(50)]
    first = outbox.claim("w1", runner.TOPIC, limit=30)
    second = outbox.claim("w2", runner.TOPIC, limit=100)
    assert len(first) + len(second) == 50
    assert not {e.pk for e in first} & {e.pk for e in second}
    stale = timezone.now() + dt.timedelta(seconds=runner.stale_seconds() + 5)
    with time_machine.travel(stale, tick=False):
        a = runner.reclaim_stale("w3")
        b = runner.reclaim_stale("w4")
    assert len(a) == 50 and b == []
    assert {e.pk for e in a} == {e.pk for e in events}


def test_a_worker_that_read_the_same_candidates_wins_none_of_them(db):
    """Interleaved for real: w2 reads the candidates, then w1 claims them all before w2's
    conditional UPDATEs run; every one of w2's updates must then match nothing."""
    events = [emit(critical=item9()) for _ in range(5)]
    real_filter = OutboxEvent.objects.filter
    won_by_w1: list = []

    def racing_filter(*args, **kwargs):
        if "claimed_at__isnull" in kwargs and "pk" in kwargs and not won_by_w1:
            won_by_w1.append(None)  # once, and not again inside w1's own claim
            won_by_w1.extend(outbox.claim("w1", runner.TOPIC))
        return real_filter(*args, **kwargs)

    with mock.patch.object(OutboxEvent.objects, "filter", side_effect=racing_filter):
        second = outbox.claim("w2", runner.TOPIC)
    assert second == []
    assert sorted(e.pk for e in won_by_w1[1:]) == [e.pk for e in events]
    assert set(OutboxEvent.objects.values_list("claimed_by", flat=True)) == {"w1"}


@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_once_share_the_events_without_overlap():
    """The consumer's own batch claim, from four threads at once until nothing is left."""
    pks = {emit(critical=item9()).pk for _ in range(200)}
    won: dict[str, list[int]] = {}
    errors: list[Exception] = []
    start = threading.Barrier(4)

    def work(name):
        try:
            start.wait()
            mine = won.setdefault(name, [])
            while batch := runner.claim(name, limit=7):
                mine.extend(e.pk for e in batch)
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
    assert runner.claim("w5") == []


def test_the_consumer_s_batch_claim_is_conditional_too(db):
    events = [emit(critical=item9()) for _ in range(30)]
    pks = [e.pk for e in events]
    first = runner.claim("w1", limit=20)
    second = runner.claim("w2", limit=100)
    assert len(first) == 20 and len(second) == 10
    assert not {e.pk for e in first} & {e.pk for e in second}
    assert runner.claim("w3") == []
    assert set(OutboxEvent.objects.filter(pk__in=pks).values_list("claimed_by", flat=True)) == {
        "w1",
        "w2",
    }


def test_an_edited_rule_applies_from_the_next_pass(person_a, person_b, crisis_a):
    """Passes reuse the rule objects they built, but only while the rows are unchanged."""
    emit(person_id=person_a.pk, band="severe", total=22)
    assert runner.process_pending("w").alerts == 1
    assert runner.active_rules() is runner.active_rules()  # nothing changed: nothing rebuilt
    AlertRule.objects.filter(key="phq9-severe").update(level="red")
    assert next(r for r in runner.active_rules() if r.key == "phq9-severe").level == "red"
    AlertRule.objects.filter(key="phq9-severe").update(active=False)
    emit(person_id=person_b.pk, band="severe", total=22)
    assert runner.process_pending("w").alerts == 0
    assert Alert.objects.count() == 1 and not OutboxEvent.objects.pending(runner.TOPIC).exists()


def test_a_stale_reclaim_is_a_conditional_update(db):
    event = emit(critical=item9())
    outbox.claim("w1", runner.TOPIC)
    later = timezone.now() + dt.timedelta(seconds=runner.stale_seconds() + 5)
    with time_machine.travel(later, tick=False):
        # w4 read the candidate list, then w3 won the row; w4's UPDATE must match nothing.
        cutoff = later - dt.timedelta(seconds=runner.stale_seconds())
        assert runner.reclaim_stale("w3")[0].pk == event.pk
        assert (
            OutboxEvent.objects.filter(pk=event.pk, claimed_at__lt=cutoff).update(claimed_by="w4")
            == 0
        )


def test_a_flood_of_2000_submissions_produces_exactly_the_alerts_the_rules_say(
    areas, crisis_a, crisis_b, crisis_district
):
    rng = random.Random(20261123)
    places = [areas["grid_a"].code, areas["village_b"].code, areas["grid_a2"].code, ""]
    expected = {"red": 0, "orange": 0, "yellow": 0}
    rows = []
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
        rows.append(OutboxEvent(topic=runner.TOPIC, payload=payload))
    OutboxEvent.objects.bulk_create(rows)
    # Two workers share the flood; the first pass of w1 dies on every seventh event.
    real_mark = outbox.mark_processed

    def flaky(event):
        if event.pk % 7 == 0:
            raise RuntimeError("killed")
        real_mark(event)

    with mock.patch.object(outbox, "mark_processed", side_effect=flaky):
        crashed = runner.process_pending("w1", limit=700).failed
    assert crashed > 0
    while OutboxEvent.objects.pending(runner.TOPIC).exists():
        runner.process_pending("w1", limit=300)
        runner.process_pending("w2", limit=200)
    got = {lvl: Alert.objects.filter(level=lvl).count() for lvl in expected}
    assert got == expected
    assert AlertEvent.objects.filter(kind="raised").count() == sum(expected.values())
    assert not Alert.objects.filter(assigned_to__isnull=True).exists()


def test_the_worker_command_runs_one_pass(person_a, crisis_a, capsys):
    emit(person_id=person_a.pk, critical=item9())
    call_command("crisis_worker", "--once")
    assert "processed=1 alerts=1" in capsys.readouterr().out
    assert Alert.objects.count() == 1


def test_the_background_runner_starts_only_when_asked(monkeypatch):
    monkeypatch.delenv("XINAN_CRISIS_BACKGROUND", raising=False)
    assert runner.start_background() is None


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
        if event.pk == poison.pk:
            raise ValueError("bad payload")
        return real(event, active_rules)

    with mock.patch.object(services, "process_assessment_event", side_effect=broken):
        for _ in range(12):
            runner.process_pending("w")
        emit(critical=item9(), area_code="310105001001")
        runner.process_pending("w")
    poison.refresh_from_db()
    assert poison.attempts == runner.MAX_ATTEMPTS and poison.processed_at is None
    assert poison.claimed_at is not None and "bad payload" in poison.last_error
    later = timezone.now() + dt.timedelta(seconds=runner.stale_seconds() + 1)
    with time_machine.travel(later, tick=False):
        assert runner.reclaim_stale("w2") == []
    assert Alert.objects.count() == 1  # the healthy event after it


@pytest.mark.django_db(transaction=True)
def test_the_background_loop_turns_a_committed_event_into_an_alert(settings, person_a, crisis_a):
    settings.BUS_BACKEND = "local"
    with RunningLoop() as loop:
        emit(person_id=person_a.pk, critical=item9())
        took = loop.wait_for_alerts()
    assert took < 1.0  # woken by the commit, not by the 60 s poll
    assert Alert.objects.get().assigned_to == crisis_a
    assert all(r is not None for r in loop.results)  # no pass failed (no "table is locked")


@pytest.mark.django_db(transaction=True)
def test_the_loop_still_polls_when_no_notification_comes(settings, person_a, crisis_a):
    settings.BUS_BACKEND = "local"
    with RunningLoop(interval=0.2) as loop:
        # bulk_create bypasses outbox.emit, as a lost notification would.
        OutboxEvent.objects.bulk_create(
            [
                OutboxEvent(
                    topic=runner.TOPIC, payload=scored(person_id=person_a.pk, critical=item9())
                )
            ]
        )
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
        took = loop.wait_for_alerts()
    assert took < 1.0
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
        took = loop.wait_for_alerts()
    assert took < 1.0
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
        OutboxEvent.objects.bulk_create(
            [
                OutboxEvent(
                    topic=runner.TOPIC, payload=scored(person_id=person_a.pk, critical=item9())
                )
            ]
        )
        redis.Redis.from_url(redis_bus).publish(settings.BUS_CHANNEL, runner.TOPIC)
        assert loop.wait_for_alerts() < 1.0
    assert Alert.objects.count() == 1


def test_the_served_platform_starts_the_consumer_once_when_asked(monkeypatch):
    started = []
    monkeypatch.setenv("XINAN_CRISIS_BACKGROUND", "1")
    monkeypatch.setattr(runner, "_started", False)
    monkeypatch.setattr(runner, "loop", lambda stop, interval: started.append(interval))
    thread = runner.start_background()
    assert thread is not None and thread.daemon and thread.name == "crisis-worker"
    thread.join(5)
    assert started == [runner.poll_interval()]
    assert runner.start_background() is None  # a second import of the WSGI module: no twin


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
    assert runner.run_once("w").alerts == 1
    alert = Alert.objects.get()
    assert alert.area_code == areas["village_b"].code and alert.assigned_to == crisis_b
    assert alert.subject_key.startswith("assessment:") and alert.level == "red"


_DIE_MID_TRANSACTION = """
import os, signal, django
django.setup()
from xinan.crisis import runner, services
real = services.process_assessment_event
def die(event, active_rules=None):
    real(event, active_rules)  # the alert's rows are written, not yet committed
    os.kill(os.getpid(), signal.SIGKILL)
services.process_assessment_event = die
runner.process_pending("doomed")
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
    event.refresh_from_db()
    assert event.claimed_by == "doomed" and event.processed_at is None
    assert not Alert.objects.exists()  # the half-written alert died with its transaction
    assert runner.process_pending("next").processed == 0  # a fresh claim is not ours
    later = timezone.now() + dt.timedelta(seconds=runner.stale_seconds() + 1)
    with time_machine.travel(later, tick=False):
        assert runner.process_pending("next").alerts == 1
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
        rows.append(OutboxEvent(topic=runner.TOPIC, payload=payload))
    OutboxEvent.objects.bulk_create(rows)
    start = threading.Barrier(2)
    results = {"w1": [], "w2": []}

    def work(name):
        try:
            start.wait()
            while OutboxEvent.objects.pending(runner.TOPIC).exists():
                results[name].append(runner.process_pending(name, limit=25))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    processed = {n: sum(r.processed for r in rs) for n, rs in results.items()}
    assert sum(processed.values()) == 400, processed  # each event once, by one worker
    assert all(r.failed == 0 for rs in results.values() for r in rs)
    assert Alert.objects.count() == expected
    assert AlertEvent.objects.filter(kind="raised").count() == expected
    assert not OutboxEvent.objects.filter(topic=runner.TOPIC, processed_at__isnull=True).exists()
