"""The SMD worklist on the staff workbench (我的待办): due, overdue and unstable patients."""

import datetime as dt

from django.utils import timezone

from xinan.core.workbench import Section, section
from xinan.smd import visibility
from xinan.smd.models import Classification, PatientStatus, ReportStatus


@section(order=20)
def smd_follow_ups(request) -> Section | None:
    user = request.user
    if not user.is_authenticated or not visibility.can_flag(user):
        return None
    if not visibility.can_record(user):
        flagged = visibility.patients(user, need=visibility.SmdDetail.FLAG).filter(
            status=PatientStatus.ACTIVE
        )
        return Section(
            "smd/_workbench_flags.html",
            {"total": flagged.count(), "high": flagged.filter(current_risk__gte=3).count()},
        )
    now = timezone.now()
    active = visibility.patients(user).filter(status=PatientStatus.ACTIVE)
    soon = now + dt.timedelta(days=7)
    due = list(
        active.filter(due_at__lt=soon).select_related("person__home_area").order_by("due_at")[:10]
    )
    from xinan.crisis.models import Alert

    alerted = list(
        active.filter(person__in=Alert.objects.active().values("person_id"))
        .select_related("person")
        .order_by("pk")[:10]
    )
    return Section(
        "smd/_workbench.html",
        {
            "due": due,
            "now": now,
            "overdue": active.filter(due_at__lt=now).count(),
            "due_week": active.filter(due_at__lt=soon).count(),
            "unstable": active.filter(current_class=Classification.UNSTABLE).count(),
            "total": active.count(),
            "alerted": alerted,
            "reports": visibility.reports(user).filter(status=ReportStatus.PENDING).count(),
            "emergencies": visibility.emergencies(user).filter(completed_at__isnull=True).count(),
        },
    )
