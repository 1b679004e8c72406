"""Who is on duty for an area code, nearest first, and where the roster has holes."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from xinan.core.lib import areacode
from xinan.core.models import Area
from xinan.crisis.models import DutyShift

# A district-level or wider membership also covers alerts that carry no area at all.
DISTRICT_PREFIX_LENGTH = areacode.DISTRICT_PREFIX_LENGTH


def ancestor_codes(area_code: str) -> list[str]:
    """The codes of the area and all its ancestors, nearest first (`areacode.ancestors`)."""
    return areacode.ancestors(area_code)


@dataclass(frozen=True)
class OnDuty:
    user_id: int
    area_code: str
    depth: int  # significant prefix length of the shift's area: larger is nearer


def on_duty(area_code: str, now: dt.datetime | None = None) -> list[OnDuty]:
    """Users on shift now whose area contains `area_code`, nearest area first.

    An alert without an area goes to whoever is on duty at district level or above.
    """
    now = now or timezone.now()
    shifts = DutyShift.objects.filter(starts_at__lte=now, ends_at__gt=now).select_related("area")
    codes = ancestor_codes(area_code)
    if codes:
        shifts = shifts.filter(area_id__in=codes)
    chain: list[OnDuty] = []
    for shift in shifts.order_by("starts_at", "id"):
        prefix = shift.area.prefix
        if area_code and not area_code.startswith(prefix):
            continue
        if not area_code and len(prefix) > DISTRICT_PREFIX_LENGTH:
            continue
        chain.append(OnDuty(shift.user_id, shift.area_id, len(prefix)))
    chain.sort(key=lambda d: -d.depth)
    seen: set[int] = set()
    result = []
    for duty in chain:
        if duty.user_id not in seen:
            seen.add(duty.user_id)
            result.append(duty)
    return result


def overlapping(user, starts_at: dt.datetime, ends_at: dt.datetime, exclude_pk=None):
    qs = DutyShift.objects.filter(user=user, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs


@dataclass
class CoverageRow:
    area: Area
    hours: list[list[int]]  # [day][hour] → number of people on duty covering the area
    gaps: int


def coverage(area: Area, start: dt.datetime, days: int = 7) -> CoverageRow:
    """Hour-by-hour count of people on duty for `area` (its own shifts and its ancestors')."""
    end = start + dt.timedelta(days=days)
    codes = ancestor_codes(area.code)
    shifts = list(
        DutyShift.objects.filter(
            Q(area_id__in=codes), starts_at__lt=end, ends_at__gt=start
        ).values_list("starts_at", "ends_at")
    )
    hours = []
    gaps = 0
    for d in range(days):
        row = []
        for h in range(24):
            slot_start = start + dt.timedelta(days=d, hours=h)
            slot_end = slot_start + dt.timedelta(hours=1)
            # Covered means someone is on duty for the whole hour (a gap of minutes counts).
            n = _covering(shifts, slot_start, slot_end)
            if n == 0:
                gaps += 1
            row.append(n)
        hours.append(row)
    return CoverageRow(area, hours, gaps)


def _covering(shifts, slot_start: dt.datetime, slot_end: dt.datetime) -> int:
    touching = sorted((s, e) for s, e in shifts if s < slot_end and e > slot_start)
    if not touching:
        return 0
    reach = slot_start
    for s, e in touching:
        if s > reach:
            return 0  # a hole inside the hour
        reach = max(reach, e)
        if reach >= slot_end:
            break
    if reach < slot_end:
        return 0
    return len(touching)
