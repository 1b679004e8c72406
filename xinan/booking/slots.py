"""Bookable slots, computed from a counsellor's weekly rules, exceptions, opening hours of the
site and the appointments already holding their time."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from xinan.booking.models import HOLDING, Appointment, Availability, AvailabilityException
from xinan.network.services import SiteCalendar

MIN_LEAD = dt.timedelta(hours=1)  # a slot must start at least this far ahead


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    mode: str
    site_id: int | None
    rule_id: int

    @property
    def local(self) -> dt.datetime:
        return timezone.localtime(self.starts_at)

    @property
    def key(self) -> str:
        return self.starts_at.strftime("%Y%m%dT%H%M%SZ")


def parse_key(key: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except (TypeError, ValueError):
        return None


def _aware(day: dt.date, clock: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, clock)).astimezone(dt.UTC)


def rules_for(counsellor, *, site=None, mode: str | None = None):
    rules = Availability.objects.filter(counsellor=counsellor, active=True).select_related("site")
    if site is not None:
        rules = rules.filter(site=site)
    if mode:
        rules = rules.filter(mode=mode)
    return list(rules)


def slots_for(
    counsellor,
    *,
    start: dt.date | None = None,
    days: int = 14,
    site=None,
    mode: str | None = None,
    now: dt.datetime | None = None,
    ignore: Appointment | None = None,
) -> list[Slot]:
    """Free slots from `start` (local date, default today) for `days` days."""
    now = now or timezone.now()
    start = start or timezone.localtime(now).date()
    end = start + dt.timedelta(days=days)
    rules = rules_for(counsellor, site=site, mode=mode)
    if not rules:
        return []
    exceptions: dict[dt.date, list[AvailabilityException]] = {}
    for e in AvailabilityException.objects.filter(
        counsellor=counsellor, date__gte=start, date__lt=end
    ):
        exceptions.setdefault(e.date, []).append(e)
    held = Appointment.objects.filter(
        counsellor=counsellor,
        status__in=HOLDING,
        starts_at__lt=_aware(end, dt.time(0, 0)) + dt.timedelta(days=1),
        ends_at__gt=_aware(start, dt.time(0, 0)) - dt.timedelta(days=1),
    )
    if ignore is not None:
        held = held.exclude(pk=ignore.pk)
    taken = [(a.starts_at, a.ends_at) for a in held]
    per_day: dict[dt.date, int] = {}
    for s, _e in taken:
        day = timezone.localtime(s).date()
        per_day[day] = per_day.get(day, 0) + 1
    calendars: dict[int, SiteCalendar] = {}
    found: list[Slot] = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        todays = [
            r
            for r in rules
            if r.weekday == day.weekday()
            and r.valid_from <= day
            and (r.valid_to is None or day <= r.valid_to)
        ]
        if not todays:
            continue
        # The per-day limit counts bookings: a full day shows no slots.
        room = max(r.daily_limit for r in todays) - per_day.get(day, 0)
        for rule in sorted(todays, key=lambda r: r.start):
            step = dt.timedelta(minutes=rule.slot_minutes + rule.buffer_minutes)
            length = dt.timedelta(minutes=rule.slot_minutes)
            buffer = dt.timedelta(minutes=rule.buffer_minutes)
            s = _aware(day, rule.start)
            last = _aware(day, rule.end)
            while s + length <= last and room > 0:
                e = s + length
                if (
                    s >= now + MIN_LEAD
                    and not _blocked(day, s, e, exceptions.get(day, []))
                    and not any(ts < e + buffer and s - buffer < te for ts, te in taken)
                    and _site_open(rule, s, e, calendars)
                ):
                    found.append(Slot(s, e, rule.mode, rule.site_id, rule.pk))
                s += step
    found.sort(key=lambda slot: slot.starts_at)
    return found


def _blocked(day, s, e, exceptions) -> bool:
    for exc in exceptions:
        if exc.start is None or exc.end is None:
            return True
        if _aware(day, exc.start) < e and s < _aware(day, exc.end):
            return True
    return False


def _site_open(rule, s, e, calendars) -> bool:
    if rule.site_id is None:
        return True
    if rule.site_id not in calendars:
        calendars[rule.site_id] = SiteCalendar(rule.site)
    return calendars[rule.site_id].covers(s, e)


def find_slot(counsellor, starts_at: dt.datetime, **kwargs) -> Slot | None:
    day = timezone.localtime(starts_at).date()
    for slot in slots_for(counsellor, start=day, days=1, **kwargs):
        if slot.starts_at == starts_at:
            return slot
    return None


def counsellors_at(site):
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(availability__site=site, availability__active=True)
        .distinct()
    )
