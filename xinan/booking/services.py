"""Booking rules: availability, booking, rescheduling, cancelling, the session's outcome and
the resident's rating. One transaction each, with its audit row and any outbox row."""

import dataclasses
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.booking import slots, vouchers
from xinan.booking.errors import BookingError
from xinan.booking.models import (
    HOLDING,
    Appointment,
    Availability,
    AvailabilityException,
    Mode,
    Reminder,
    Status,
)
from xinan.booking.topics import SESSION_COMPLETED, SessionCompleted
from xinan.core import audit, outbox, scope
from xinan.network.services import SiteCalendar

REMINDER_LEADS = (("24h", dt.timedelta(hours=24)), ("2h", dt.timedelta(hours=2)))
CHANGE_CUTOFF = dt.timedelta(hours=2)
SOON = dt.timedelta(minutes=15)  # residents change or cancel up to 2 hours before

__all__ = ["BookingError"]


def _is_counsellor(user) -> bool:
    return "counsellor" in user.roles()


def can_manage(actor, counsellor) -> bool:
    """A counsellor manages their own calendar; an area admin those of counsellors in
    their areas."""
    if actor.pk == counsellor.pk:
        return True
    prefixes = scope.admin_prefixes(actor)
    return any(
        m.area_id and any(m.area.code.startswith(p) for p in prefixes)
        for m in counsellor.active_memberships()
    )


# ---------------------------------------------------------------- availability


def set_availability(rule: Availability, *, actor) -> Availability:
    counsellor = rule.counsellor
    if not _is_counsellor(counsellor):
        raise BookingError(_("只有心理咨询师可以开放预约时间"))
    if not can_manage(actor, counsellor):
        raise BookingError(_("您不能修改这位咨询师的预约时间"))
    _check_certificates(counsellor)
    if rule.end <= rule.start:
        raise BookingError(_("结束时间应晚于开始时间"), "end")
    if rule.slot_minutes < 10 or rule.slot_minutes > 240:
        raise BookingError(_("每次时长应在10到240分钟之间"), "slot_minutes")
    length = dt.datetime.combine(dt.date.min, rule.end) - dt.datetime.combine(
        dt.date.min, rule.start
    )
    if length < dt.timedelta(minutes=rule.slot_minutes):
        raise BookingError(_("这段时间放不下一次咨询"), "end")
    if rule.valid_to and rule.valid_to < rule.valid_from:
        raise BookingError(_("截止日期应不早于生效日期"), "valid_to")
    if rule.mode == Mode.SITE:
        if rule.site_id is None:
            raise BookingError(_("到站点面谈须选择站点"), "site")
        if not _rule_within_site_hours(rule):
            raise BookingError(_("这段时间站点不开放，请对照站点开放时间"), "start")
    elif rule.site_id is not None and rule.mode != Mode.SITE:
        rule.site = None
    overlapping = Availability.objects.filter(
        counsellor=counsellor,
        active=True,
        weekday=rule.weekday,
        start__lt=rule.end,
        end__gt=rule.start,
    ).exclude(pk=rule.pk)
    if rule.valid_to:
        overlapping = overlapping.filter(valid_from__lte=rule.valid_to)
    overlapping = [o for o in overlapping if o.valid_to is None or o.valid_to >= rule.valid_from]
    if overlapping:
        o = overlapping[0]
        raise BookingError(
            _("与已有的可预约时间重叠（%(start)s-%(end)s）")
            % {"start": f"{o.start:%H:%M}", "end": f"{o.end:%H:%M}"},
            "start",
        )
    created = rule.pk is None
    with transaction.atomic():
        rule.save()
        audit.record(
            "booking.availability.create" if created else "booking.availability.update",
            rule,
            actor=actor,
            changed_fields=["weekday", "start", "end", "mode", "site"],
        )
    return rule


def _check_certificates(counsellor) -> None:
    """A counsellor registered in the talent database with certificates, all lapsed, may not
    open new times until a current certificate is recorded."""
    professional = getattr(counsellor, "professional", None)
    if professional is None:
        return
    certs = list(professional.certificates.all())
    if certs and not any(c.is_valid() for c in certs):
        raise BookingError(_("资质证书已过期，请先在人才库登记有效证书再开放预约"))


def _rule_within_site_hours(rule: Availability) -> bool:
    calendar = SiteCalendar(rule.site)
    # Test the weekly pattern on a date of the right weekday with no closure.
    intervals = calendar.hours.get(rule.weekday, [])
    return any(o <= rule.start and rule.end <= c for o, c in intervals)


def add_exception(counsellor, *, date, start=None, end=None, note="", actor):
    if not can_manage(actor, counsellor):
        raise BookingError(_("您不能修改这位咨询师的预约时间"))
    if (start is None) != (end is None) or (start and end <= start):
        raise BookingError(_("停诊时段须同时填写开始和结束，且结束晚于开始"))
    with transaction.atomic():
        exc = AvailabilityException.objects.create(
            counsellor=counsellor, date=date, start=start, end=end, note=note
        )
        audit.record("booking.availability.exception", exc, actor=actor, changed_fields=["date"])
    return exc


# ---------------------------------------------------------------- booking


def _check_time(counsellor, starts_at, *, now, site=None, mode=None, ignore=None) -> slots.Slot:
    if starts_at <= now:
        raise BookingError(_("这个时间已经过去，请选择以后的时段"), "slot")
    slot = slots.find_slot(counsellor, starts_at, site=site, mode=mode, now=now, ignore=ignore)
    if slot is None:
        if site is not None and not _site_open_at(site, starts_at):
            raise BookingError(_("站点在这个时间不开放，请选择开放时间内的时段"), "slot")
        raise BookingError(_("这个时段不可预约（可能已被约满），请选择其他时段"), "slot")
    return slot


def _site_open_at(site, starts_at) -> bool:
    return SiteCalendar(site).covers(starts_at, starts_at + dt.timedelta(minutes=1))


def _claim(appointment: Appointment) -> None:
    """Save the appointment; the database refuses a slot already held (unique slot claim,
    and on PostgreSQL the exclusion constraint on overlapping times)."""
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError:
        raise BookingError(_("这个时段刚刚被别人预约了，请选择其他时段"), "slot") from None


def _overlap_held(appointment: Appointment) -> bool:
    return (
        Appointment.objects.filter(
            counsellor_id=appointment.counsellor_id,
            status__in=HOLDING,
            starts_at__lt=appointment.ends_at,
            ends_at__gt=appointment.starts_at,
        )
        .exclude(pk=appointment.pk)
        .exists()
    )


def _schedule_reminders(appointment: Appointment, now) -> None:
    appointment.reminders.filter(sent_at__isnull=True).delete()
    due = [
        Reminder(appointment=appointment, due_at=appointment.starts_at - lead, lead=name)
        for name, lead in REMINDER_LEADS
        if appointment.starts_at - lead > now
    ]
    if not due and appointment.starts_at - now > SOON:
        # Booked less than 2 hours ahead: one reminder at once rather than none.
        due = [Reminder(appointment=appointment, due_at=now, lead="soon")]
    Reminder.objects.bulk_create(due)


def book(
    person,
    *,
    counsellor,
    starts_at: dt.datetime,
    actor,
    site=None,
    mode: str | None = None,
    service: str = "counselling",
    voucher=None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book `person` into a free slot of `counsellor` (a resident for themselves, or staff on
    their behalf), redeeming `voucher` when given."""
    now = now or timezone.now()
    slot = _check_time(counsellor, starts_at, now=now, site=site, mode=mode)
    rule = Availability.objects.get(pk=slot.rule_id)
    appointment = Appointment(
        person=person,
        counsellor=counsellor,
        site_id=slot.site_id,
        mode=slot.mode,
        service=service,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        area_code=person.home_area_id,
        booked_by=actor if getattr(actor, "is_authenticated", False) else None,
        video_url=rule.video_url,
    )
    with transaction.atomic():
        if _overlap_held(appointment):
            raise BookingError(_("这个时段刚刚被别人预约了，请选择其他时段"), "slot")
        _claim(appointment)
        _schedule_reminders(appointment, now)
        if voucher is not None:
            vouchers.redeem(voucher, appointment=appointment, now=now)
        audit.record(
            "booking.appointment.book",
            appointment,
            actor=actor,
            changed_fields=["starts_at", "counsellor", "status"] + (["voucher"] if voucher else []),
        )
    return appointment


def _may_change(appointment: Appointment, actor, now) -> None:
    if appointment.status != Status.BOOKED:
        raise BookingError(_("只有待进行的预约可以改期或取消"))
    staff = getattr(actor, "is_staff_member", False)
    if not staff and appointment.starts_at - now < CHANGE_CUTOFF:
        raise BookingError(_("开始前2小时内不能在线改期或取消，请致电服务点"))


def reschedule(
    appointment: Appointment, *, starts_at: dt.datetime, actor, now: dt.datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    _may_change(appointment, actor, now)
    slot = _check_time(
        appointment.counsellor,
        starts_at,
        now=now,
        site=appointment.site,
        mode=appointment.mode,
        ignore=appointment,
    )
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        _may_change(locked, actor, now)
        locked.rescheduled_from = locked.starts_at
        locked.starts_at, locked.ends_at = slot.starts_at, slot.ends_at
        if _overlap_held(locked):
            raise BookingError(_("这个时段刚刚被别人预约了，请选择其他时段"), "slot")
        try:
            with transaction.atomic():
                locked.save(update_fields=["starts_at", "ends_at", "rescheduled_from"])
        except IntegrityError:
            raise BookingError(_("这个时段刚刚被别人预约了，请选择其他时段"), "slot") from None
        _schedule_reminders(locked, now)
        audit.record(
            "booking.appointment.reschedule", locked, actor=actor, changed_fields=["starts_at"]
        )
    return locked


def cancel(
    appointment: Appointment, *, actor, reason: str = "", now: dt.datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    _may_change(appointment, actor, now)
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        _may_change(locked, actor, now)
        locked.status = Status.CANCELLED
        locked.cancelled_at = now
        locked.cancel_reason = reason[:200]
        locked.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        locked.reminders.filter(sent_at__isnull=True).delete()
        vouchers.release(locked, now=now)
        audit.record(
            "booking.appointment.cancel",
            locked,
            actor=actor,
            changed_fields=["status"],
            reason=reason,
        )
    return locked


# ---------------------------------------------------------------- the session


def _may_record(appointment: Appointment, actor) -> None:
    if not can_manage(actor, appointment.counsellor):
        raise BookingError(_("只有本次咨询的咨询师或区域管理员可以登记"))


def _transition(appointment, *, to: str, allowed: set[str], actor, now, field: str | None):
    _may_record(appointment, actor)
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status not in allowed:
            raise BookingError(
                _("当前状态为“%(status)s”，不能改为“%(to)s”")
                % {"status": locked.get_status_display(), "to": Status(to).label}
            )
        locked.status = to
        fields = ["status"]
        if field:
            setattr(locked, field, now)
            fields.append(field)
        locked.save(update_fields=fields)
        if to == Status.COMPLETED:
            payload = SessionCompleted(
                appointment_id=locked.pk,
                person_id=locked.person_id,
                counsellor_user_id=locked.counsellor_id,
                site_id=locked.site_id,
                started_at=locked.starts_at.isoformat(),
                ended_at=locked.ends_at.isoformat(),
                service=locked.service,
            )
            outbox.emit(SESSION_COMPLETED, dataclasses.asdict(payload))
        if to == Status.NO_SHOW:
            locked.reminders.filter(sent_at__isnull=True).delete()
        audit.record(f"booking.appointment.{to}", locked, actor=actor, changed_fields=fields)
    return locked


def mark_arrived(appointment, *, actor, now=None):
    return _transition(
        appointment,
        to=Status.ARRIVED,
        allowed={Status.BOOKED},
        actor=actor,
        now=now or timezone.now(),
        field="arrived_at",
    )


def complete(appointment, *, actor, now=None):
    now = now or timezone.now()
    if appointment.starts_at > now:
        raise BookingError(_("咨询尚未开始，不能登记为已完成"))
    return _transition(
        appointment,
        to=Status.COMPLETED,
        allowed={Status.BOOKED, Status.ARRIVED},
        actor=actor,
        now=now,
        field="completed_at",
    )


def mark_no_show(appointment, *, actor, now=None):
    now = now or timezone.now()
    if appointment.starts_at > now:
        raise BookingError(_("咨询尚未开始，不能登记为未到"))
    return _transition(
        appointment, to=Status.NO_SHOW, allowed={Status.BOOKED}, actor=actor, now=now, field=None
    )


def rate(appointment: Appointment, *, rating: int, feedback: str = "", actor) -> Appointment:
    person = getattr(actor, "person", None)
    if person is None or person.pk != appointment.person_id:
        raise BookingError(_("只有预约的居民本人可以评价"))
    if appointment.status != Status.COMPLETED:
        raise BookingError(_("咨询完成后才能评价"))
    if appointment.rating is not None:
        raise BookingError(_("您已评价过这次咨询"))
    if rating not in range(1, 6):
        raise BookingError(_("请选择1到5星"), "rating")
    with transaction.atomic():
        appointment.rating, appointment.feedback = rating, feedback[:2000]
        appointment.save(update_fields=["rating", "feedback"])
        audit.record(
            "booking.appointment.rate", appointment, actor=actor, changed_fields=["rating"]
        )
    return appointment
