"""The transactional outbox: write in the cause's transaction, claim once, process idempotently."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from xinan.core import bus
from xinan.core.lib import fastsql
from xinan.core.models import OutboxEvent


def emit(topic: str, payload: dict[str, Any]) -> int:
    """Write an event and return its id; must run inside the transaction that saved its cause."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox events must be written inside the cause's transaction")
    bus.publish(topic)  # delivered when this transaction commits, to any process (core/bus.py)
    # A row from values: written once per submission, on the platform's busiest path.
    return fastsql.insert_row(OutboxEvent, {"topic": topic, "payload": payload})


def claim(worker: str, topic: str | None = None, limit: int = 100) -> list[OutboxEvent]:
    """Claim up to `limit` pending events for `worker`.

    A conditional UPDATE per row means two workers never both win the same event, on SQLite
    and PostgreSQL alike.
    """
    now = timezone.now()
    candidates = list(
        OutboxEvent.objects.pending(topic)
        .filter(claimed_at__isnull=True)
        .values_list("pk", flat=True)[:limit]
    )
    claimed = []
    for pk in candidates:
        won = OutboxEvent.objects.filter(pk=pk, claimed_at__isnull=True).update(
            claimed_at=now, claimed_by=worker
        )
        if won:
            claimed.append(pk)
    return list(OutboxEvent.objects.filter(pk__in=claimed))


def mark_processed(event: OutboxEvent) -> None:
    OutboxEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now())


def release(event: OutboxEvent, error: str) -> None:
    """Give a failed event back for another try."""
    OutboxEvent.objects.filter(pk=event.pk).update(
        claimed_at=None, claimed_by="", attempts=event.attempts + 1, last_error=error[:2000]
    )
