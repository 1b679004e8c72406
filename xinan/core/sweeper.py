"""The sweeps lane: each registered periodic sweep (xinan/core/schedule.py) once per slot
across every worker."""

import datetime as dt
import logging
import traceback

from django.db import IntegrityError, transaction
from django.utils import timezone

from xinan.core import schedule
from xinan.core.leases import Leases, lease_seconds, no_leases
from xinan.core.models import SweepRun

log = logging.getLogger(__name__)


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
        self.leases = leases or no_leases
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
