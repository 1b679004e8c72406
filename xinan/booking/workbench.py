"""The counsellor's coming sessions and the service-network pages, on the staff workbench."""

from django.utils import timezone

from xinan.booking import selectors
from xinan.core import scope
from xinan.core.workbench import Section, section


@section(order=20)
def my_sessions(request) -> Section | None:
    user = request.user
    if "counsellor" not in user.roles():
        return None
    now = timezone.now()
    coming, today = selectors.today_for_counsellor(user, now)
    return Section(
        "booking/_workbench.html",
        {
            "today": today.order_by("starts_at")[:10],
            "coming": coming.filter(starts_at__gte=now).count(),
        },
    )


@section(order=60)
def network_admin(request) -> Section | None:
    if not scope.admin_prefixes(request.user):
        return None
    return Section("network/_workbench.html", {})
