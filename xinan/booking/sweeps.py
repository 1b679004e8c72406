"""Booking's periodic sweeps: reminders before a session, voucher expiry."""

import dataclasses
import datetime as dt

from django.db import transaction
from django.utils import timezone

from xinan.booking import vouchers
from xinan.booking.models import Reminder, Status
from xinan.booking.topics import REMINDER_DUE, ReminderDue
from xinan.core import outbox
from xinan.core.schedule import periodic


@periodic("booking.send_reminders", every=dt.timedelta(minutes=1))
def send_reminders(now: dt.datetime) -> int:
    """Claim each due, unsent reminder (a conditional UPDATE: two workers never both send it)
    and hand it to the notifiers through the outbox."""
    now = now or timezone.now()
    sent = 0
    due = Reminder.objects.filter(
        sent_at__isnull=True, due_at__lte=now, appointment__status=Status.BOOKED
    ).select_related("appointment")[:500]
    for reminder in due:
        with transaction.atomic():
            if not Reminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).update(
                sent_at=now
            ):
                continue
            a = reminder.appointment
            payload = ReminderDue(
                appointment_id=a.pk,
                person_id=a.person_id,
                starts_at=a.starts_at.isoformat(),
                lead=reminder.lead,
            )
            outbox.emit(REMINDER_DUE, dataclasses.asdict(payload))
            sent += 1
    return sent


@periodic("booking.expire_vouchers", every=dt.timedelta(hours=1))
def expire_vouchers(now: dt.datetime) -> int:
    return vouchers.expire_due(now or timezone.now())
