"""The booking app's part of a person's data export and erasure (xinan/core/privacy.py):
appointments with their ratings and feedback, and vouchers; no erasure while an appointment is
still ahead."""

from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.booking.models import Appointment, Status, Voucher
from xinan.core import privacy
from xinan.core.lib import jsonsafe

APPOINTMENT_FIELDS = [
    "id",
    "counsellor_id",
    "site_id",
    "mode",
    "service",
    "starts_at",
    "ends_at",
    "status",
    "created_at",
    "arrived_at",
    "completed_at",
    "cancelled_at",
    "cancel_reason",
    "rating",
    "feedback",
]


@privacy.blocker("booking")
def future_appointments(person) -> str | None:
    n = Appointment.objects.filter(
        person=person, status__in=[Status.BOOKED, Status.ARRIVED], ends_at__gt=timezone.now()
    ).count()
    if n:
        return _("该居民有 %(n)d 个尚未进行的咨询预约，须先取消或完成后才能删除") % {"n": n}
    return None


@privacy.exporter("booking")
def export_person(person) -> dict:
    return {
        "appointments": jsonsafe.rows(
            Appointment.objects.filter(person=person).order_by("starts_at"), APPOINTMENT_FIELDS
        ),
        "vouchers": jsonsafe.rows(
            Voucher.objects.filter(person=person).order_by("issued_at"),
            ["code", "value_cents", "services", "issued_at", "expires_at", "status", "redeemed_at"],
        ),
    }


@privacy.eraser("booking")
def erase_person(person, *, actor) -> None:
    """Times, statuses, services, ratings and voucher amounts stay (for the counts and the
    budget's reconciliation); feedback, cancellation reasons and video links go."""
    Appointment.objects.filter(person=person).update(feedback="", cancel_reason="", video_url="")
