"""booking's part of the walk-every-URL test (xinan/testing/scope_walk.py): a counsellor of the
other district with weekly hours at its site, an appointment of its resident paid with a
voucher from its budget. Counsellors' pages and free slots are public; appointments, vouchers
and outcomes belong to the resident, the counsellor and the admins above them."""

import datetime as dt

from django.utils import timezone

from xinan.booking import services, slots, vouchers
from xinan.booking.models import (
    Appointment,
    Availability,
    AvailabilityException,
    Voucher,
    VoucherBudget,
)
from xinan.testing import factories
from xinan.testing.scope_walk import Hidden, Page, World


def build(world: World) -> None:
    counsellor = factories.counsellor_with_hours(
        world.town, world.site, username="xh_booking_counsellor"
    )
    world.add("counsellor", counsellor)
    world.add("rule", Availability.objects.filter(counsellor=counsellor).first())
    today = timezone.localdate()
    budget = VoucherBudget.objects.create(
        area=world.district,
        name="徐汇券XH",
        period_start=today,
        period_end=today + dt.timedelta(days=90),
        total_cents=1000_00,
    )
    voucher = vouchers.issue(
        world.person,
        budget=budget,
        value_cents=100_00,
        valid_days=30,
        services=["counselling"],
        actor=None,
    )
    free = slots.slots_for(counsellor, site=world.site)
    world.add("slot", free[-1], watch=False)
    a = services.book(
        world.person,
        counsellor=counsellor,
        starts_at=free[0].starts_at,
        site=world.site,
        voucher=voucher,
        actor=None,
    )
    world.add("appointment", a)
    world.add("voucher", voucher)
    world.secret(voucher.code, "徐汇券XH")
    world.watch("appointments there", Appointment.objects.filter(area_code__startswith="310104"))
    world.watch("its counsellor's appointments", Appointment.objects.filter(counsellor=counsellor))
    world.watch("vouchers there", Voucher.objects.filter(area__code__startswith="310104"))
    world.watch("budgets there", VoucherBudget.objects.filter(area__code__startswith="310104"))
    world.watch("its hours", Availability.objects.filter(counsellor=counsellor))
    world.watch("its leave", AvailabilityException.objects.filter(counsellor=counsellor))


def _a(w):
    return {"pk": w.appointment.pk}


def _person(w):
    return {"person_pk": w.person.pk}


URLS = {
    "booking:book_site": Page(lambda w: {"pk": w.site.pk}),  # public
    "booking:counsellor": Page(lambda w: {"pk": w.counsellor.pk}),  # public
    # A resident may book the other district's counsellor for themselves: that appointment is
    # theirs (not watched); nothing of the other district's changes.
    "booking:book": Page(
        lambda w: {"pk": w.counsellor.pk},
        data=lambda w: {"slot": w.slot.key, "service": "counselling", "voucher": w.voucher.pk},
        may_change=("resident",),
    ),
    "booking:mine": Page(),
    "booking:appointment": Hidden(_a),
    "booking:reschedule": Hidden(_a, data=lambda w: {"slot": w.slot.key}),
    "booking:cancel": Hidden(_a, data=lambda w: {"reason": "越权取消"}),
    "booking:rate": Hidden(_a, data=lambda w: {"rating": "1"}),
    "booking:sessions": Page(),
    "booking:outcome": Hidden(_a, data=lambda w: {"to": "no_show"}),
    "booking:book_for": Hidden(
        _person, data=lambda w: {"counsellor": w.counsellor.pk, "slot": w.slot.key}
    ),
    "booking:availability": Page(),
    "booking:availability_remove": Hidden(lambda w: {"pk": w.rule.pk}),
    "booking:availability_exception": Page(data=lambda w: {"date": "2027-01-04"}),
    "booking:budgets": Page(),
    "booking:issue": Hidden(
        _person,
        data=lambda w: {"value": "50", "valid_days": "30", "services": ["counselling"]},
    ),
}
