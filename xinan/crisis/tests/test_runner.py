"""Nothing lost, nothing doubled: the consumer under crashes, races and floods."""

import datetime as dt
import random
import threading
import time
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from xinan.core import outbox
from xinan.core.models import OutboxEvent
from xinan.crisis import runner, services
from xinan.crisis.models import Alert, AlertEvent
from xinan.crisis.tests.conftest import emit, item9, scored


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
    # Interleaved: w2 looked at the same candidates before w1 won them.
    with mock.patch.object(OutboxEvent.objects, "pending", wraps=OutboxEvent.objects.pending):
        pass
    stale = timezone.now() + dt.timedelta(seconds=runner.stale_seconds() + 5)
    with time_machine.travel(stale, tick=False):
        a = runner.reclaim_stale("w3")
        b = runner.reclaim_stale("w4")
    assert len(a) == 50 and b == []
    assert {e.pk for e in a} == {e.pk for e in events}


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


def test_a_committed_assessment_event_wakes_the_in_process_worker(
    db, django_capture_on_commit_callbacks
):
    runner.wake.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            outbox.emit(runner.TOPIC, scored())
        assert not runner.wake.is_set()  # not before the commit: the row must be visible
    assert runner.wake.is_set()


def test_a_poison_event_is_parked_after_ten_attempts_and_others_still_flow(person_a, crisis_a):
    poison = emit(person_id=person_a.pk, critical=item9())
    real = services.process_assessment_event

    def broken(event):
        if event.pk == poison.pk:
            raise ValueError("bad payload")
        return real(event)

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
def test_the_background_loop_turns_a_committed_event_into_an_alert(person_a, crisis_a):
    stop = threading.Event()
    thread = threading.Thread(target=runner.loop, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        emit(person_id=person_a.pk, critical=item9())
        deadline = time.monotonic() + 5
        while not Alert.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        runner.wake.set()
        thread.join(5)
    assert Alert.objects.get().assigned_to == crisis_a
