import datetime as dt

from django.utils import timezone

from xinan.booking import services
from xinan.booking.models import Appointment, Status, Voucher, VoucherBudget
from xinan.core.models import AuditEntry
from xinan.testing import factories


def _budget(area):
    today = timezone.localdate()
    return VoucherBudget.objects.create(
        area=area,
        name="券",
        period_start=today,
        period_end=today + dt.timedelta(days=90),
        total_cents=1000_00,
    )


def test_a_resident_books_from_the_site_with_a_voucher(
    client, areas, resident, station, site_counsellor, free_slots
):
    from xinan.booking import vouchers

    v = vouchers.issue(
        resident,
        budget=_budget(areas["district"]),
        value_cents=150_00,
        valid_days=30,
        services=["counselling"],
        actor=None,
    )
    body = client.get(f"/booking/sites/{station.pk}/").content.decode()
    assert "chen老师" in body and free_slots[0].key in body
    client.force_login(resident.user)
    slot = free_slots[-1]
    url = f"/booking/counsellors/{site_counsellor.pk}/book/?slot={slot.key}"
    body = client.get(url).content.decode()
    assert v.code in body and "确认预约" in body and "华阳路心理驿站" in body
    response = client.post(url, {"slot": slot.key, "service": "counselling", "voucher": v.pk})
    a = Appointment.objects.get()
    assert response.url == f"/booking/appointments/{a.pk}/"
    body = client.get(response.url).content.decode()
    assert (
        "已预约" in body
        and v.code in body
        and timezone.localtime(slot.starts_at).strftime("%H:%M") in body
    )
    body = client.get("/booking/mine/").content.decode()
    assert "chen老师" in body


def test_a_taken_slot_says_so(client, areas, resident, site_counsellor, free_slots):
    other = factories.PersonFactory(home_area=areas["grid_a"])
    services.book(other, counsellor=site_counsellor, starts_at=free_slots[-1].starts_at, actor=None)
    client.force_login(resident.user)
    url = f"/booking/counsellors/{site_counsellor.pk}/book/?slot={free_slots[-1].key}"
    body = client.post(url, {"slot": free_slots[-1].key, "service": "counselling"}).content.decode()
    assert "这个时段不可预约（可能已被约满），请选择其他时段" in body
    assert Appointment.objects.count() == 1


def test_a_resident_sees_only_their_own_appointments(
    client, areas, resident, site_counsellor, free_slots
):
    other = factories.PersonFactory(home_area=areas["grid_a"])
    a = services.book(
        other, counsellor=site_counsellor, starts_at=free_slots[-1].starts_at, actor=None
    )
    client.force_login(resident.user)
    assert client.get(f"/booking/appointments/{a.pk}/").status_code == 404
    assert client.post(f"/booking/appointments/{a.pk}/cancel/").status_code == 404


def test_the_resident_reschedules_cancels_and_rates(client, resident, site_counsellor, free_slots):
    a = services.book(
        resident, counsellor=site_counsellor, starts_at=free_slots[-2].starts_at, actor=None
    )
    client.force_login(resident.user)
    client.post(f"/booking/appointments/{a.pk}/reschedule/", {"slot": free_slots[-1].key})
    a.refresh_from_db()
    assert a.starts_at == free_slots[-1].starts_at
    client.post(f"/booking/appointments/{a.pk}/cancel/", {"reason": "临时出差"})
    a.refresh_from_db()
    assert a.status == Status.CANCELLED and a.cancel_reason == "临时出差"
    b = services.book(
        resident, counsellor=site_counsellor, starts_at=free_slots[-3].starts_at, actor=None
    )
    services.complete(b, actor=site_counsellor, now=b.ends_at)
    body = client.get(f"/booking/appointments/{b.pk}/").content.decode()
    assert "评价这次咨询" in body
    client.post(f"/booking/appointments/{b.pk}/rate/", {"rating": "4", "feedback": "好"})
    b.refresh_from_db()
    assert b.rating == 4


def test_the_counsellor_records_the_session_and_sees_it_delivered(
    client, resident, site_counsellor, free_slots, time_machine
):
    a = services.book(
        resident, counsellor=site_counsellor, starts_at=free_slots[0].starts_at, actor=None
    )
    client.force_login(site_counsellor)
    body = client.get("/booking/sessions/").content.decode()
    assert "周丽" in body and "已完成的咨询（共0次）" in body
    time_machine.move_to(a.ends_at)
    # The first free slot can be more than a session's lifetime (8 h) ahead: sign in again.
    client.force_login(site_counsellor)
    client.post(f"/booking/sessions/{a.pk}/outcome/", {"to": "completed"})
    body = client.get("/booking/sessions/").content.decode()
    assert "已完成的咨询（共1次）" in body
    body = client.get("/workbench/").content.decode()
    assert 'data-testid="booking-workbench"' in body


def test_staff_book_on_a_residents_behalf(
    client, areas, grid_worker, person_a, site_counsellor, free_slots
):
    client.force_login(grid_worker)
    url = f"/booking/people/{person_a.pk}/book/"
    body = client.get(url, {"counsellor": site_counsellor.pk}).content.decode()
    assert "为张三预约心理咨询" in body and free_slots[0].key in body
    client.post(url, {"counsellor": site_counsellor.pk, "slot": free_slots[0].key})
    a = Appointment.objects.get()
    assert (a.person, a.booked_by) == (person_a, grid_worker)
    assert AuditEntry.objects.filter(action="booking.book_for.view", object_id=str(person_a.pk))


def test_it_404s_outside_scope(client, other_grid_worker, person_a, site_counsellor):
    client.force_login(other_grid_worker)
    assert client.get(f"/booking/people/{person_a.pk}/book/").status_code == 404
    response = client.post(
        f"/booking/people/{person_a.pk}/book/", {"counsellor": site_counsellor.pk}
    )
    assert response.status_code == 404 and not Appointment.objects.exists()


def test_the_voucher_hand_issue_404s_outside_scope(client, areas, person_b, town_admin):
    client.force_login(town_admin)
    assert client.get(f"/booking/people/{person_b.pk}/voucher/").status_code == 404


def test_an_admin_issues_a_voucher_and_reconciles(client, areas, person_a, town_admin):
    budget = _budget(areas["town_a"])
    client.force_login(town_admin)
    response = client.post(
        f"/booking/people/{person_a.pk}/voucher/",
        {"budget": budget.pk, "value": "88.80", "valid_days": "30", "services": ["counselling"]},
    )
    assert response.status_code == 302
    assert Voucher.objects.get().value_cents == 88_80
    body = client.get("/booking/vouchers/").content.decode()
    assert "88.80" in body and "该期间没有用券记录" in body
    response = client.get("/booking/vouchers/", {"format": "csv"})
    assert response.content.decode("utf-8-sig").startswith("月份,服务点")


def test_a_counsellor_manages_availability(client, areas, station, counsellor):
    client.force_login(counsellor)
    data = {
        "weekday": "0",
        "start": "09:00",
        "end": "12:00",
        "mode": "site",
        "site": station.pk,
        "slot_minutes": "50",
        "buffer_minutes": "10",
        "daily_limit": "6",
        "valid_from": timezone.localdate().isoformat(),
    }
    assert client.post("/booking/availability/", data).status_code == 302
    data["start"], data["end"] = "11:00", "13:00"
    body = client.post("/booking/availability/", data).content.decode()
    assert "与已有的可预约时间重叠（09:00-12:00）" in body
