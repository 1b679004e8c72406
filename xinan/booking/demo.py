"""Demo booking: the demo counsellor's weekly hours at 华阳路心理驿站 and online, a month of
sessions behind them and a few ahead, the district's 嘉心券 budget, its rule and vouchers.

Safe to re-run: each part checks whether it was built before."""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from xinan.accounts.models import User, phone_lookup_hash
from xinan.booking import services, vouchers
from xinan.booking.models import Appointment, Availability, Status, VoucherBudget, VoucherRule
from xinan.core.lib import areacode
from xinan.core.models import Area
from xinan.network.models import ServiceSite, SiteType
from xinan.people.models import Person

TOWN = "310105001000"


def build_availability(counsellor, station) -> None:
    if Availability.objects.filter(counsellor=counsellor).exists():
        return
    since = timezone.localdate() - dt.timedelta(days=60)
    for weekday in range(5):
        for start, end in ((dt.time(9, 0), dt.time(12, 0)), (dt.time(14, 0), dt.time(17, 0))):
            services.set_availability(
                Availability(
                    counsellor=counsellor,
                    mode="site",
                    site=station,
                    weekday=weekday,
                    start=start,
                    end=end,
                    valid_from=since,
                ),
                actor=counsellor,
            )
    services.set_availability(
        Availability(
            counsellor=counsellor,
            mode="video",
            weekday=2,
            start=dt.time(18, 30),
            end=dt.time(20, 30),
            video_url="https://meeting.example.cn/xinan-chenjing",
            valid_from=since,
        ),
        actor=counsellor,
    )


@transaction.atomic
def build_sessions(rng: random.Random, counsellor, station) -> int:
    """History is written as rows (the rules refuse booking the past); the coming week is
    booked through the service like any resident's booking."""
    if Appointment.objects.filter(counsellor=counsellor).exists():
        return 0
    people = list(
        Person.objects.filter(home_area__code__startswith=areacode.prefix(TOWN, "town"))[:80]
    )
    if not people:
        return 0
    today = timezone.localdate()
    made = 0
    for days_ago in range(28, 0, -1):
        day = today - dt.timedelta(days=days_ago)
        if day.weekday() >= 5:
            continue
        for hour in rng.sample([9, 10, 14, 15, 16], 2):
            start = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))
            status = rng.choices([Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED], [8, 1, 1])[0]
            Appointment.objects.create(
                person=rng.choice(people),
                counsellor=counsellor,
                site=station,
                mode="site",
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=50),
                status=status,
                area_code=TOWN,
                completed_at=start + dt.timedelta(minutes=50)
                if status == Status.COMPLETED
                else None,
                rating=rng.choice([4, 5, 5, None]) if status == Status.COMPLETED else None,
            )
            made += 1
    from xinan.booking import slots

    free = slots.slots_for(counsellor, site=station)
    for slot in free[::3][:6]:
        services.book(
            rng.choice(people),
            counsellor=counsellor,
            starts_at=slot.starts_at,
            site=station,
            actor=counsellor,
        )
        made += 1
    return made


def build_vouchers(district) -> int:
    today = timezone.localdate()
    budget, created = VoucherBudget.objects.get_or_create(
        area=district,
        name=f"长宁区{today.year}年嘉心券",
        defaults={
            "period_start": today.replace(month=1, day=1),
            "period_end": today.replace(month=12, day=31),
            "total_cents": 200_000_00,
        },
    )
    if created:
        VoucherRule.objects.create(budget=budget, value_cents=150_00, valid_days=90)
    resident = Person.objects.filter(user__phone_hash=phone_lookup_hash("13800000000")).first()
    if resident and resident.pk not in set(budget.vouchers.values_list("person_id", flat=True)):
        vouchers.issue(
            resident,
            budget=budget,
            value_cents=150_00,
            valid_days=90,
            services=["counselling"],
            actor=None,
        )
    return budget.vouchers.count()


def build_demo(*, seed: int, stdout) -> None:
    counsellor = User.objects.filter(username="counsellor").first()
    station = ServiceSite.objects.filter(area_id=TOWN, site_type=SiteType.STATION).first()
    district = Area.objects.filter(code="310105000000").first()
    if counsellor is None or station is None or district is None:
        stdout.write("booking: skipped (no demo counsellor or station)")
        return
    build_availability(counsellor, station)
    made = build_sessions(random.Random(seed + 16), counsellor, station)
    issued = build_vouchers(district)
    stdout.write(f"booking: {made} appointments, {issued} vouchers")
