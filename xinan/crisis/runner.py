"""The crisis consumer and scheduler: outbox rows in, alerts and escalations out.

`run_once()` is the whole job: claim `assessment.scored` events (fresh ones, and ones whose
claim went stale because a worker died), apply the rules to each in one transaction that also
marks the event processed, then escalate overdue alerts. Run it in a loop from
`xinan crisis_worker`, or inside the served platform with `start_background()`. The loop sleeps
on the bus (`xinan.core.bus`: in-process, PostgreSQL LISTEN/NOTIFY or Redis), which wakes it
when an assessment event commits in any process; it also runs every `CRISIS_POLL_SECONDS`
whatever the bus says, so a lost notification only delays an alert.
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
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from xinan.core import bus, outbox
from xinan.core.lib import fastsql
from xinan.core.models import OutboxEvent
from xinan.crisis import reach, rules, services
from xinan.crisis.models import AlertRule

log = logging.getLogger(__name__)

TOPIC = "assessment.scored"
MAX_ATTEMPTS = 10
BATCH = 200  # events per pass
COALESCE_SECONDS = 0.05  # after a wake-up, before the pass
ESCALATE_EVERY_SECONDS = 1.0
RECLAIM_EVERY_SECONDS = 5.0

_started = False
_lock = threading.Lock()
_listeners: set[bus.Listener] = set()  # of the loops running in this process


def worker_name() -> str:
    return f"crisis@{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def stale_seconds() -> int:
    return int(getattr(settings, "CRISIS_CLAIM_STALE_SECONDS", 60))


def _claim_sql(connection) -> str:
    qn = connection.ops.quote_name
    table = qn(OutboxEvent._meta.db_table)
    # Names from the model's meta; every value is a parameter.
    return (
        f"UPDATE {table} SET {qn('claimed_at')} = %s, {qn('claimed_by')} = %s "  # noqa: S608
        f"WHERE {qn('id')} IN (SELECT {qn('id')} FROM {table} WHERE {qn('topic')} = %s "
        f"AND {qn('processed_at')} IS NULL AND {qn('claimed_at')} IS NULL "
        f"ORDER BY {qn('id')} LIMIT %s) AND {qn('claimed_at')} IS NULL "
        f"RETURNING {qn('id')}, {qn('payload')}, {qn('attempts')}"
    )


def _payload(value) -> dict:
    # SQLite hands the JSON column over as text; PostgreSQL's driver may have decoded it.
    return json.loads(value) if isinstance(value, str | bytes) else (value or {})


def claim(worker: str, limit: int = 200, now: dt.datetime | None = None) -> list[OutboxEvent]:
    """Claim up to `limit` unclaimed events in one conditional UPDATE … RETURNING.

    The same promise as `xinan.core.outbox.claim`: two workers never both win an event, because
    the UPDATE re-checks `claimed_at IS NULL` on every row it changes, under PostgreSQL's row
    lock (a row another worker claimed meanwhile is re-read and skipped) or SQLite's write lock.
    One statement in plain SQL, as a pass runs many times a second under load; inside a
    transaction so that on SQLite it queues with the other writers of this process.
    """
    now = now or timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic():
        rows = fastsql.fetchall(_claim_sql(connection), [stamp, worker, TOPIC, limit])
    return [
        OutboxEvent(
            pk=pk,
            topic=TOPIC,
            payload=_payload(payload),
            attempts=attempts,
            claimed_at=now,
            claimed_by=worker,
        )
        for pk, payload, attempts in sorted(rows, key=lambda row: row[0])
    ]


_rules_seen: tuple[tuple, list[AlertRule]] = ((), [])


def active_rules() -> list[AlertRule]:
    """The active rules, rebuilt only when their rows changed since the last pass.

    Every pass reads the rows (one plain query), so an edit in the admin applies from the next
    pass in every process; building the model objects is what is saved."""
    meta = AlertRule._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in meta.concrete_fields)
    rows = tuple(
        fastsql.fetchall(
            f"SELECT {columns} FROM {qn(meta.db_table)} WHERE {qn('active')} = %s "  # noqa: S608
            f"ORDER BY {qn('id')}",
            [True],
        )
    )
    global _rules_seen
    seen_rows, rules_built = _rules_seen
    if rows != seen_rows:
        rules_built = list(AlertRule.objects.filter(active=True).order_by("id"))
        _rules_seen = (rows, rules_built)
    return rules_built


def _mark_processed(pks: list[int]) -> None:
    """One UPDATE for the events that fired nothing."""
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(pks))
    sql = (
        f"UPDATE {qn(OutboxEvent._meta.db_table)} SET {qn('processed_at')} = %s "  # noqa: S608
        f"WHERE {qn('id')} IN ({marks})"
    )
    with transaction.atomic():
        fastsql.execute(sql, [connection.ops.adapt_datetimefield_value(timezone.now()), *pks])


def reclaim_stale(worker: str, limit: int = 100, now: dt.datetime | None = None):
    """Claim events whose claimant died before finishing.

    The UPDATE is conditional on the claim still being stale, so of two workers reclaiming the
    same row only one changes it.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=stale_seconds())
    candidates = list(
        OutboxEvent.objects.pending(TOPIC)
        .filter(claimed_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS)
        .values_list("pk", flat=True)[:limit]
    )
    if not candidates:
        return []
    OutboxEvent.objects.filter(
        pk__in=candidates, processed_at__isnull=True, claimed_at__lt=cutoff
    ).update(claimed_at=now, claimed_by=worker)
    return list(
        OutboxEvent.objects.filter(
            pk__in=candidates, processed_at__isnull=True, claimed_at=now, claimed_by=worker
        ).order_by("pk")
    )


@dataclass
class Result:
    processed: int = 0
    alerts: int = 0
    failed: int = 0
    escalated: int = 0


def process_pending(
    worker: str | None = None, limit: int = BATCH, *, reclaim: bool = True
) -> Result:
    """Claim and apply up to `limit` events.

    The claim is one conditional UPDATE (`claim`). The rules are loaded once per batch and
    evaluated without queries; an event that fires nothing (most of them) needs no transaction
    of its own: such events are marked processed together at the end. An event that fires
    gets its own transaction, which also marks it processed. A crash before the end leaves the
    quiet ones claimed, to be reclaimed when the claim goes stale and evaluated again, which
    changes nothing.
    """
    worker = worker or worker_name()
    result = Result()
    events = claim(worker, limit)
    if reclaim and len(events) < limit:
        events += reclaim_stale(worker, limit - len(events))
    if not events:
        return result
    rules_now = active_rules()
    quiet = []
    for event in events:
        try:
            fires = bool(rules.evaluate(event.payload or {}, rules_now))
        except Exception:  # noqa: BLE001 — a malformed payload takes the path that parks it
            fires = True
        if not fires:
            quiet.append(event.pk)
            continue
        try:
            with transaction.atomic():
                alert = services.process_assessment_event(event, rules_now)
                outbox.mark_processed(event)
        except Exception:  # noqa: BLE001 — one bad event must not stop the others
            log.exception("crisis: event %s failed", event.pk)
            if event.attempts + 1 >= MAX_ATTEMPTS:
                # Park it: stays claimed, is never reclaimed, and shows in the outbox admin.
                OutboxEvent.objects.filter(pk=event.pk).update(
                    attempts=event.attempts + 1, last_error=traceback.format_exc()[:2000]
                )
                log.error("crisis: event %s parked after %s attempts", event.pk, MAX_ATTEMPTS)
            else:
                outbox.release(event, traceback.format_exc())
            result.failed += 1
            continue
        result.processed += 1
        result.alerts += alert is not None
    if quiet:
        _mark_processed(quiet)
        result.processed += len(quiet)
    return result


def run_once(worker: str | None = None, now: dt.datetime | None = None) -> Result:
    result = process_pending(worker)
    result.escalated = len(services.escalate_overdue(now)) + len(
        reach.escalate_overdue_callbacks(now)
    )
    return result


def loop(
    stop: threading.Event,
    interval: float,
    *,
    ready: threading.Event | None = None,
    on_pass: Callable[[Result | None], None] | None = None,
) -> None:
    """Run passes until `stop` is set: one at once, then one per bus wake-up or `interval`.

    The listener subscribes before the first pass, so an event committed after that pass wakes
    the next one. `ready` is set after the first pass; `on_pass` gets each pass's result (None
    when the pass failed). Closes its own database connection and listener on the way out.
    """
    worker = worker_name()
    listener = bus.listen([TOPIC])
    _listeners.add(listener)
    escalated_at = reclaimed_at = 0.0
    try:
        while not stop.is_set():
            result = None
            try:
                # A claim goes stale only after CRISIS_CLAIM_STALE_SECONDS (60 s): looking for
                # stale ones every few seconds is enough, not on every commit's wake-up.
                reclaim = time.monotonic() - reclaimed_at >= RECLAIM_EVERY_SECONDS
                if reclaim:
                    reclaimed_at = time.monotonic()
                result = process_pending(worker, reclaim=reclaim)
                # Deadlines are minutes long: checking them once a second is plenty, and a
                # busy stream of submissions wakes this loop far more often than that.
                if time.monotonic() - escalated_at >= ESCALATE_EVERY_SECONDS:
                    escalated_at = time.monotonic()
                    result.escalated = len(services.escalate_overdue()) + len(
                        reach.escalate_overdue_callbacks()
                    )
            except Exception:  # noqa: BLE001 — the scheduler must outlive a database hiccup
                log.exception("crisis: run failed")
                close_old_connections()
            if on_pass is not None:
                on_pass(result)
            if ready is not None:
                ready.set()
            if stop.is_set():
                break
            if result is not None and result.processed + result.failed >= BATCH:
                continue  # a backlog: the next batch now, not after the next notification
            if listener.wait(interval) and not stop.is_set():
                # Woken by a commit: let the rest of a burst commit too, so one pass (one
                # claim, one write for the quiet events) serves many submissions, not one each.
                time.sleep(COALESCE_SECONDS)
    finally:
        _listeners.discard(listener)
        listener.close()
        connection.close()


def interrupt() -> None:
    """Wake every loop of this process now (to notice its stop event, say)."""
    for listener in list(_listeners):
        listener.interrupt()


def poll_interval() -> float:
    return float(getattr(settings, "CRISIS_POLL_SECONDS", 0.1))


def start_background() -> threading.Thread | None:
    """Start the consumer in this process (once), when `XINAN_CRISIS_BACKGROUND` says so.

    `xinan serve` sets it, so the embedded default needs no second process; production with a
    separate `xinan crisis_worker` sets it to 0.
    """
    global _started
    if os.environ.get("XINAN_CRISIS_BACKGROUND", "0") not in {"1", "true", "yes", "on"}:
        return None
    with _lock:
        if _started:
            return None
        _started = True
    thread = threading.Thread(
        target=loop, args=(threading.Event(), poll_interval()), name="crisis-worker", daemon=True
    )
    thread.start()
    return thread
