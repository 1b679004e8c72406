"""The one worker: each event to each consumer, lanes, parking and retry, sweeps once per slot."""

import dataclasses
import datetime as dt
from typing import ClassVar

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from xinan.core import audit, deliveries, events, outbox, schedule, worker
from xinan.core.models import AuditEntry, Delivery, SweepRun
from xinan.core.work_models import ALL_CONSUMERS

TOPIC = "test.worker.ping"
broken: set[int] = set()
calls: list[tuple[str, int]] = []  # every call, committed or not


@dataclasses.dataclass(frozen=True)
class Ping:
    TOPIC: ClassVar[str] = TOPIC
    n: int


def _note(kind: str, event: events.Event) -> None:
    # An effect in the database, as a consumer's would be: what a rolled-back attempt wrote
    # is gone, so `seen` shows what was processed, once or more.
    calls.append((kind, event.data(Ping).n))
    audit.record(f"test.worker.{kind}", actor=None, object_type="t", object_id=event.data(Ping).n)


@events.consumer(TOPIC, name="test.good")
def good(event: events.Event) -> None:
    _note("good", event)


@events.consumer(TOPIC, name="test.flaky")
def flaky(event: events.Event) -> None:
    if event.data(Ping).n in broken:
        raise ValueError(f"cannot take {event.data(Ping).n}")
    _note("flaky", event)


@events.consumer(TOPIC, name="test.critical", lane="critical")
def critical(event: events.Event) -> None:
    _note("critical", event)


class Seen:
    """What each test consumer processed (committed), in order."""

    def __getitem__(self, kind: str) -> list[int]:
        return [
            int(x)
            for x in AuditEntry.objects.filter(action=f"test.worker.{kind}")
            .order_by("pk")
            .values_list("object_id", flat=True)
        ]

    def all(self) -> dict[str, list[int]]:
        return {k: self[k] for k in ("good", "flaky", "critical")}


seen = Seen()


@pytest.fixture(autouse=True)
def _clean():
    broken.clear()
    calls.clear()


def ping(*ns: int) -> None:
    with transaction.atomic():
        for n in ns:
            outbox.emit_event(Ping(n))


def drain(lane: str, name: str = "w") -> None:
    while worker.deliver(lane, name).claimed:
        pass


def test_each_event_reaches_each_consumer_once_in_its_lane(db):
    """An event has one delivery per lane: named for the critical lane's one consumer, for all
    of them (`ALL_CONSUMERS`) on the default lane, which has two."""
    ping(1, 2, 3)
    rows = Delivery.objects.order_by("event_id", "lane").values_list("consumer", "lane")
    assert list(rows) == [("test.critical", "critical"), (ALL_CONSUMERS, "default")] * 3
    drain("default")
    assert (seen["good"], seen["flaky"], seen["critical"]) == ([1, 2, 3], [1, 2, 3], [])
    drain("critical")
    assert seen["critical"] == [1, 2, 3]
    drain("default")
    drain("critical")
    assert seen.all() == {"good": [1, 2, 3], "flaky": [1, 2, 3], "critical": [1, 2, 3]}
    assert not Delivery.objects.exists()


def test_a_failing_consumer_is_parked_with_its_error_and_blocks_nobody(db):
    broken.add(2)
    ping(1, 2, 3)
    for minute in range(0, 60, 5):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=minute), tick=False):
            drain("default")
    assert seen["good"] == [1, 2, 3] and seen["flaky"] == [1, 3]
    parked = Delivery.objects.get(lane="default")
    assert (parked.consumer, parked.state, parked.attempts) == ("test.flaky", "parked", 10)
    assert "cannot take 2" in parked.last_error


def test_a_pass_that_fails_runs_again_one_by_one_and_commits_the_good_events_once(db):
    """A pass runs its events without a savepoint each; when one raises, the transaction rolls
    back and those events run again each in its own savepoint: the good ones commit once, the
    bad one is retried with back-off and parked in the end, and nobody else waits for it."""
    broken.add(2)
    ping(1, 2, 3, 4, 5)
    result = worker.deliver("default", "w")
    assert result.fallbacks == 1 and (result.processed, result.failed) == (9, 1)
    assert seen["good"] == [1, 2, 3, 4, 5] and seen["flaky"] == [1, 3, 4, 5]
    assert calls.count(("good", 1)) == 2  # run, rolled back, run again: committed once
    left = Delivery.objects.get(lane="default")
    assert (left.consumer, left.attempts, left.leased_by) == ("test.flaky", 1, "")
    for minute in range(0, 60, 5):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=minute), tick=False):
            drain("default")
    parked = Delivery.objects.get(lane="default")
    assert (parked.state, parked.attempts) == ("parked", worker.MAX_ATTEMPTS)
    assert seen["good"] == [1, 2, 3, 4, 5] and seen["flaky"] == [1, 3, 4, 5]


def test_a_pass_runs_its_events_without_a_savepoint_each(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ping(*range(50))
    with CaptureQueriesContext(connection) as queries:
        result = worker.deliver("default", "w")
    assert result.processed == 100 and result.fallbacks == 0
    savepoints = [q for q in queries if q["sql"].upper().startswith("SAVEPOINT")]
    assert len(savepoints) < 25  # one per transaction (the test's own atomic), not per event


def test_a_pass_whose_lease_was_partly_taken_over_commits_nothing_and_frees_the_rest(db):
    ping(1, 2)
    claimed = worker.claim("default", "w1")
    assert [c.consumer for c in claimed] == [ALL_CONSUMERS] * 2  # good and flaky, each event
    Delivery.objects.filter(pk=claimed[0].id).update(leased_by="w2")  # taken over
    found = worker.load_events(c.event_id for c in claimed)
    result = worker.Result()
    items = [
        (c, found[c.event_id], consumer)
        for c in claimed
        for consumer in deliveries.lane_consumers(TOPIC, "default")
    ]
    worker.run_items(items, "default", "w1", result)
    assert (result.processed, result.lost) == (0, 4)
    assert seen["good"] == [] and seen["flaky"] == []
    holders = dict(Delivery.objects.filter(lane="default").values_list("pk", "leased_by"))
    assert holders == {claimed[0].id: "w2", **{c.id: "" for c in claimed[1:]}}
    assert sorted(c.id for c in worker.claim("default", "w3")) == [c.id for c in claimed[1:]]


def retry_in_admin(client, parked: Delivery) -> None:
    """A sysadmin finds the parked delivery in the admin and retries it."""
    from xinan.testing import factories

    admin = factories.staff("sysadmin", username="root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(reverse("admin:core_delivery_changelist") + "?state__exact=parked")
    assert parked.consumer in page.content.decode()
    client.post(
        reverse("admin:core_delivery_changelist"),
        {"action": "retry", "_selected_action": [parked.pk]},
    )


def test_a_sysadmin_sees_parked_deliveries_and_retries_them(client, db):

    broken.add(7)
    ping(7)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        for _ in range(worker.MAX_ATTEMPTS):
            Delivery.objects.update(available_at=timezone.now())
            drain("default")
    parked = Delivery.objects.get(state="parked")
    broken.clear()  # the cause is fixed
    retry_in_admin(client, parked)
    assert Delivery.objects.get(pk=parked.pk).state == "pending"
    assert AuditEntry.objects.filter(action="core.delivery.retry", object_id=str(parked.pk))
    drain("default")
    assert seen["flaky"] == [7] and not Delivery.objects.filter(lane="default").exists()


def test_the_admin_names_the_consumers_a_shared_delivery_stands_for(client, db):
    from xinan.testing import factories

    ping(4)
    admin = factories.staff("sysadmin", username="root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(reverse("admin:core_delivery_changelist")).content.decode()
    assert "所有消费者：test.good、test.flaky" in page  # the default lane's, not "*"
    assert "test.critical" in page  # its own row on the critical lane
    # The consumer filter names the shared rows too, and filters by them.
    assert "所有消费者（共享投递）" in page
    assert 'title="*"' not in page and ">*</a>" not in page
    shared = client.get(reverse("admin:core_delivery_changelist"), {"consumer": "*"})
    assert shared.status_code == 200
    assert "所有消费者：test.good、test.flaky" in shared.content.decode()
    critical_row = '<td class="field-consumers">test.critical</td>'
    assert critical_row in page and critical_row not in shared.content.decode()
    row = Delivery.objects.get(consumer=ALL_CONSUMERS)
    detail = client.get(reverse("admin:core_delivery_change", args=[row.pk])).content.decode()
    assert "所有消费者：test.good、test.flaky" in detail
    assert 'name="consumer"' not in detail  # shown, not editable


def bulk(*ns: int) -> None:
    with transaction.atomic():
        outbox.emit_many(TOPIC, [Ping(n) for n in ns])


def test_a_bulk_event_is_one_delivery_that_reaches_every_consumer_once(db):
    bulk(1, 2, 3)
    rows = list(Delivery.objects.values_list("consumer", "lane"))
    assert rows == [(outbox.ALL_CONSUMERS, "bulk")] * 3
    assert str(Delivery.objects.first()).startswith("所有消费者")
    result = worker.deliver("bulk", "w")
    assert (result.claimed, result.processed, result.failed) == (3, 9, 0)
    assert seen.all() == {"good": [1, 2, 3], "flaky": [1, 2, 3], "critical": [1, 2, 3]}
    assert not Delivery.objects.exists()


def test_a_consumer_failing_on_a_bulk_event_gets_a_delivery_of_its_own(client, db):
    """The others' work on the event commits once; the failing one is retried on its own,
    parked in the end where a sysadmin sees it, and retried from there."""

    broken.add(2)
    bulk(1, 2, 3)
    result = worker.deliver("bulk", "w")
    assert result.fallbacks == 1 and (result.processed, result.failed) == (8, 1)
    assert seen.all() == {"good": [1, 2, 3], "flaky": [1, 3], "critical": [1, 2, 3]}
    left = Delivery.objects.get()
    own = (left.consumer, left.lane, left.attempts, left.leased_by)
    assert own == ("test.flaky", "bulk", 1, "")
    assert "cannot take 2" in left.last_error
    for minute in range(0, 60, 5):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=minute), tick=False):
            drain("bulk")
    parked = Delivery.objects.get()
    assert (parked.state, parked.attempts) == ("parked", worker.MAX_ATTEMPTS)
    assert seen["good"] == [1, 2, 3] and seen["critical"] == [1, 2, 3]  # never again
    broken.clear()
    retry_in_admin(client, parked)
    drain("bulk")
    assert seen["flaky"] == [1, 3, 2] and not Delivery.objects.exists()


def test_a_bulk_event_s_consumers_commit_together_even_past_the_budget(db, monkeypatch):
    """Its one row says all of them are done or none: a transaction never ends between them,
    so a worker killed after the first consumer's commit cannot leave the others undone."""
    from django.db import connection

    from xinan.core import deliveries

    monkeypatch.setitem(worker.TRANSACTION_BUDGET, "bulk", 0)  # a commit after every delivery
    commits: list[int] = []
    real_finish = deliveries._finish

    def finish(done, name):
        commits.append(len(calls))
        real_finish(done, name)

    monkeypatch.setattr(deliveries, "_finish", finish)
    in_block = []

    def note(kind, event, real=_note):
        in_block.append(connection.in_atomic_block)
        real(kind, event)

    monkeypatch.setattr(f"{__name__}._note", note)
    bulk(1, 2)
    worker.deliver("bulk", "w")
    assert commits == [3, 6] and all(in_block)  # three consumers per commit
    assert not Delivery.objects.exists()


def test_a_live_critical_event_never_waits_behind_a_bulk_import(db):
    """3,555 imported events owe the critical consumer; a live one after them goes first."""
    with transaction.atomic():
        outbox.emit_many(TOPIC, [Ping(n) for n in range(3555)])
    ping(99999)
    result = worker.deliver("critical", "w")
    assert seen["critical"] == [99999] and result.processed == 1
    assert Delivery.objects.filter(lane="bulk", consumer=outbox.ALL_CONSUMERS).count() == 3555
    drain("bulk")
    assert sorted(seen["critical"]) == [*range(3555), 99999]
    assert len(seen["good"]) == len(seen["flaky"]) == 3555


def test_bulk_events_are_the_same_json_as_single_ones(db):
    with transaction.atomic():
        (bulk,) = outbox.emit_many(TOPIC, [Ping(5)])
        single = outbox.emit_event(Ping(5))
    found = worker.load_events([bulk, single])
    assert found[bulk].payload == found[single].payload == {"n": 5}
    # the commit time as a datetime on both databases (a consumer's lag is now − created_at)
    for event in found.values():
        assert abs(timezone.now() - event.created_at) < dt.timedelta(minutes=1)


# -- sweeps ------------------------------------------------------------------------------------

runs: list[dt.datetime] = []


@schedule.periodic("test.every_minute", every=dt.timedelta(minutes=1))
def every_minute(now: dt.datetime) -> int:
    runs.append(now)
    return 1


@pytest.fixture
def only_test_sweep(monkeypatch):
    runs.clear()
    mine = schedule.get("test.every_minute")
    monkeypatch.setattr(schedule, "sweeps", lambda: [mine])


NOON = dt.datetime(2026, 12, 1, 4, 0, 10, tzinfo=dt.UTC)


def test_a_sweep_fires_once_per_slot_across_workers(db, only_test_sweep):
    a, b = worker.Sweeper("a"), worker.Sweeper("b")
    for seconds in (0, 5, 20, 49):
        at = NOON + dt.timedelta(seconds=seconds)
        a.run_due(at)
        b.run_due(at)
    assert len(runs) == 1
    b.run_due(NOON + dt.timedelta(seconds=51))  # the next minute
    a.run_due(NOON + dt.timedelta(seconds=52))
    assert len(runs) == 2
    assert list(SweepRun.objects.values_list("leased_by", "handled")) == [("b", 1), ("a", 1)]


def test_a_worker_that_was_down_catches_up_once(db, only_test_sweep):
    worker.Sweeper("a").run_due(NOON)
    later = worker.Sweeper("a")  # restarted three hours later
    later.run_due(NOON + dt.timedelta(hours=3))
    later.run_due(NOON + dt.timedelta(hours=3, seconds=2))
    assert len(runs) == 2  # not one per missed minute


def test_a_dead_worker_s_sweep_is_taken_over_after_its_lease(db, only_test_sweep):
    slot = worker.slot_of(schedule.get("test.every_minute"), NOON)
    SweepRun.objects.create(
        name="test.every_minute", slot=slot, leased_by="dead", leased_until=NOON
    )  # started and never finished
    live = worker.Sweeper("live")
    live.run_due(NOON - dt.timedelta(seconds=5))
    assert runs == []  # its lease still held
    live.run_due(NOON + dt.timedelta(seconds=worker.lease_seconds()))
    assert len(runs) == 1
    run = SweepRun.objects.get()
    assert run.leased_by == "live" and run.finished_at is not None


def test_a_failing_sweep_is_recorded_and_the_next_slot_runs(db, monkeypatch, only_test_sweep):
    def boom(now):
        raise RuntimeError("sweep broke")

    sweep = schedule.get("test.every_minute")
    monkeypatch.setattr(schedule, "sweeps", lambda: [dataclasses.replace(sweep, func=boom)])
    worker.Sweeper("a").run_due(NOON)
    run = SweepRun.objects.get()
    assert run.finished_at is not None and "sweep broke" in run.error
