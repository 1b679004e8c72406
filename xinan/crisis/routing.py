"""Who is on duty for an area code, nearest first, and where the roster has holes."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from xinan.core.lib import areacode
from xinan.core.models import Area
from xinan.crisis.models import CrisisFallback, DutyShift, FallbackMode

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
    fallback: bool = False  # not on shift: the named fallback for when nobody is


def on_duty(area_code: str, now: dt.datetime | None = None) -> list[OnDuty]:
    """Users on shift now whose area contains `area_code`, nearest area first.

    An alert without an area goes to whoever is on duty at district level or above.
    """
    now = now or timezone.now()
    # Rows, not model instances: this runs for every alert raised, on the critical lane.
    shifts = DutyShift.objects.filter(starts_at__lte=now, ends_at__gt=now)
    codes = ancestor_codes(area_code)
    if codes:
        shifts = shifts.filter(area_id__in=codes)
    chain: list[OnDuty] = []
    rows = shifts.order_by("starts_at", "id").values_list("user_id", "area_id", "area__level")
    for user_id, shift_area, level in rows:
        prefix = areacode.prefix(shift_area, level)
        if area_code and not area_code.startswith(prefix):
            continue
        if not area_code and len(prefix) > DISTRICT_PREFIX_LENGTH:
            continue
        chain.append(OnDuty(user_id, shift_area, len(prefix)))
    chain.sort(key=lambda d: -d.depth)
    seen: set[int] = set()
    result = []
    for duty in chain:
        if duty.user_id not in seen:
            seen.add(duty.user_id)
            result.append(duty)
    return result


def _area_codes_for(area_code: str) -> list[str]:
    """The area and its ancestors nearest first; with no area, the district and above."""
    codes = ancestor_codes(area_code)
    if codes:
        return codes
    return [a.code for a in Area.objects.filter(level__in=["district", "city", "province"])]


def fallback(area_code: str) -> list[OnDuty]:
    """Who receives an alert when no shift covers `area_code`, in order.

    The nearest area (the alert's own or an ancestor) with a `CrisisFallback` decides: its
    named lead, or the area admins of that area and above. Without any configuration, the area
    admins nearest above the alert's area. Empty only when nobody at all is there.
    """
    codes = _area_codes_for(area_code)
    rank = {c: i for i, c in enumerate(codes)}
    configured = sorted(
        CrisisFallback.objects.filter(area_id__in=codes).values_list(
            "area_id", "mode", "user_id", "area__level"
        ),
        key=lambda row: rank.get(row[0], 99),
    )
    admins_from = codes
    if configured:
        rule_area, mode, lead_id, level = configured[0]
        if mode == FallbackMode.LEAD and lead_id:
            depth = len(areacode.prefix(rule_area, level))
            return [OnDuty(lead_id, rule_area, depth, fallback=True)]
        admins_from = codes[rank[rule_area] :]
    from xinan.accounts.models import Membership

    admins = sorted(
        Membership.objects.filter(
            role="area_admin", active=True, area_id__in=admins_from, user__is_active=True
        ).values_list("user_id", "area_id", "area__level"),
        key=lambda row: (rank.get(row[1], 99), row[0]),
    )
    result: list[OnDuty] = []
    for user_id, admin_area, level in admins:
        if all(d.user_id != user_id for d in result):
            result.append(
                OnDuty(user_id, admin_area, len(areacode.prefix(admin_area, level)), fallback=True)
            )
    return result


def chain(area_code: str, now: dt.datetime | None = None) -> list[OnDuty]:
    """Everyone an alert may be handed to, in order: on duty nearest first, then the fallback."""
    on = on_duty(area_code, now)
    seen = {d.user_id for d in on}
    return on + [d for d in fallback(area_code) if d.user_id not in seen]


@dataclass(frozen=True)
class Reachability:
    """What is true right now about who can call a resident back, for the resident's screen."""

    on_duty: bool
    fallback: bool

    @property
    def nobody(self) -> bool:
        return not (self.on_duty or self.fallback)


def reachability(area_code: str, now: dt.datetime | None = None) -> Reachability:
    if on_duty(area_code, now):
        return Reachability(on_duty=True, fallback=False)
    return Reachability(on_duty=False, fallback=bool(fallback(area_code)))


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
    start: dt.datetime | None = None

    @property
    def flat(self) -> list[int]:
        return [n for day in self.hours for n in day]

    @property
    def gap_ranges(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """Consecutive uncovered hours merged: (from, to) pairs, in order."""
        ranges: list[tuple[dt.datetime, dt.datetime]] = []
        if self.start is None:
            return ranges
        flat = [n for day in self.hours for n in day]
        run = None
        for i, n in enumerate(flat + [1]):
            if n == 0 and run is None:
                run = i
            elif n and run is not None:
                ranges.append(
                    (self.start + dt.timedelta(hours=run), self.start + dt.timedelta(hours=i))
                )
                run = None
        return ranges


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
    return CoverageRow(area, hours, gaps, start)


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
