"""Crisis due times on the one scheduler (xinan/core/schedule.py, run by the worker)."""

import datetime as dt

from xinan.core.schedule import periodic
from xinan.crisis import reach, services

ESCALATE_EVERY = dt.timedelta(seconds=2)
CALLBACKS_EVERY = dt.timedelta(seconds=30)


@periodic("crisis.escalate_overdue", every=ESCALATE_EVERY)
def escalate_overdue(now: dt.datetime) -> int:
    """Missed acknowledgement deadlines go to the next person on duty; alerts nobody was left
    to take go to whoever has come on duty since. Its own lane: new alerts never wait for it."""
    return len(services.escalate_overdue(now)) + len(services.reoffer_exhausted(now))


@periodic("crisis.escalate_overdue_callbacks", every=CALLBACKS_EVERY)
def escalate_overdue_callbacks(now: dt.datetime) -> int:
    """Callbacks not made by their due time go to the next person on duty (or the fallback)."""
    return len(reach.escalate_overdue_callbacks(now))
