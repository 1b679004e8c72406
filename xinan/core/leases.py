"""Leases: how long a worker's claim on a row lasts, and the set of claims this process renews.

Every row a worker takes (a delivery, a job, a sweep slot) carries `leased_by` and
`leased_until`; the worker's heartbeat (xinan/core/worker.py) renews what it holds every
WORKER_HEARTBEAT_SECONDS. A worker killed mid-item stops renewing, and any live worker takes the
item over once `leased_until` has passed. The critical lane's lease is short
(WORKER_CRITICAL_LEASE_SECONDS, 1.5 s), so a dead worker's crisis alerts wait at most that long;
the other lanes' (WORKER_LEASE_SECONDS, 5 s) leave room for a slow consumer or job under load.
"""

import datetime as dt
import os
import socket
import threading

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from xinan.core.lib import fastsql


def lease_seconds(lane: str | None = None) -> float:
    """The lease of `lane`'s claims (the default lease without a lane: jobs, sweeps)."""
    general = float(getattr(settings, "WORKER_LEASE_SECONDS", 5))
    if lane == "critical":
        return min(general, float(getattr(settings, "WORKER_CRITICAL_LEASE_SECONDS", 1.5)))
    return general


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def db_time(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


class Leases:
    """Ids this worker holds, per table and holder (a lane, a job, a sweep), renewed by the
    heartbeat until released, each holder's for its own lease."""

    def __init__(self):
        self._lock = threading.Lock()
        # table -> holder -> (ids, lease seconds)
        self._held: dict[str, dict[str, tuple[set, float]]] = {}

    def hold(self, table: str, holder: str, ids, seconds: float | None = None) -> None:
        with self._lock:
            self._held.setdefault(table, {})[holder] = (
                set(ids),
                lease_seconds() if seconds is None else seconds,
            )

    def release(self, table: str, holder: str) -> None:
        with self._lock:
            self._held.get(table, {}).pop(holder, None)

    def snapshot(self) -> dict[tuple[str, float], set]:
        """{(table, lease seconds): ids}."""
        out: dict[tuple[str, float], set] = {}
        with self._lock:
            for table, holders in self._held.items():
                for ids, seconds in holders.values():
                    out.setdefault((table, seconds), set()).update(ids)
        return out

    def renew(self, worker: str) -> None:
        qn = connection.ops.quote_name
        now = timezone.now()
        for (table, seconds), ids in self.snapshot().items():
            if not ids:
                continue
            marks = ", ".join(["%s"] * len(ids))
            with transaction.atomic():
                fastsql.execute(
                    f"UPDATE {qn(table)} SET {qn('leased_until')} = %s "  # noqa: S608
                    f"WHERE {qn('leased_by')} = %s AND {qn('id')} IN ({marks})",
                    [db_time(now + dt.timedelta(seconds=seconds)), worker, *ids],
                )


no_leases = Leases()  # for passes run outside a Worker (tests, --once)
