"""What every SMD verb shares: the error type, parameters, due-date arithmetic, the
responsible CHC."""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from xinan.core.models import Area, Institution, InstitutionKind


class SmdError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def conf(name: str, default: int) -> int:
    """An SMD parameter: settings.SMD_<NAME> or the documented default (docs/smd.md)."""
    return int(getattr(settings, f"SMD_{name}", default))


def add_working_days(start: dt.date, days: int) -> dt.date:
    """`days` working days after `start` (Monday–Friday; public holidays are not modelled)."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def end_of(day: dt.date) -> dt.datetime:
    """The moment a due date has passed: the start of the next local day."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


def responsible_chc(area: Area) -> Institution | None:
    """The community health centre of the area's town (the nearest CHC up the tree)."""
    codes = [area.code] + [a.code for a in reversed(area.ancestors())]
    chcs = {
        i.area_id: i
        for i in Institution.objects.filter(kind=InstitutionKind.CHC, area_id__in=codes).order_by(
            "pk"
        )
    }
    return next((chcs[c] for c in codes if c in chcs), None)
