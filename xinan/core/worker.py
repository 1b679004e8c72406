"""The one worker: every registered consumer, every periodic sweep, every queued job.

    xinan worker                 # production: one or more of these beside the app processes
    xinan serve                  # the embedded default runs the same loops in-process

Each lane is a thread of its own with its own database connection, so live and critical work
never waits behind bulk work or sweeps:

- `critical`: deliveries to consumers registered with lane="critical" (crisis alerts);
- `default`: deliveries to the other consumers;
- `bulk`: deliveries of events written by `outbox.emit_many` (imports), for every consumer;
- `sweeps`: the periodic sweeps (xinan/core/schedule.py), each once per slot across workers;
- `jobs`: durable jobs (xinan/core/jobs.py, behind `django.tasks`).

A lane claims work with one conditional UPDATE (… WHERE the row is still free … RETURNING), so
two workers never take the same row, and holds what it claimed under a lease that a heartbeat
thread renews every second. A worker killed mid-item stops renewing; once its lease runs out
(WORKER_LEASE_SECONDS, 5 s) any live worker takes the item over. A consumer's effects and the
deletion of its delivery row commit in one transaction (after re-checking the lease), so an
event is processed effectively once even when a lease was lost on the way.

Each lane sleeps on the bus (xinan/core/bus.py) and also polls every WORKER_POLL_SECONDS, so a
lost notification delays work but never loses it.
"""

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import (
    IntegrityError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy

from xinan.core import audit, bus, events, schedule
from xinan.core.lib import fastsql
from xinan.core.models import Delivery, OutboxEvent, SweepRun

log = logging.getLogger(__name__)

audit.register_action("core.delivery.retry", gettext_lazy("重新投递搁置的事件"))

LANES = ("critical", "default", "bulk", "sweeps", "jobs")
DELIVERY_LANES = ("critical", "default", "bulk")
JOBS_TOPIC = "jobs"
MAX_ATTEMPTS = 10  # a delivery failing this often is parked
BATCH = 200  # deliveries claimed per pass
COALESCE_SECONDS = 0.02  # after a wake-up, let the rest of a burst commit
# Longest a delivery transaction stays open before it commits and the next one begins: on
# SQLite a transaction holds the one write lock, which live submissions wait for.
TRANSACTION_BUDGET = {"critical": 0.1, "default": 0.1, "bulk": 0.05}


def lease_seconds() -> float:
    return float(getattr(settings, "WORKER_LEASE_SECONDS", 5))


def poll_seconds(lane: str) -> float:
    if lane == "critical":
        return float(getattr(settings, "CRISIS_POLL_SECONDS", 0.1))
    return float(getattr(settings, "WORKER_POLL_SECONDS", 0.5))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _db(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try of a failed delivery: 0.5 s, 1 s, 2 s … at most a minute."""
    return dt.timedelta(seconds=min(60.0, 0.5 * 2 ** max(0, attempts - 1)))


# -- leases held by this process, renewed by the heartbeat -------------------------------------


class Leases:
    """Ids this worker holds, per table, renewed every second until released."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict[str, dict[str, set]] = {}  # table -> holder -> ids

    def hold(self, table: str, holder: str, ids) -> None:
        with self._lock:
            self._held.setdefault(table, {})[holder] = set(ids)

    def release(self, table: str, holder: str) -> None:
        with self._lock:
            self._held.get(table, {}).pop(holder, None)

    def snapshot(self) -> dict[str, set]:
        with self._lock:
            return {t: set().union(*h.values()) for t, h in self._held.items() if h}

    def renew(self, worker: str) -> None:
        until = _db(timezone.now() + dt.timedelta(seconds=lease_seconds()))
        qn = connection.ops.quote_name
        for table, ids in self.snapshot().items():
            if not ids:
                continue
            marks = ", ".join(["%s"] * len(ids))
            with transaction.atomic():
                fastsql.execute(
                    f"UPDATE {qn(table)} SET {qn('leased_until')} = %s "  # noqa: S608
                    f"WHERE {qn('leased_by')} = %s AND {qn('id')} IN ({marks})",
                    [until, worker, *ids],
                )


_no_leases = Leases()  # for passes run outside a Worker (tests, --once)


# -- deliveries --------------------------------------------------------------------------------


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
    by_consumer: dict[str, int] = field(default_factory=dict)


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
    if vendor == "postgresql":
        # ARRAY(…) runs the pick once (an IN (… LIMIT n) may be re-run by the plan and take
        # more than n); SKIP LOCKED lets a second worker pick other rows instead of waiting.
        where = f"{qn('id')} = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"
    else:
        where = f"{qn('id')} IN ({pick})"
    # Names from the model's meta; every value is a parameter. The outer WHERE re-checks that
    # each row is still free: of two workers that read the same candidates, one changes a row.
    return (
        f"UPDATE {table} SET {qn('leased_by')} = %s, {qn('leased_until')} = %s "  # noqa: S608
        f"WHERE {where} AND {_free()} "
        f"RETURNING {qn('id')}, {qn('event_id')}, {qn('consumer')}, {qn('attempts')}"
    )


def _any_free_sql() -> str:
    qn = connection.ops.quote_name
    return (
        f"SELECT 1 FROM {qn(Delivery._meta.db_table)} WHERE {qn('lane')} = %s "  # noqa: S608
        f"AND {qn('available_at')} <= %s AND {_free()} LIMIT 1"
    )


def claim(lane: str, worker: str, limit: int = BATCH, now: dt.datetime | None = None):
    """Lease up to `limit` free deliveries of `lane`, oldest first."""
    now_db = _db(now or timezone.now())
    # A read first: an idle poll must not take SQLite's write lock ten times a second. (Only
    # an optimisation: where the read itself cannot run, as on the tests' shared-cache SQLite
    # while another connection writes, the claim below decides.)
    try:
        if fastsql.fetchone(_any_free_sql(), [lane, now_db, now_db]) is None:
            return []
    except OperationalError:
        if connection.vendor == "postgresql" or connection.in_atomic_block:
            raise
    until = _db((now or timezone.now()) + dt.timedelta(seconds=lease_seconds()))
    with transaction.atomic():
        rows = fastsql.fetchall(
            _claim_sql(connection.vendor), [worker, until, lane, now_db, now_db, limit, now_db]
        )
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _payload(value) -> dict:
    # SQLite hands the JSON column over as text; PostgreSQL's driver has decoded it.
    return json.loads(value) if isinstance(value, str | bytes) else (value or {})


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
        pk: events.Event(id=pk, topic=topic, payload=_payload(payload), created_at=created)
        for pk, topic, payload, created in rows
    }


class LeaseLost(Exception):
    """Another worker took these deliveries over: this transaction must not commit."""


def _finish(done: list[int], worker: str) -> None:
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


def _run_consumer(consumer: events.Consumer, items, lane: str, worker: str, result: Result):
    """Hand `items` [(claimed, event)] to one consumer, in transactions of at most the lane's
    budget; each event in a savepoint of its own, so one failure rolls back only itself."""
    budget = TRANSACTION_BUDGET.get(lane, 0.1)
    i = 0
    while i < len(items):
        deadline = time.monotonic() + budget
        done, failed = [], []
        try:
            with transaction.atomic():
                while i < len(items) and (time.monotonic() < deadline or not (done or failed)):
                    claimed, event = items[i]
                    i += 1
                    try:
                        with transaction.atomic():
                            consumer.func(event)
                    except Exception:  # noqa: BLE001 — one bad event must not stop the others
                        log.exception("worker: %s failed on event %s", consumer.name, event.id)
                        failed.append((claimed, traceback.format_exc()))
                    else:
                        done.append(claimed.id)
                if done:
                    _finish(done, worker)
                for claimed, error in failed:
                    _fail(claimed, error, worker, result)
        except LeaseLost:
            log.warning(
                "worker: lost the lease on %s's deliveries; another worker has them", consumer.name
            )
            result.lost += len(items) - i + len(done) + len(failed)
            return
        result.processed += len(done)
        result.by_consumer[consumer.name] = result.by_consumer.get(consumer.name, 0) + len(done)


def deliver(
    lane: str, worker: str | None = None, limit: int = BATCH, *, leases: Leases | None = None
) -> Result:
    """One pass of a delivery lane: claim, hand each consumer its events, commit."""
    worker = worker or worker_name()
    leases = leases or _no_leases
    result = Result()
    claimed = claim(lane, worker, limit)
    result.claimed = len(claimed)
    if not claimed:
        return result
    table = Delivery._meta.db_table
    leases.hold(table, lane, [c.id for c in claimed])
    try:
        found = load_events(c.event_id for c in claimed)
        by_consumer: dict[str, list] = {}
        for c in claimed:
            by_consumer.setdefault(c.consumer, []).append(c)
        for name, group in by_consumer.items():
            consumer = _registered(name)
            if consumer is None:
                # Written by a newer release (or for a consumer since removed): retried with
                # back-off, parked in the end, where a sysadmin sees why.
                with transaction.atomic():
                    for c in group:
                        _fail(c, f"consumer {name!r} is not registered in {worker}", worker, result)
                continue
            # Events go only with their deliveries (ON DELETE CASCADE), so each one is found.
            _run_consumer(consumer, [(c, found[c.event_id]) for c in group], lane, worker, result)
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


# -- sweeps ------------------------------------------------------------------------------------


def slot_of(sweep: schedule.Sweep, now: dt.datetime) -> dt.datetime:
    """The start of the slot `now` falls in (slots counted from the epoch, so every worker
    agrees)."""
    every = sweep.every.total_seconds()
    start = now.timestamp() - now.timestamp() % every
    return dt.datetime.fromtimestamp(start, tz=dt.UTC)


class Sweeper:
    """Fires each registered sweep once per slot across every worker.

    A worker takes a slot by inserting its SweepRun (unique on name and slot); the others'
    inserts fail. A run whose worker died (unfinished, lease out) is taken over by a
    conditional UPDATE. A worker that was down fires only the current slot: a sweep handles
    whatever is overdue by now, so the slots it missed need no runs of their own."""

    def __init__(self, worker: str, leases: Leases | None = None):
        self.worker = worker
        self.leases = leases or _no_leases
        self.settled: dict[str, dt.datetime] = {}  # name -> latest slot known finished or ours

    def run_due(self, now: dt.datetime | None = None) -> dict[str, int | None]:
        """Run every sweep whose current slot nobody has run; returns {name: handled}."""
        ran = {}
        for sweep in schedule.sweeps():
            now_ = now or timezone.now()
            slot = slot_of(sweep, now_)
            if self.settled.get(sweep.name) == slot:
                continue
            run = self._take(sweep, slot, now_)
            if run is None:
                continue
            ran[sweep.name] = self._run(sweep, run, now_)
            self.settled[sweep.name] = slot
        return ran

    def _take(self, sweep, slot, now) -> SweepRun | None:
        until = now + dt.timedelta(seconds=lease_seconds())
        try:
            with transaction.atomic():
                return SweepRun.objects.create(
                    name=sweep.name,
                    slot=slot,
                    leased_by=self.worker,
                    leased_until=until,
                    started_at=now,
                )
        except IntegrityError:
            pass
        taken = SweepRun.objects.filter(
            name=sweep.name, slot=slot, finished_at__isnull=True, leased_until__lt=now
        ).update(leased_by=self.worker, leased_until=until, started_at=now)
        if taken:
            log.warning("worker: took over sweep %s of %s from a dead worker", sweep.name, slot)
            return SweepRun.objects.get(name=sweep.name, slot=slot)
        if SweepRun.objects.filter(name=sweep.name, slot=slot, finished_at__isnull=False).exists():
            self.settled[sweep.name] = slot
        return None

    def _run(self, sweep, run: SweepRun, now) -> int | None:
        table = SweepRun._meta.db_table
        self.leases.hold(table, f"sweep:{sweep.name}", [run.pk])
        handled, error = None, ""
        try:
            handled = sweep.func(now)
        except Exception:  # noqa: BLE001 — recorded on the run; the next slot tries again
            log.exception("worker: sweep %s failed", sweep.name)
            error = traceback.format_exc()[-4000:]
        finally:
            self.leases.release(table, f"sweep:{sweep.name}")
        SweepRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(), handled=handled, error=error, leased_until=None
        )
        return handled


def prune_sweep_runs(keep: dt.timedelta = dt.timedelta(days=2)) -> int:
    """Finished runs older than `keep` go (the slot key only matters for current slots)."""
    cutoff = timezone.now() - keep
    return SweepRun.objects.filter(finished_at__lt=cutoff).delete()[0]


# -- the loop ----------------------------------------------------------------------------------


class Worker:
    """The lanes as threads of this process, plus the heartbeat that renews their leases."""

    def __init__(
        self,
        lanes=LANES,
        *,
        name: str | None = None,
        on_pass: Callable[[str, object], None] | None = None,
    ):
        self.name = name or worker_name()
        self.lanes = tuple(lanes)
        self.stop = threading.Event()
        self.leases = Leases()
        self.on_pass = on_pass
        self.ready = {lane: threading.Event() for lane in self.lanes}
        self.threads: list[threading.Thread] = []
        self._listeners: set = set()

    def start(self) -> "Worker":
        for lane in self.lanes:
            target = {"sweeps": self._sweep_loop, "jobs": self._job_loop}.get(lane, self._lane_loop)
            args = (lane,) if target == self._lane_loop else ()
            t = threading.Thread(target=target, args=args, name=f"worker-{lane}", daemon=True)
            t.start()
            self.threads.append(t)
        hb = threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True)
        hb.start()
        self.threads.append(hb)
        return self

    def wait_ready(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        return all(e.wait(max(0, deadline - time.monotonic())) for e in self.ready.values())

    def shutdown(self, timeout: float = 10) -> None:
        self.stop.set()
        for listener in list(self._listeners):
            listener.interrupt()
        for t in self.threads:
            t.join(timeout)

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stop.wait(1):
                pass
        finally:
            self.shutdown()

    def _passed(self, lane: str, result) -> None:
        if self.on_pass is not None:
            self.on_pass(lane, result)
        self.ready[lane].set()

    def _listen(self, topics):
        listener = bus.listen(topics)
        self._listeners.add(listener)
        return listener

    def _guarded(self, lane: str, step: Callable[[], object]):
        try:
            return step()
        except Exception:  # noqa: BLE001 — the loop must outlive a database hiccup
            log.exception("worker: %s pass failed", lane)
            close_old_connections()
            return None

    def _lane_loop(self, lane: str) -> None:
        listener = self._listen(lane_topics(lane) or ["—"])
        try:
            while not self.stop.is_set():
                result = self._guarded(lane, lambda: deliver(lane, self.name, leases=self.leases))
                self._passed(lane, result)
                if self.stop.is_set():
                    break
                if result is not None and result.claimed >= BATCH:
                    continue  # a backlog: the next batch now
                if listener.wait(poll_seconds(lane)) and not self.stop.is_set():
                    time.sleep(COALESCE_SECONDS)
        finally:
            self._listeners.discard(listener)
            listener.close()
            connection.close()

    def _sweep_loop(self) -> None:
        sweeper = Sweeper(self.name, self.leases)
        try:
            while not self.stop.is_set():
                result = self._guarded("sweeps", sweeper.run_due)
                self._passed("sweeps", result)
                self.stop.wait(float(getattr(settings, "WORKER_SWEEP_TICK_SECONDS", 0.25)))
        finally:
            connection.close()

    def _job_loop(self) -> None:
        from xinan.core import jobs

        listener = self._listen([JOBS_TOPIC])
        try:
            while not self.stop.is_set():
                ran = self._guarded("jobs", lambda: jobs.run_next(self.name, leases=self.leases))
                self._passed("jobs", ran)
                if ran:
                    continue
                listener.wait(float(getattr(settings, "WORKER_POLL_SECONDS", 0.5)))
        finally:
            self._listeners.discard(listener)
            listener.close()
            connection.close()

    def _heartbeat(self) -> None:
        try:
            while not self.stop.wait(float(getattr(settings, "WORKER_HEARTBEAT_SECONDS", 1))):
                self._guarded("heartbeat", lambda: self.leases.renew(self.name))
        finally:
            connection.close()


def run_once(worker: str | None = None, now: dt.datetime | None = None) -> dict:
    """Everything due now, in this thread, until no lane has work left: for tests and
    `xinan worker --once`. Returns counts per lane."""
    from xinan.core import jobs

    worker = worker or worker_name()
    counts = {"processed": 0, "failed": 0, "sweeps": {}, "jobs": 0}
    for lane in DELIVERY_LANES:
        while True:
            result = deliver(lane, worker)
            counts["processed"] += result.processed
            counts["failed"] += result.failed
            if result.claimed < BATCH:
                break
    counts["sweeps"] = Sweeper(worker).run_due(now)
    while jobs.run_next(worker):
        counts["jobs"] += 1
    return counts


_started = False
_start_lock = threading.Lock()


def start_background() -> Worker | None:
    """Start the worker in this process (once) when `XINAN_WORKER_BACKGROUND` says so:
    `xinan serve` sets it, so the embedded default needs no second process; production with
    separate `xinan worker` processes sets it to 0. (XINAN_CRISIS_BACKGROUND, its old name,
    still counts.)"""
    global _started
    flag = os.environ.get("XINAN_WORKER_BACKGROUND") or os.environ.get("XINAN_CRISIS_BACKGROUND")
    if (flag or "0") not in {"1", "true", "yes", "on"}:
        return None
    with _start_lock:
        if _started:
            return None
        _started = True
    return Worker().start()
