"""The transactional outbox: an event is written in its cause's transaction, with its delivery
rows (one per lane that has consumers of its topic, xinan/core/events.py; one for all of them,
for bulk events); the worker (xinan/core/worker.py) claims deliveries and hands each consumer
its events.

    outbox.emit_event(AssessmentScored(...))       # a typed payload (the topic's dataclass)
    outbox.emit("alert.raised", {...})              # the same from a plain dict
    outbox.emit_many(AssessmentScored.TOPIC, json_texts)   # bulk writers (the importer)

Deliveries written by `emit` go to the consumers' own lanes (critical or default): one row per
lane, for its one consumer or for all of them (`ALL_CONSUMERS`); those written by `emit_many`
go to the bulk lane, so a file's thousands of events never hold up a live one.
A bulk event has one delivery for all its topic's consumers (`ALL_CONSUMERS`), not one each:
an import writes one row per event however many consumers there are, and the worker hands the
event to every consumer registered for the topic (a consumer that fails gets a delivery of its
own, retried and parked as any other; xinan/core/deliveries.py).
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from xinan.core import bus, deliveries, events
from xinan.core.lib import fastsql
from xinan.core.models import Delivery, OutboxEvent
from xinan.core.work_models import ALL_CONSUMERS

BULK_TOPIC = "bulk"  # what emit_many announces on the bus, for the bulk lane
DELIVERY_COLUMNS = [
    "event_id",
    "consumer",
    "lane",
    "state",
    "attempts",
    "available_at",
    "leased_by",
    "last_error",
]
EVENT_COLUMNS = ["id", "topic", "payload", "created_at"]


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox events must be written inside the cause's transaction")


def _owed(topic: str) -> list[tuple[str, str]]:
    """(consumer, lane) of the deliveries a live event of `topic` is written with: one per lane
    that has consumers, for its one consumer or for all of them (`ALL_CONSUMERS`)."""
    by_lane: dict[str, list[str]] = {}
    for c in events.consumers_for(topic):
        by_lane.setdefault(deliveries.consumer_lane(c), []).append(c.name)
    return [
        (names[0] if len(names) == 1 else ALL_CONSUMERS, lane) for lane, names in by_lane.items()
    ]


def emit(topic: str, payload: dict[str, Any]) -> int:
    """Write an event and its deliveries; return its id. Runs inside the cause's transaction.

    One delivery per lane that has consumers of the topic: named for its consumer where the
    lane has one, for all of them (`ALL_CONSUMERS`) where it has several, so a submission
    writes two rows, not one per consumer (the worker splits off a row of its own for one
    that fails)."""
    _require_transaction()
    bus.publish(topic)  # delivered when this transaction commits, to any process (core/bus.py)
    # A row from values: written once per submission, on the platform's busiest path.
    event_id = fastsql.insert_row(OutboxEvent, {"topic": topic, "payload": payload})
    owed = _owed(topic)
    if owed:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        rows = [(event_id, name, lane, "pending", 0, now, "", "") for name, lane in owed]
        fastsql.execute(_values_sql(len(rows)), [v for row in rows for v in row])
    return event_id


def emit_event(payload: events.Payload) -> int:
    """`emit` for a topic's typed payload (a frozen dataclass with a TOPIC)."""
    return emit(payload.TOPIC, events.to_dict(payload))


_values_statements: dict[tuple[str, int], str] = {}


def _values_sql(n: int) -> str:
    key = (connection.vendor, n)
    sql = _values_statements.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        one = "(" + ", ".join(["%s"] * len(DELIVERY_COLUMNS)) + ")"
        columns = ", ".join(qn(c) for c in DELIVERY_COLUMNS)
        sql = _values_statements[key] = (
            f"INSERT INTO {qn(Delivery._meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES {', '.join([one] * n)}"
        )
    return sql


def emit_many(
    topic: str, payloads: Sequence[str | dict | events.Payload], *, bulk: bool = True
) -> list[int]:
    """Write many events of one topic (each a typed payload, a dict, or its JSON text already)
    and their deliveries, with COPY / executemany; return their ids in order. The deliveries go
    to the bulk lane (an import's thousands), one per event for all consumers, or with
    `bulk=False` to the consumers' own lanes as `emit` writes them (a sweep's batch of
    escalations, as urgent as single ones). The only way bulk writers write events."""
    import json

    _require_transaction()
    if not payloads:
        return []
    ids = fastsql.reserve_ids(OutboxEvent._meta.db_table, len(payloads))
    now = timezone.now()
    now_db = (
        now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    )
    rows = []
    for pk, p in zip(ids, payloads, strict=True):
        if not isinstance(p, str):
            p = json.dumps(p if isinstance(p, dict) else events.to_dict(p), default=str)
        rows.append((pk, topic, p, now_db))
    fastsql.copy_rows(OutboxEvent._meta.db_table, EVENT_COLUMNS, rows)
    if events.consumers_for(topic):
        if bulk:
            owed_rows = [(pk, ALL_CONSUMERS, "bulk", "pending", 0, now_db, "", "") for pk in ids]
            bus.publish(BULK_TOPIC)
        else:
            owed = _owed(topic)
            owed_rows = [
                (pk, name, lane, "pending", 0, now_db, "", "") for pk in ids for name, lane in owed
            ]
        fastsql.copy_rows(Delivery._meta.db_table, DELIVERY_COLUMNS, owed_rows)
    bus.publish(topic)
    return ids
