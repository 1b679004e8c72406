"""Service sites: saving them, when they are open, finding the nearest, coverage by area."""

import datetime as dt
import math
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit
from xinan.core.lib import areacode
from xinan.core.models import Area, AreaLevel
from xinan.network.models import (
    OpeningHours,
    ServiceSite,
    SiteClosure,
    SiteType,
    codes_text,
)

PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
PHOTO_MAX_BYTES = 3 * 1024 * 1024
EARTH_KM = 6371.0


class NetworkError(Exception):
    """A service-network rule refused the change; the message is for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def photo_type(head: bytes) -> str | None:
    for magic, kind in PHOTO_TYPES.items():
        if head.startswith(magic):
            return kind
    return None


def check_photo(upload) -> None:
    """Only JPEG or PNG photos up to 3 MB (checked by content, not by file name)."""
    if upload.size > PHOTO_MAX_BYTES:
        raise NetworkError(_("照片不能超过3MB"), "photo")
    head = upload.read(16)
    upload.seek(0)
    if photo_type(head) is None:
        raise NetworkError(_("照片须为JPG或PNG图片"), "photo")


# ---------------------------------------------------------------- opening hours


def parse_hours(text: str) -> list[tuple[int, dt.time, dt.time]]:
    """ "周一至周五 9:00-17:00; 周六 9:00-12:00" or "1-5 09:00-17:00, 6 09:00-12:00" → rows.

    "每天 0:00-24:00" means always open (hotlines)."""
    names = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
    rows: list[tuple[int, dt.time, dt.time]] = []
    text = (text or "").replace("；", ";").replace("，", ";").replace(",", ";").replace("～", "-")
    text = text.replace("–", "-").replace("—", "-").replace("：", ":")
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            days_text, times = part.rsplit(" ", 1)
            opens_text, closes_text = times.split("-")
            opens = _time(opens_text)
            closes = _time(closes_text)
        except ValueError:
            raise NetworkError(
                _("开放时间“%(part)s”格式不对，例如：周一至周五 9:00-17:00") % {"part": part},
                "hours",
            ) from None
        days_text = days_text.strip().replace("星期", "周")
        if days_text in {"每天", "每日", "全天"}:
            days = list(range(7))
        else:
            ends = days_text.replace("至", "-").split("-")
            try:
                idx = [int(e) - 1 if e.isdigit() else names[e.replace("周", "")] for e in ends]
            except (KeyError, ValueError):
                raise NetworkError(
                    _("开放时间“%(part)s”中的星期写法不对") % {"part": part}, "hours"
                ) from None
            days = list(range(idx[0], idx[-1] + 1))
        if not days or not all(0 <= d <= 6 for d in days) or opens >= closes:
            raise NetworkError(
                _("开放时间“%(part)s”不成立（开门应早于关门）") % {"part": part}, "hours"
            )
        rows.extend((d, opens, closes) for d in days)
    return rows


def _time(text: str) -> dt.time:
    text = text.strip()
    if text in {"24:00", "24:00:00"}:
        return dt.time(23, 59, 59)
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


def hours_text(site: ServiceSite) -> list[str]:
    from xinan.network.models import WEEKDAYS

    by_day: dict[int, list[str]] = {}
    for h in site.hours.all():
        closes = "24:00" if h.closes >= dt.time(23, 59) else f"{h.closes:%H:%M}"
        by_day.setdefault(h.weekday, []).append(f"{h.opens:%H:%M}-{closes}")
    return [f"{WEEKDAYS[d]} {'、'.join(by_day[d])}" for d in sorted(by_day)]


def local_now(now: dt.datetime | None = None) -> dt.datetime:
    return timezone.localtime(now or timezone.now())


def open_q(now: dt.datetime | None = None) -> Q:
    """Sites open at `now` (local time): the weekly pattern, unless a closure that day says
    otherwise (closed all day, or open only between its own hours). Uncorrelated IN
    subqueries, each evaluated once, so the filter costs the same over 5 or 5,000 sites."""
    t = local_now(now)
    clock = t.time().replace(microsecond=0)
    hours = OpeningHours.objects.filter(
        weekday=t.weekday(), opens__lte=clock, closes__gt=clock
    ).values("site_id")
    closures = SiteClosure.objects.filter(date=t.date())
    special = closures.filter(opens__lte=clock, closes__gt=clock).values("site_id")
    return (Q(pk__in=hours) & ~Q(pk__in=closures.values("site_id"))) | Q(pk__in=special)


def open_ids(site_ids: list[int], now: dt.datetime | None = None) -> set[int]:
    """Which of these sites are open at `now`: two small indexed reads, decided in Python by
    the same rule as open_q."""
    t = local_now(now)
    clock = t.time().replace(microsecond=0)
    closures = {
        site_id: (o, c)
        for site_id, o, c in SiteClosure.objects.filter(
            site_id__in=site_ids, date=t.date()
        ).values_list("site_id", "opens", "closes")
    }
    found = {pk for pk, (o, c) in closures.items() if o and c and o <= clock < c}
    for site_id, o, c in OpeningHours.objects.filter(
        site_id__in=site_ids, weekday=t.weekday()
    ).values_list("site_id", "opens", "closes"):
        if site_id not in closures and o <= clock < c:
            found.add(site_id)
    return found


def is_open(site: ServiceSite, at: dt.datetime) -> bool:
    return ServiceSite.objects.filter(pk=site.pk).filter(open_q(at)).exists()


class SiteCalendar:
    """A site's weekly hours and closures read once, to test many time ranges."""

    def __init__(self, site: ServiceSite):
        self.hours: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for h in site.hours.all():
            self.hours.setdefault(h.weekday, []).append((h.opens, h.closes))
        self.closures = {c.date: (c.opens, c.closes) for c in site.closures.all()}

    def covers(self, starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
        """Whether the site is open for the whole of [starts_at, ends_at) within one day."""
        start, end = local_now(starts_at), local_now(ends_at)
        end_clock = dt.time(23, 59, 59) if end.time() == dt.time(0, 0) else end.time()
        if start.date() != end.date() and end.time() != dt.time(0, 0):
            return False
        if start.date() in self.closures:
            intervals = [self.closures[start.date()]]
        else:
            intervals = self.hours.get(start.weekday(), [])
        return any(o and c and o <= start.time() and end_clock <= c for o, c in intervals)


def open_between(site: ServiceSite, starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    return SiteCalendar(site).covers(starts_at, ends_at)


# ---------------------------------------------------------------- saving a site


def save_site(
    site: ServiceSite,
    *,
    actor,
    hours: str | None = None,
    services: list[str] | None = None,
    populations=None,
    photo=None,
) -> ServiceSite:
    """Create or update a site with its weekly hours, in one transaction."""
    if not site.area_id:
        raise NetworkError(_("服务点必须属于一个区划（街镇或村居）"), "area")
    if site.site_type not in SiteType.values:
        raise NetworkError(_("请选择服务点类型"), "site_type")
    if (site.lat is None) != (site.lon is None):
        raise NetworkError(_("经纬度须同时填写"), "lat")
    if site.lat is not None and not (-90 <= site.lat <= 90 and -180 <= site.lon <= 180):
        raise NetworkError(_("经纬度超出范围"), "lat")
    rows = parse_hours(hours) if hours is not None else None
    if photo is not None:
        check_photo(photo)
    if services is not None:
        site.services = codes_text(services)
    created = site.pk is None
    with transaction.atomic():
        if photo is not None:
            site.photo.save(photo.name, photo, save=False)
        site.save()
        if rows is not None:
            site.hours.all().delete()
            OpeningHours.objects.bulk_create(
                [OpeningHours(site=site, weekday=d, opens=o, closes=c) for d, o, c in rows]
            )
        if populations is not None:
            site.populations.set(populations)
        audit.record(
            "network.site.create" if created else "network.site.update",
            site,
            actor=actor,
            changed_fields=["name", "site_type", "area", "hours"],
        )
    return site


def add_closure(
    site: ServiceSite, *, date: dt.date, opens=None, closes=None, note="", actor
) -> SiteClosure:
    if (opens is None) != (closes is None) or (opens and opens >= closes):
        raise NetworkError(_("节假日特别开放时间须同时填写开门和关门，且开门早于关门"))
    with transaction.atomic():
        closure, _created = SiteClosure.objects.update_or_create(
            site=site, date=date, defaults={"opens": opens, "closes": closes, "note": note}
        )
        audit.record("network.site.closure", site, actor=actor, changed_fields=["closures"])
    return closure


# ---------------------------------------------------------------- the finder


@dataclass
class SiteHit:
    site: ServiceSite
    distance_km: float | None
    open_now: bool


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


def _bbox_q(lat: float, lon: float, km: float) -> Q:
    dlat = km / 111.0
    dlon = km / (111.0 * max(math.cos(math.radians(lat)), 0.01))
    return Q(lat__gte=lat - dlat, lat__lte=lat + dlat, lon__gte=lon - dlon, lon__lte=lon + dlon)


def find_sites(
    *,
    prefix: str = "",
    site_type: str = "",
    service: str = "",
    open_now: bool = False,
    lat: float | None = None,
    lon: float | None = None,
    home: str = "",
    limit: int = 20,
    now: dt.datetime | None = None,
) -> list[SiteHit]:
    """Active sites by area, type, service and "open now"; nearest first when a location is
    given (a bounding box widened until it holds enough sites, then haversine), otherwise the
    resident's own village first, then the town, then the district."""
    qs = ServiceSite.objects.active()
    if prefix:
        qs = qs.within(prefix)
    if site_type:
        qs = qs.filter(site_type=site_type)
    if service:
        qs = qs.offering(service)
    if open_now:
        qs = qs.filter(open_q(now))
    distances: dict[int, float] = {}
    if lat is not None and lon is not None:
        km, found = 3.0, []
        while True:
            found = list(qs.filter(_bbox_q(lat, lon, km)).values_list("pk", "lat", "lon"))
            if len(found) >= limit or km >= 200:
                break
            km *= 2
        ranked = sorted((haversine_km(lat, lon, a, b), pk) for pk, a, b in found)[:limit]
        distances = {pk: d for d, pk in ranked}
        qs = ServiceSite.objects.filter(pk__in=distances)  # already filtered above
    elif home:
        nearness = [
            When(area__code__startswith=home[:n], then=Value(i)) for i, n in ((0, 12), (1, 9))
        ]
        qs = qs.annotate(near=Case(*nearness, default=Value(9), output_field=IntegerField()))
        qs = qs.order_by("near", "site_type", "name")
    sites = list(qs.select_related("area")[:limit])
    ids = [s.pk for s in sites]
    opened = open_ids(ids, now) if not open_now else set(ids)
    availability = apps.get_model("booking", "Availability")
    bookable = set(
        availability.objects.filter(site_id__in=ids, active=True).values_list("site_id", flat=True)
    )
    hits = []
    for site in sites:
        site.bookable = site.pk in bookable
        hits.append(SiteHit(site, distances.get(site.pk), site.pk in opened))
    if distances:
        hits.sort(key=lambda h: h.distance_km)
    return hits


def sites_near_home(area_code: str, limit: int = 10) -> list[ServiceSite]:
    """What the result page and resident home list: sites nearest the home in the area tree."""
    if not area_code:
        return []
    hits = find_sites(prefix=areacode.prefix(area_code, "district"), home=area_code, limit=limit)
    for h in hits:
        h.site.open_now = h.open_now
    return [h.site for h in hits]


# ---------------------------------------------------------------- coverage


@dataclass
class CoverageRow:
    area: Area
    villages: int
    covered: int
    target: float

    @property
    def rate(self) -> float:
        return self.covered / self.villages if self.villages else 0.0

    @property
    def meets_target(self) -> bool:
        return self.rate >= self.target


def coverage(prefix: str, *, site_type: str = SiteType.VILLAGE_ROOM) -> list[CoverageRow]:
    """For each town under `prefix`: its villages and how many have an active site of
    `site_type` (a counselling room by default) at the village or below, against the target
    share XINAN_SITE_COVERAGE_TARGET (percent; 100 = every village)."""
    target = settings.SITE_COVERAGE_TARGET
    towns = list(Area.objects.current().filter(code__startswith=prefix, level=AreaLevel.TOWN))
    villages = list(
        Area.objects.current()
        .filter(code__startswith=prefix, level=AreaLevel.VILLAGE)
        .values_list("code", flat=True)
    )
    covered_codes = {
        areacode.at_level(code, "village")
        for code in ServiceSite.objects.active()
        .within(prefix)
        .filter(site_type=site_type)
        .values_list("area_id", flat=True)
    }
    rows = []
    for town in towns:
        mine = [v for v in villages if v.startswith(town.prefix)]
        rows.append(
            CoverageRow(town, len(mine), sum(1 for v in mine if v in covered_codes), target)
        )
    return rows
