"""The booking app's part of a person's data export and erasure (PIPL, issue 11)."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from xinan.booking import privacy
from xinan.booking.models import Appointment, Status, Voucher, VoucherBudget
from xinan.people import services_privacy
from xinan.people.services import PersonError

REASON = "本人书面申请，2026-12-01受理"


def raw(table: str, column: str, pk: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def appointment(person, counsellor, starts_at, **values) -> Appointment:
    return Appointment.objects.create(
        person=person,
        counsellor=counsellor,
        mode="online",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=50),
        area_code=person.home_area_id,
        **values,
    )


@pytest.fixture
def past(resident, site_counsellor, areas):
    """A completed, rated session paid with a voucher."""
    start = timezone.now() - dt.timedelta(days=7)
    done = appointment(
        resident,
        site_counsellor,
        start,
        status=Status.COMPLETED,
        completed_at=start + dt.timedelta(minutes=50),
        rating=5,
        feedback="陈老师很耐心，我妈妈的事好多了",
    )
    budget = VoucherBudget.objects.create(
        area=areas["town_a"],
        name="2026年心理服务券",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
        total_cents=1_000_000,
    )
    voucher = Voucher.objects.create(
        code="XA-0001",
        person=resident,
        budget=budget,
        area=areas["town_a"],
        value_cents=20000,
        services=",counselling,",
        expires_at=start + dt.timedelta(days=90),
        status="redeemed",
        appointment=done,
        redeemed_at=start,
    )
    return done, voucher


def test_it_exports_the_persons_appointments_and_vouchers_and_not_anothers(
    past, person_b, site_counsellor
):
    done, voucher = past
    appointment(person_b, site_counsellor, timezone.now() - dt.timedelta(days=3), feedback="别人的")
    data = privacy.export_person(done.person)
    assert [(a["id"], a["rating"], a["feedback"]) for a in data["appointments"]] == [
        (done.pk, 5, "陈老师很耐心，我妈妈的事好多了")
    ]
    assert [(v["code"], v["value_cents"]) for v in data["vouchers"]] == [("XA-0001", 20000)]
    other = privacy.export_person(person_b)
    assert [a["feedback"] for a in other["appointments"]] == ["别人的"] and other["vouchers"] == []


def test_it_erases_feedback_and_keeps_ratings_and_voucher_amounts(past, district_admin):
    done, voucher = past
    services_privacy.erase_person(done.person, actor=district_admin, reason=REASON)
    assert raw("booking_appointment", "feedback", done.pk) == ""
    kept = Appointment.objects.get(pk=done.pk)
    assert (kept.status, kept.rating, kept.starts_at) == (Status.COMPLETED, 5, done.starts_at)
    voucher.refresh_from_db()
    assert (voucher.value_cents, voucher.status, voucher.appointment_id) == (
        20000,
        "redeemed",
        done.pk,
    )


def test_an_appointment_still_ahead_blocks_erasure(past, site_counsellor, district_admin):
    done, _ = past
    appointment(done.person, site_counsellor, timezone.now() + dt.timedelta(days=2))
    with pytest.raises(PersonError, match="尚未进行的咨询预约"):
        services_privacy.erase_person(done.person, actor=district_admin, reason=REASON)
    assert raw("booking_appointment", "feedback", done.pk) == "陈老师很耐心，我妈妈的事好多了"
