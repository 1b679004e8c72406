"""The delivery lanes' pass: claim deliveries, hand each consumer its events, commit.

A pass claims a batch of one lane's deliveries (one conditional UPDATE), loads their events (one
SELECT) and runs them in delivery order (event by event, each event's consumers together), in
transactions of at most the lane's budget. Each transaction runs its events **without** a
savepoint each and ends by deleting their delivery rows, after re-checking that the lease is
still this worker's (`_finish`); that is the whole cost of a delivery in the common case. When a
consumer raises, the transaction rolls back, and the events up to and including the failing one
run again one by one, each in a savepoint of its own (`_run_one_by_one`): the good ones commit,
the failing one is retried with back-off and parked after MAX_ATTEMPTS; the rest go on in fast
transactions again. So one bad consumer or event never holds up another, a savepoint is paid
only where something failed, and the effects of an event commit exactly once with the deletion
of its delivery row.

A delivery for all consumers (`ALL_CONSUMERS`) stands for several consumers of its event's
topic: on the bulk lane (one row per imported event) every consumer of the topic, on another
lane the topic's consumers of that lane (`outbox.emit` writes one such row per lane that has
more than one). The pass runs them all in the same transaction and deletes the one row. When
some of them fail, the row is replaced by a delivery of its own on the same lane for each
consumer that failed (retried and parked like any other), in the transaction that commits the
others' work.
"""

import datetime as dt
import json
import logging
import time
import traceback
from dataclasses import dataclass, field

from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy

from xinan.core import audit, bus, events, priority
from xinan.core.leases import Leases, db_time, lease_seconds, no_leases, worker_name
from xinan.core.lib import fastsql
from xinan.core.models import Delivery, OutboxEvent
from xinan.core.work_models import ALL_CONSUMERS

log = logging.getLogger(__name__)

audit.register_action("core.delivery.retry", gettext_lazy("重新投递搁置的事件"))

DELIVERY_LANES = ("critical", "default", "bulk")
MAX_ATTEMPTS = 10  # a delivery failing this often is parked
# Deliveries claimed per pass. The critical lane's batches stay small: what it claims it holds,
# and a killed worker's claims wait out their lease. The others take more per pass, as each
# pass costs a claim, an event load and a commit whatever its size.
# A bulk delivery is an event for all its consumers, so a bulk batch is four times the work
# of as many single ones (four consumers of assessment.scored today).
BATCH = {"critical": 200, "default": 1000, "bulk": 250}
# Longest a delivery transaction stays open before it commits and the next one begins: on
# SQLite a transaction holds the one write lock, which live submissions wait for.
TRANSACTION_BUDGET = {"critical": 0.1, "default": 0.1, "bulk": 0.05}


def batch_size(lane: str) -> int:
    return BATCH.get(lane, BATCH["default"])


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try of a failed delivery: 0.5 s, 1 s, 2 s … at most a minute."""
    return dt.timedelta(seconds=min(60.0, 0.5 * 2 ** max(0, attempts - 1)))


@dataclass
class Claimed:
    id: int
    event_id: int
    consumer: str
    attempts: int


@dataclass
class Result:
    claimed: int = 0
    processed: int = 0
    failed: int = 0
    parked: int = 0
    lost: int = 0  # leases another worker took over before we committed
    fallbacks: int = 0  # fast transactions that failed and were run again one by one
    by_consumer: dict[str, int] = field(default_factory=dict)


# -- claiming ----------------------------------------------------------------------------------


def _free(alias: str = "") -> str:
    qn = connection.ops.quote_name
    p = f"{alias}." if alias else ""
    return (
        f"{p}{qn('state')} = 'pending' AND ({p}{qn('leased_until')} IS NULL "
        f"OR {p}{qn('leased_until')} < %s)"
    )


def _claim_sql(vendor: str) -> str:
    qn = connection.ops.quote_name
    table = qn(Delivery._meta.db_table)
    pick = (
        f"SELECT {qn('id')} FROM {table} WHERE {qn('lane')} = %s "  # noqa: S608
        f"AND {qn('available_at')} <= %s AND {_free()} ORDER BY {qn('id')} LIMIT %s"
    )

    def returning(p: str = "") -> str:
        return ", ".join(f"{p}{qn(c)}" for c in ("id", "event_id", "consumer", "attempts"))

    # Names from the model's meta; every value is a parameter. The outer WHERE re-checks that
    # each row is still free: of two workers that read the same candidates, one changes a row.
    if vendor == "postgresql":
        # The pick runs once, materialized (an IN (… LIMIT n) may be re-run by the plan and
        # take more than n), and is joined by primary key: an `id = ANY(ARRAY(pick))` was
        # planned as a scan of the pending index testing each row against the whole array,
        # half a second for a batch of 1,000. SKIP LOCKED lets a second worker pick other rows
        # instead of waiting.
        return (
            f"WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) "  # noqa: S608
            f"UPDATE {table} d SET {qn('leased_by')} = %s, {qn('leased_until')} = %s "
            f"FROM picked WHERE d.{qn('id')} = picked.{qn('id')} AND {_free('d')} "
            f"RETURNING {returning('d.')}"
        )
    return (
        f"UPDATE {table} SET {qn('leased_by')} = %s, {qn('leased_until')} = %s "  # noqa: S608
        f"WHERE {qn('id')} IN ({pick}) AND {_free()} "
        f"RETURNING {returning()}"
    )


def _any_free_sql() -> str:
    qn = connection.ops.quote_name
    return (
        f"SELECT 1 FROM {qn(Delivery._meta.db_table)} WHERE {qn('lane')} = %s "  # noqa: S608
        f"AND {qn('available_at')} <= %s AND {_free()} LIMIT 1"
    )


def claim(lane: str, worker: str, limit: int | None = None, now: dt.datetime | None = None):
    """Lease up to `limit` (the lane's batch) free deliveries of `lane`, oldest first."""
    now_db = db_time(now or timezone.now())
    # A read first: an idle poll must not take SQLite's write lock ten times a second. (Only
    # an optimisation: where the read itself cannot run, as on the tests' shared-cache SQLite
    # while another connection writes, the claim below decides.)
    try:
        if fastsql.fetchone(_any_free_sql(), [lane, now_db, now_db]) is None:
            return []
    except OperationalError:
        if connection.vendor == "postgresql" or connection.in_atomic_block:
            raise
    until = db_time((now or timezone.now()) + dt.timedelta(seconds=lease_seconds(lane)))
    limit = limit or batch_size(lane)
    if connection.vendor == "postgresql":
        params = [lane, now_db, now_db, limit, worker, until, now_db]
    else:
        params = [worker, until, lane, now_db, now_db, limit, now_db]
    with transaction.atomic():
        rows = fastsql.fetchall(_claim_sql(connection.vendor), params)
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _payload(value) -> dict:
    # SQLite hands the JSON column over as text; PostgreSQL's driver has decoded it.
    return json.loads(value) if isinstance(value, str | bytes) else (value or {})


def _when(value) -> dt.datetime | None:
    # SQLite hands the timestamp over naive or as text (UTC, as Django wrote it); PostgreSQL's
    # driver as an aware datetime.
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value


def load_events(ids) -> dict[int, events.Event]:
    qn = connection.ops.quote_name
    ids = sorted(set(ids))
    marks = ", ".join(["%s"] * len(ids))
    rows = fastsql.fetchall(
        f"SELECT {qn('id')}, {qn('topic')}, {qn('payload')}, {qn('created_at')} "  # noqa: S608
        f"FROM {qn(OutboxEvent._meta.db_table)} WHERE {qn('id')} IN ({marks})",
        ids,
    )
    return {
        pk: events.Event(id=pk, topic=topic, payload=_payload(payload), created_at=_when(created))
        for pk, topic, payload, created in rows
    }


# -- finishing ---------------------------------------------------------------------------------


class LeaseLost(Exception):
    """Another worker took these deliveries over: this transaction must not commit. (Raised
    again with the index of the first item it rolled back, for the count.)"""


def _finish(done: list[int], worker: str) -> None:
    if not done:
        return
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(done))
    cursor = fastsql.execute(
        f"DELETE FROM {qn(Delivery._meta.db_table)} "  # noqa: S608
        f"WHERE {qn('leased_by')} = %s AND {qn('id')} IN ({marks})",
        [worker, *done],
    )
    if cursor.rowcount != len(done):
        raise LeaseLost


def _fail(claimed: Claimed, error: str, worker: str, result: Result) -> None:
    attempts = claimed.attempts + 1
    parked = attempts >= MAX_ATTEMPTS
    Delivery.objects.filter(pk=claimed.id, leased_by=worker).update(
        attempts=attempts,
        state="parked" if parked else "pending",
        available_at=timezone.now() + backoff(attempts),
        leased_by="",
        leased_until=None,
        last_error=error[-4000:],
    )
    result.failed += 1
    if parked:
        result.parked += 1
        log.error(
            "worker: %s parked delivery %s after %s attempts",
            claimed.consumer,
            claimed.id,
            attempts,
        )


def _split(
    claimed: Claimed, consumer: events.Consumer, lane: str, error: str, result: Result
) -> None:
    """One consumer of a delivery for all consumers failed: it gets a delivery of its own on
    the same lane, retried with back-off like any other (the shared row itself is deleted with
    the others' work)."""
    attempts = claimed.attempts + 1
    Delivery.objects.create(
        event_id=claimed.event_id,
        consumer=consumer.name,
        lane=lane,
        attempts=attempts,
        available_at=timezone.now() + backoff(attempts),
        last_error=error[-4000:],
    )
    result.failed += 1


def _unclaim(claimed: list[Claimed], worker: str) -> None:
    """Give back what this pass will not process, so another worker need not wait out the
    lease (only rows still ours)."""
    if claimed:
        Delivery.objects.filter(pk__in={c.id for c in claimed}, leased_by=worker).update(
            leased_by="", leased_until=None
        )


def _count(result: Result, items) -> None:
    result.processed += len(items)
    for _c, _e, consumer in items:
        result.by_consumer[consumer.name] = result.by_consumer.get(consumer.name, 0) + 1


# -- running -----------------------------------------------------------------------------------

Item = tuple[Claimed, events.Event, events.Consumer]


def _rows(items: list[Item]) -> list[int]:
    """The delivery rows of these items, once each (a bulk delivery is several items)."""
    return list(dict.fromkeys(c.id for c, _e, _f in items))


def _same_delivery(items: list[Item], j: int) -> bool:
    """Whether items[j] is another consumer of items[j - 1]'s bulk delivery: its one row says
    all of them are done or none, so a transaction never ends between them."""
    return 0 < j < len(items) and items[j][0] is items[j - 1][0]


def _delivery_end(items: list[Item], j: int) -> int:
    """The index after the last item of the delivery that items[j] belongs to."""
    j = min(j + 1, len(items))
    while _same_delivery(items, j):
        j += 1
    return j


def run_items(items: list[Item], lane: str, worker: str, result: Result) -> None:
    """Hand each (claimed, event, consumer) to its consumer, in order, in transactions of at
    most the lane's budget; see the module's docstring for what happens when one raises."""
    budget = TRANSACTION_BUDGET.get(lane, 0.1)
    yields = lane == "bulk"  # bulk work lets this process's live lanes run first
    i = 0
    while i < len(items):
        j = i  # the next item to run; on an exception, the one that raised
        if yields:
            priority.step_aside()
        try:
            with transaction.atomic():
                deadline = time.monotonic() + budget
                while j < len(items) and (
                    j == i
                    or _same_delivery(items, j)
                    or (time.monotonic() < deadline and not (yields and priority.busy()))
                ):
                    _claimed, event, consumer = items[j]
                    consumer.func(event)
                    j += 1
                _finish(_rows(items[i:j]), worker)
        except LeaseLost:
            _lost(items[i:], worker, result)
            return
        except Exception:  # noqa: BLE001 — rolled back; found out below, one by one
            result.fallbacks += 1
            try:
                j = _run_one_by_one(items, i, _delivery_end(items, j), lane, worker, result)
            except LeaseLost as lost:
                _lost(items[lost.args[0] :], worker, result)
                return
        else:
            _count(result, items[i:j])
        i = j


def _run_one_by_one(items: list[Item], i: int, end: int, lane: str, worker: str, result):
    """Run items[i:end] each in a savepoint of its own (so a failure rolls back only itself),
    in transactions of at most the lane's budget; return `end`."""
    budget = TRANSACTION_BUDGET.get(lane, 0.1)
    while i < end:
        start, deadline = i, time.monotonic() + budget
        done, failed = [], []
        try:
            with transaction.atomic():
                while i < end and (
                    time.monotonic() < deadline or not (done or failed) or _same_delivery(items, i)
                ):
                    claimed, event, consumer = items[i]
                    i += 1
                    try:
                        with transaction.atomic():
                            consumer.func(event)
                    except Exception:  # noqa: BLE001 — one bad event must not stop the others
                        log.exception("worker: %s failed on event %s", consumer.name, event.id)
                        failed.append((items[i - 1], traceback.format_exc()))
                    else:
                        done.append(items[i - 1])
                # A bulk row is done once each of its consumers either succeeded or has a
                # delivery of its own; a consumer's own row that failed stays, retried later.
                retried = {c.id for (c, _e, _f), _err in failed if c.consumer != ALL_CONSUMERS}
                _finish([pk for pk in _rows(items[start:i]) if pk not in retried], worker)
                for (claimed, _event, consumer), error in failed:
                    if claimed.consumer == ALL_CONSUMERS:
                        _split(claimed, consumer, lane, error, result)
                    else:
                        _fail(claimed, error, worker, result)
        except LeaseLost:
            raise LeaseLost(start) from None
        _count(result, done)
    return end


def _lost(rest: list[Item], worker: str, result: Result) -> None:
    log.warning("worker: lost the lease on %s deliveries; another worker has them", len(rest))
    result.lost += len(rest)
    _unclaim([c for c, _e, _f in rest], worker)


def _run_consumer(consumer: events.Consumer, items, lane: str, worker: str, result: Result):
    """`run_items` for one consumer's [(claimed, event)]."""
    run_items([(c, e, consumer) for c, e in items], lane, worker, result)


def deliver(
    lane: str, worker: str | None = None, limit: int | None = None, *, leases: Leases | None = None
) -> Result:
    """One pass of a delivery lane: claim, hand each consumer its events, commit."""
    worker = worker or worker_name()
    leases = leases or no_leases
    result = Result()
    claimed = claim(lane, worker, limit)
    result.claimed = len(claimed)
    if not claimed:
        return result
    table = Delivery._meta.db_table
    leases.hold(table, lane, [c.id for c in claimed], lease_seconds(lane))
    try:
        found = load_events(c.event_id for c in claimed)
        items, unknown, nobody = [], [], []
        for c in claimed:
            # Events go only with their deliveries (ON DELETE CASCADE), so each is found.
            event = found[c.event_id]
            if c.consumer == ALL_CONSUMERS:
                owed = lane_consumers(event.topic, lane)
                items.extend((c, event, consumer) for consumer in owed)
                if not owed:
                    nobody.append(c.id)
                continue
            consumer = _registered(c.consumer)
            if consumer is None:
                unknown.append(c)
            else:
                items.append((c, event, consumer))
        if unknown or nobody:
            # Written by a newer release (or for a consumer since removed): retried with
            # back-off, parked in the end, where a sysadmin sees why. A bulk event whose topic
            # has no consumer left owes nothing.
            with transaction.atomic():
                for c in unknown:
                    _fail(
                        c, f"consumer {c.consumer!r} is not registered in {worker}", worker, result
                    )
                Delivery.objects.filter(pk__in=nobody, leased_by=worker).delete()
        run_items(items, lane, worker, result)
    finally:
        leases.release(table, lane)
    return result


def retry_parked(deliveries, *, actor) -> int:
    """Give parked deliveries (a queryset) another round of attempts, now; audited."""
    with transaction.atomic():
        ids = list(deliveries.filter(state="parked").values_list("pk", flat=True))
        n = Delivery.objects.filter(pk__in=ids, state="parked").update(
            state="pending",
            attempts=0,
            available_at=timezone.now(),
            leased_by="",
            leased_until=None,
        )
        for pk in ids:
            audit.record(
                "core.delivery.retry", actor=actor, object_type="core.delivery", object_id=pk
            )
        for lane in set(Delivery.objects.filter(pk__in=ids).values_list("lane", flat=True)):
            bus.publish("bulk" if lane == "bulk" else _lane_wakeup(lane))
    return n


def _lane_wakeup(lane: str) -> str:
    topics = lane_topics(lane)
    return topics[0] if topics else lane


_by_name: dict[str, events.Consumer] = {}


def _registered(name: str) -> events.Consumer | None:
    found = _by_name.get(name)
    if found is None:
        for c in events.all_consumers():
            _by_name[c.name] = c
        found = _by_name.get(name)
    return found


def lane_topics(lane: str) -> list[str]:
    if lane == "bulk":
        return ["bulk"]
    return sorted({c.topic for c in events.all_consumers() if c.lane == lane})


def consumer_lane(c: events.Consumer) -> str:
    return "critical" if c.lane == "critical" else "default"


def lane_consumers(topic: str, lane: str) -> list[events.Consumer]:
    """Whom a delivery for all consumers (`ALL_CONSUMERS`) on `lane` stands for: on the bulk
    lane every consumer of the topic, on another lane the topic's consumers of that lane."""
    owed = events.consumers_for(topic)
    return owed if lane == "bulk" else [c for c in owed if consumer_lane(c) == lane]
