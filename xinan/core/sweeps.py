"""The core's own periodic sweep: old sweep-run rows go (xinan/core/worker.py)."""

import datetime as dt

from xinan.core.schedule import periodic


@periodic("core.prune_sweep_runs", every=dt.timedelta(hours=1))
def prune_sweep_runs(now: dt.datetime) -> int:
    from xinan.core.worker import prune_sweep_runs

    return prune_sweep_runs()
