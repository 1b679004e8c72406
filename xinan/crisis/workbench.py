"""The crisis worklist on the staff workbench: alerts and callbacks the user holds now.

Also how a fallback (a team lead or an area admin who is not on the crisis desk) finds the
alerts handed to them when nobody was on duty.
"""

from django.utils import timezone

from xinan.core.workbench import Section, section
from xinan.crisis import selectors
from xinan.crisis.models import Alert, CallbackTask


@section(order=10)
def my_crisis_work(request) -> Section | None:
    user = request.user
    roles = user.roles()
    if not ({"crisis_worker", "area_admin"} & roles):
        return None
    held = list(
        Alert.objects.active().filter(assigned_to=user).order_by("status", "-raised_at")[:20]
    )
    callbacks = list(
        CallbackTask.objects.pending()
        .filter(task__assignee=user)
        .select_related("task")
        .order_by("task__due_at")[:20]
    )
    if not held and not callbacks and "crisis_worker" not in roles:
        return None
    now = timezone.now()
    for a in held:
        a.overdue = a.is_late(now)
    return Section(
        "crisis/_workbench.html",
        {"held": held, "callbacks": callbacks, "now": now, "desk": selectors.CRISIS_ROLE in roles},
    )
