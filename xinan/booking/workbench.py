"""The counsellor's coming sessions and the service-network pages, on the staff workbench."""

import datetime as dt

from django.utils import timezone

from xinan.booking.models import Appointment, Status
from xinan.core import scope
from xinan.core.workbench import Section, section


@section(order=20)
def my_sessions(request) -> Section | None:
    user = request.user
    if "counsellor" not in user.roles():
        return None
    now = timezone.now()
    today_end = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time.min)
    )
    coming = Appointment.objects.filter(counsellor=user, status__in=[Status.BOOKED, Status.ARRIVED])
    return Section(
        "booking/_workbench.html",
        {
            "today": coming.filter(
                starts_at__lt=today_end, starts_at__gte=now - dt.timedelta(hours=12)
            )
            .select_related("person", "site")
            .order_by("starts_at")[:10],
            "coming": coming.filter(starts_at__gte=now).count(),
        },
    )


@section(order=60)
def network_admin(request) -> Section | None:
    if not scope.admin_prefixes(request.user):
        return None
    return Section("network/_workbench.html", {})
