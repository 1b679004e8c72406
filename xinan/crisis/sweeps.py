"""The crisis sweeps the scheduler runs (contract: xinan/core/schedule.py)."""

import datetime as dt

from xinan.core.schedule import periodic
from xinan.crisis import reach


@periodic("crisis.escalate_overdue_callbacks", every=dt.timedelta(seconds=30))
def escalate_overdue_callbacks(now: dt.datetime) -> int:
    """Callbacks not made by their due time go to the next person on duty (or the fallback)."""
    return len(reach.escalate_overdue_callbacks(now))
