"""The loop's sweeps: overdue tasks escalate to the area admin; missed follow-ups are marked
(and repeated misses flag the case lost to follow-up)."""

import datetime as dt

from xinan.cases.services import escalate_overdue, mark_missed
from xinan.core.schedule import periodic


@periodic("cases.escalate_overdue_tasks", every=dt.timedelta(minutes=1))
def escalate_overdue_tasks(now: dt.datetime) -> int:
    return escalate_overdue(now)


@periodic("cases.mark_missed_follow_ups", every=dt.timedelta(minutes=15))
def mark_missed_follow_ups(now: dt.datetime) -> int:
    return mark_missed(now)
