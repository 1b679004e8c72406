import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from xinan.booking import services, slots, sweeps
from xinan.booking.models import Appointment, Availability, Reminder, Status
from xinan.booking.topics import SESSION_COMPLETED
from xinan.core.events import Event
from xinan.core.models import AuditEntry, OutboxEvent
from xinan.network.models import Certificate, Professional
from xinan.testing import factories


def book(resident, counsellor, slot, **kwargs):
    return services.book(
        resident, counsellor=counsellor, starts_at=slot.starts_at, actor=resident.user, **kwargs
    )


def test_it_offers_slots_by_rule_with_buffers_and_stores_utc(site_counsellor, free_slots):
    first_day = [s for s in free_slots if s.local.date() == free_slots[-1].local.date()]
    # 9:00–17:00, 50 minutes and a 10 minute buffer: 9:00, 10:00 … 16:00, capped at 8 a day.
    assert [f"{s.local:%H:%M}" for s in first_day] == [f"{h:02d}:00" for h in range(9, 17)]
    assert all(s.starts_at.tzinfo == dt.UTC for s in free_slots)
    assert first_day[0].starts_at.hour == 1  # 09:00 in Shanghai is 01:00 UTC


def test_it_books_a_slot_with_reminders_and_an_audit_row(resident, site_counsellor, free_slots):
    slot = free_slots[-1]
    a = book(resident, site_counsellor, slot, site=None)
    assert (a.status, a.starts_at, a.site.name) == (Status.BOOKED, slot.starts_at, "华阳路心理驿站")
    assert sorted(r.lead for r in a.reminders.all()) == ["24h", "2h"]
    assert AuditEntry.objects.filter(action="booking.appointment.book", object_id=str(a.pk))
    assert slot not in slots.slots_for(site_counsellor)


def test_it_refuses_a_slot_in_the_past(resident, site_counsellor):
    yesterday = timezone.now() - dt.timedelta(days=1)
    with pytest.raises(services.BookingError) as exc:
        services.book(
            resident, counsellor=site_counsellor, starts_at=yesterday, actor=resident.user
        )
    assert exc.value.message == "这个时间已经过去，请选择以后的时段"
    assert not Appointment.objects.exists()


def test_it_refuses_a_booking_outside_the_sites_hours(areas, resident):
    site = factories.service_site(areas["town_a"], "午后驿站", hours="每天 13:00-17:00")
    counsellor = factories.counsellor_with_hours(
        areas["town_a"], site, username="wu", start=dt.time(13, 0)
    )
    morning = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() + dt.timedelta(days=2), dt.time(10, 0))
    )
    with pytest.raises(services.BookingError) as exc:
        services.book(
            resident, counsellor=counsellor, starts_at=morning, site=site, actor=resident.user
        )
    assert exc.value.message == "站点在这个时间不开放，请选择开放时间内的时段"
    assert not Appointment.objects.exists()


def test_it_refuses_a_second_booking_of_the_same_slot(resident, site_counsellor, free_slots):
    book(resident, site_counsellor, free_slots[-1])
    other = factories.PersonFactory(home_area=resident.home_area)
    with pytest.raises(services.BookingError) as exc:
        services.book(
            other, counsellor=site_counsellor, starts_at=free_slots[-1].starts_at, actor=None
        )
    assert "不可预约" in exc.value.message
    assert Appointment.objects.count() == 1


def test_the_database_refuses_a_double_claim(resident, site_counsellor, free_slots):
    a = book(resident, site_counsellor, free_slots[-1])
    twin = Appointment(
        person=resident,
        counsellor=site_counsellor,
        mode="site",
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        area_code=a.area_code,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
    twin.status = Status.CANCELLED  # a cancelled appointment holds no time
    twin.save()


@pytest.mark.postgres
def test_postgresql_refuses_overlapping_times(resident, site_counsellor, free_slots):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=$XINAN_TEST_PG_URL)")
    a = book(resident, site_counsellor, free_slots[-1])
    overlapping = Appointment(
        person=resident,
        counsellor=site_counsellor,
        mode="site",
        starts_at=a.starts_at + dt.timedelta(minutes=20),
        ends_at=a.ends_at + dt.timedelta(minutes=20),
        area_code=a.area_code,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        overlapping.save()


def test_reschedule_replaces_the_reminders(resident, site_counsellor, free_slots):
    a = book(resident, site_counsellor, free_slots[-2])
    old = set(a.reminders.values_list("due_at", flat=True))
    a = services.reschedule(a, starts_at=free_slots[-1].starts_at, actor=resident.user)
    new = set(a.reminders.values_list("due_at", flat=True))
    assert (
        a.starts_at == free_slots[-1].starts_at and a.rescheduled_from == free_slots[-2].starts_at
    )
    assert new == {a.starts_at - dt.timedelta(hours=24), a.starts_at - dt.timedelta(hours=2)}
    assert not (old & new) and Reminder.objects.count() == 2


def test_a_booking_less_than_two_hours_ahead_gets_one_reminder_at_once(
    resident, site_counsellor, free_slots
):
    slot = free_slots[-1]
    now = slot.starts_at - dt.timedelta(minutes=90)
    a = services.book(
        resident, counsellor=site_counsellor, starts_at=slot.starts_at, actor=None, now=now
    )
    assert [(r.lead, r.due_at) for r in a.reminders.all()] == [("soon", now)]
    assert sweeps.send_reminders(now) == 1


def test_the_reminder_sweep_sends_each_reminder_once(resident, site_counsellor, free_slots):
    a = book(resident, site_counsellor, free_slots[-1])
    due = a.starts_at - dt.timedelta(hours=24)
    assert sweeps.send_reminders(due - dt.timedelta(minutes=1)) == 0
    assert sweeps.send_reminders(due) == 1
    assert sweeps.send_reminders(due + dt.timedelta(minutes=1)) == 0
    event = OutboxEvent.objects.get(topic="booking.reminder_due")
    assert event.payload["appointment_id"] == a.pk and event.payload["lead"] == "24h"


def test_residents_cannot_cancel_shortly_before_but_staff_can(
    resident, site_counsellor, free_slots
):
    a = book(resident, site_counsellor, free_slots[-1])
    just_before = a.starts_at - dt.timedelta(minutes=90)
    with pytest.raises(services.BookingError) as exc:
        services.cancel(a, actor=resident.user, now=just_before)
    assert exc.value.message == "开始前2小时内不能在线改期或取消，请致电服务点"
    a = services.cancel(a, actor=site_counsellor, reason="咨询师临时有事", now=just_before)
    assert a.status == Status.CANCELLED and not a.reminders.exists()
    assert free_slots[-1] in slots.slots_for(site_counsellor)  # the slot is free again


def test_completing_a_session_emits_it_for_the_case(resident, site_counsellor, free_slots):
    a = book(resident, site_counsellor, free_slots[-1])
    with pytest.raises(services.BookingError):
        services.complete(a, actor=site_counsellor)  # not started yet
    after = a.ends_at + dt.timedelta(minutes=5)
    a = services.complete(a, actor=site_counsellor, now=after)
    event = OutboxEvent.objects.get(topic=SESSION_COMPLETED)
    assert event.payload == {
        "appointment_id": a.pk,
        "person_id": resident.pk,
        "counsellor_user_id": site_counsellor.pk,
        "site_id": a.site_id,
        "started_at": a.starts_at.isoformat(),
        "ended_at": a.ends_at.isoformat(),
        "service": "counselling",
    }
    assert Event(id=event.pk, topic=event.topic, payload=event.payload).payload["person_id"]
    with pytest.raises(services.BookingError) as exc:
        services.complete(a, actor=site_counsellor, now=after)
    assert (
        "已完成" in exc.value.message
        and OutboxEvent.objects.filter(topic=SESSION_COMPLETED).count() == 1
    )


def test_only_the_counsellor_records_the_outcome(areas, resident, site_counsellor, free_slots):
    a = book(resident, site_counsellor, free_slots[-1])
    stranger = factories.staff("counsellor", area=areas["town_b"], username="other")
    with pytest.raises(services.BookingError):
        services.mark_no_show(a, actor=stranger, now=a.ends_at)
    assert services.mark_no_show(a, actor=site_counsellor, now=a.ends_at).status == Status.NO_SHOW


def test_the_resident_rates_a_completed_session_once(resident, site_counsellor, free_slots):
    a = book(resident, site_counsellor, free_slots[-1])
    with pytest.raises(services.BookingError) as exc:
        services.rate(a, rating=5, actor=resident.user)
    assert exc.value.message == "咨询完成后才能评价"
    services.complete(a, actor=site_counsellor, now=a.ends_at)
    a.refresh_from_db()
    services.rate(a, rating=5, feedback="很有帮助", actor=resident.user)
    with pytest.raises(services.BookingError):
        services.rate(a, rating=1, actor=resident.user)
    a.refresh_from_db()
    assert (a.rating, a.feedback) == (5, "很有帮助")


def _rule(counsellor, site, **kwargs):
    values = {
        "counsellor": counsellor,
        "mode": "site",
        "site": site,
        "weekday": 0,
        "start": dt.time(9, 0),
        "end": dt.time(12, 0),
        "valid_from": timezone.localdate(),
    }
    values.update(kwargs)
    return Availability(**values)


def test_it_refuses_overlapping_availability(areas, station, counsellor):
    services.set_availability(_rule(counsellor, station), actor=counsellor)
    with pytest.raises(services.BookingError) as exc:
        services.set_availability(
            _rule(counsellor, station, start=dt.time(11, 0), end=dt.time(13, 0)), actor=counsellor
        )
    assert exc.value.message == "与已有的可预约时间重叠（09:00-12:00）"
    assert Availability.objects.count() == 1


def test_it_refuses_availability_when_the_site_is_closed(areas, counsellor):
    site = factories.service_site(areas["town_a"], "上午驿站", hours="周一 9:00-12:00")
    with pytest.raises(services.BookingError) as exc:
        services.set_availability(
            _rule(counsellor, site, start=dt.time(14, 0), end=dt.time(17, 0)), actor=counsellor
        )
    assert exc.value.message == "这段时间站点不开放，请对照站点开放时间"


def test_it_refuses_availability_on_a_lapsed_certificate(areas, station, counsellor):
    p = Professional.objects.create(
        name="陈", kind="counsellor", area=areas["town_a"], user=counsellor
    )
    Certificate.objects.create(
        professional=p,
        name="心理咨询师",
        number="X1",
        issuer="人社局",
        expires_on=timezone.localdate() - dt.timedelta(days=1),
    )
    with pytest.raises(services.BookingError) as exc:
        services.set_availability(_rule(counsellor, station), actor=counsellor)
    assert "资质证书已过期" in exc.value.message
    assert not Availability.objects.exists()


def test_a_full_day_shows_no_more_slots(areas, resident):
    site = factories.service_site(areas["town_a"], "驿站二")
    c = factories.counsellor_with_hours(areas["town_a"], site, username="lim", daily_limit=2)
    day = slots.slots_for(c, site=site)[-1].local.date()
    todays = [s for s in slots.slots_for(c, site=site) if s.local.date() == day]
    assert len(todays) == 8
    for s in todays[:2]:
        book(resident, c, s)
    assert [s for s in slots.slots_for(c, site=site) if s.local.date() == day] == []


def test_an_exception_blocks_the_day(site_counsellor, station, free_slots):
    day = free_slots[-1].local.date()
    services.add_exception(site_counsellor, date=day, actor=site_counsellor, note="外出培训")
    assert all(s.local.date() != day for s in slots.slots_for(site_counsellor, site=station))
