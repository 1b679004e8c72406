"""Booking rows a user may see, each gated by who the user is: a resident sees their own
appointments and vouchers (through their own Person record), a counsellor the appointments
booked with them, an area admin those of counsellors in their areas. Views use these instead
of the managers (the scope-gate bypass test checks)."""

import datetime as dt

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from xinan.booking.models import Appointment, Reminder, Status, Voucher, VoucherStatus


def _own_person(user):
    return getattr(user, "person", None) if user.is_authenticated else None


def own_appointments(user):
    person = _own_person(user)
    if person is None:
        return Appointment.objects.none()
    return Appointment.objects.filter(person=person).select_related("site", "counsellor")


def own_appointment(user, pk) -> Appointment:
    if _own_person(user) is None:
        raise Http404
    return get_object_or_404(own_appointments(user), pk=pk)


def own_usable_vouchers(user, now=None):
    person = _own_person(user)
    if person is None:
        return Voucher.objects.none()
    return Voucher.objects.filter(
        person=person, status=VoucherStatus.ISSUED, expires_at__gt=now or timezone.now()
    )


def own_sent_reminders(user, now=None):
    person = _own_person(user)
    if person is None:
        return Reminder.objects.none()
    return Reminder.objects.filter(
        appointment__person=person,
        sent_at__isnull=False,
        appointment__status=Status.BOOKED,
        appointment__starts_at__gte=now or timezone.now(),
    ).select_related("appointment")


def counsellor_appointments(user):
    return Appointment.objects.filter(counsellor=user).select_related("site", "person")


def appointment_to_record(user, pk) -> Appointment:
    """An appointment whose outcome the user may record (theirs, or an admin's counsellor's)."""
    from xinan.booking.services import can_manage

    a = get_object_or_404(Appointment.objects.select_related("counsellor"), pk=pk)
    if not can_manage(user, a.counsellor):
        raise Http404
    return a


def voucher_of(appointment: Appointment):
    return Voucher.objects.filter(appointment=appointment).first()


def today_for_counsellor(user, now=None):
    now = now or timezone.now()
    end = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time.min)
    )
    coming = counsellor_appointments(user).filter(status__in=[Status.BOOKED, Status.ARRIVED])
    return coming, coming.filter(starts_at__lt=end, starts_at__gte=now - dt.timedelta(hours=12))
