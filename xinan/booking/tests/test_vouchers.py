import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from xinan.booking import consumers, services, sweeps, vouchers
from xinan.booking.models import Appointment, Voucher, VoucherBudget, VoucherRule, VoucherStatus
from xinan.core.events import Event
from xinan.people.models import PopulationTag
from xinan.testing import factories


@pytest.fixture
def budget(areas):
    today = timezone.localdate()
    return VoucherBudget.objects.create(
        area=areas["district"],
        name="长宁区嘉心券",
        period_start=today - dt.timedelta(days=30),
        period_end=today + dt.timedelta(days=300),
        total_cents=1000_00,
    )


def issue(person, budget, cents=150_00, **kwargs):
    kwargs.setdefault("valid_days", 90)
    kwargs.setdefault("services", ["counselling"])
    return vouchers.issue(person, budget=budget, value_cents=cents, actor=None, **kwargs)


def test_it_reads_money_exactly():
    assert vouchers.parse_yuan("49.9") == 4990 and vouchers.parse_yuan("50元") == 5000
    assert vouchers.yuan(4990) == "49.90"
    with pytest.raises(services.BookingError):
        vouchers.parse_yuan("1.234")


def test_issuing_draws_on_the_budget_and_stops_at_its_end(resident, budget):
    for _ in range(6):
        issue(resident, budget)
    budget.refresh_from_db()
    assert budget.issued_cents == 900_00
    with pytest.raises(services.BookingError) as exc:
        issue(resident, budget)
    assert exc.value.message == "预算余额不足，无法发券"
    budget.refresh_from_db()
    assert budget.issued_cents == 900_00 and Voucher.objects.count() == 6


def test_it_redeems_at_booking_and_releases_on_cancellation(
    resident, site_counsellor, free_slots, budget
):
    v = issue(resident, budget)
    a = services.book(
        resident,
        counsellor=site_counsellor,
        starts_at=free_slots[-1].starts_at,
        voucher=v,
        actor=resident.user,
    )
    v.refresh_from_db()
    budget.refresh_from_db()
    assert (v.status, v.appointment, budget.redeemed_cents) == ("redeemed", a, 150_00)
    services.cancel(a, actor=resident.user)
    v.refresh_from_db()
    budget.refresh_from_db()
    assert (v.status, v.appointment, budget.redeemed_cents) == ("issued", None, 0)


def test_a_voucher_from_another_area_is_refused_and_nothing_is_booked(
    areas, resident, site_counsellor, free_slots
):
    today = timezone.localdate()
    xinjing = VoucherBudget.objects.create(
        area=areas["town_b"],
        name="新泾镇券",
        period_start=today,
        period_end=today + dt.timedelta(days=30),
        total_cents=500_00,
    )
    elsewhere = factories.PersonFactory(home_area=areas["grid_b"])
    v = issue(elsewhere, xinjing)
    v.person = resident  # a voucher that somehow reached a 华阳路 resident
    v.save()
    with pytest.raises(services.BookingError) as exc:
        services.book(
            resident,
            counsellor=site_counsellor,
            starts_at=free_slots[-1].starts_at,
            voucher=v,
            actor=resident.user,
        )
    assert exc.value.message == "这张券只能在新泾镇使用，不能用于其他区划的服务点"
    assert not Appointment.objects.exists()
    v.refresh_from_db()
    assert v.status == "issued"


def test_a_voucher_is_never_redeemed_twice(resident, site_counsellor, free_slots, budget):
    v = issue(resident, budget)
    services.book(
        resident,
        counsellor=site_counsellor,
        starts_at=free_slots[-1].starts_at,
        voucher=v,
        actor=resident.user,
    )
    with pytest.raises(services.BookingError) as exc:
        services.book(
            resident,
            counsellor=site_counsellor,
            starts_at=free_slots[-2].starts_at,
            voucher=v,
            actor=resident.user,
        )
    assert exc.value.message == "这张券已使用或已过期"
    assert Appointment.objects.count() == 1
    budget.refresh_from_db()
    assert budget.redeemed_cents == 150_00


def test_the_sweep_expires_unused_vouchers_and_returns_the_money(resident, budget):
    v = issue(resident, budget, valid_days=10)
    assert sweeps.expire_vouchers(v.expires_at - dt.timedelta(seconds=1)) == 0
    assert sweeps.expire_vouchers(v.expires_at) == 1
    assert sweeps.expire_vouchers(v.expires_at) == 0
    v.refresh_from_db()
    budget.refresh_from_db()
    assert v.status == VoucherStatus.EXPIRED and budget.issued_cents == 0


def test_reconciliation_adds_up_to_the_cent(resident, site_counsellor, free_slots, budget):
    for cents, slot in zip([150_00, 99_99, 33_33], free_slots[-3:], strict=True):
        services.book(
            resident,
            counsellor=site_counsellor,
            starts_at=slot.starts_at,
            voucher=issue(resident, budget, cents),
            actor=resident.user,
        )
    today = timezone.localdate()
    rows = vouchers.reconciliation("310105", start=today, end=today)
    assert [(r.site, r.sessions, r.cents) for r in rows] == [("华阳路心理驿站", 3, 283_32)]
    budget.refresh_from_db()
    assert budget.redeemed_cents == 283_32 and rows[0].yuan == "283.32"


def _scored(event_id, person, positive=True):
    return Event(
        id=event_id,
        topic="assessment.scored",
        payload={"person_id": person.pk, "positive": positive, "area_code": person.home_area_id},
    )


def test_a_positive_screen_in_the_target_population_gets_a_voucher_once(resident, budget):
    elderly = PopulationTag.objects.get(code="elderly")
    VoucherRule.objects.create(budget=budget, tag=elderly, value_cents=200_00)
    consumers.voucher_for_positive_screen(_scored(1, resident))
    assert not Voucher.objects.exists()  # not in the target population
    resident.tags.add(elderly)
    consumers.voucher_for_positive_screen(_scored(2, resident, positive=False))
    assert not Voucher.objects.exists()
    consumers.voucher_for_positive_screen(_scored(3, resident))
    consumers.voucher_for_positive_screen(_scored(3, resident))  # delivered twice
    v = Voucher.objects.get()
    assert (v.person, v.value_cents, v.source_event_id) == (resident, 200_00, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_spend_a_voucher_twice(areas, _reseed):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=$XINAN_TEST_PG_URL)")
    from xinan.accounts.services import register_resident

    station = factories.service_site(areas["town_a"], "华阳路心理驿站")
    counsellor = factories.counsellor_with_hours(areas["town_a"], station, username="c1")
    user = register_resident(phone="13700002222", password="Resident2026x")
    person = factories.PersonFactory(home_area=areas["grid_a"], user=user)
    today = timezone.localdate()
    budget = VoucherBudget.objects.create(
        area=areas["district"],
        name="券",
        period_start=today,
        period_end=today + dt.timedelta(days=60),
        total_cents=10_000_00,
    )
    v = issue(person, budget, 123_45)
    from xinan.booking import slots

    free = slots.slots_for(counsellor, site=station)[:8]
    results = []
    barrier = threading.Barrier(len(free))

    def attempt(slot):
        barrier.wait()
        try:
            services.book(
                person, counsellor=counsellor, starts_at=slot.starts_at, voucher=v, actor=user
            )
            results.append("ok")
        except services.BookingError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(s,)) for s in free]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    budget.refresh_from_db()
    assert results.count("ok") == 1 and Appointment.objects.count() == 1
    assert budget.redeemed_cents == 123_45
