"""The crisis side of the scope gate: which alerts, calls and callbacks a user may see.

A crisis worker sees what was routed to their areas: rows whose area code lies under one of
their crisis_worker memberships. Rows without an area (an anonymous screening with no place)
belong to the district team and above. The rule is the gate's (`scope.within_role_areas`);
this module only names the crisis role and the crisis rows.
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from xinan.core import scope
from xinan.crisis.models import Alert, AlertEvent, CallbackTask, DutyShift, HotlineCall
from xinan.crisis.routing import DISTRICT_PREFIX_LENGTH

CRISIS_ROLE = "crisis_worker"


def crisis_prefixes(user) -> list[str]:
    return scope.role_prefixes(user, {CRISIS_ROLE})


def crisis_areas(user):
    return [m.area for m in user.active_memberships() if m.role == CRISIS_ROLE and m.area]


def _narrow(user, queryset: QuerySet, field: str = "area_code", held: Q | None = None) -> QuerySet:
    """Rows in the user's crisis areas, plus those handed to them (`held`): a fallback lead
    or area admin who receives an alert when nobody is on duty sees exactly what they hold."""
    scoped = scope.within_role_areas(
        user, queryset, roles={CRISIS_ROLE}, field=field, unplaced_up_to=DISTRICT_PREFIX_LENGTH
    )
    if held is None or not user.is_authenticated:
        return scoped
    return scoped | queryset.filter(held)


def alerts(user) -> QuerySet:
    return _narrow(user, Alert.objects.all(), held=Q(assigned_to_id=user.pk))


def get_alert(user, pk, *, for_update: bool = False) -> Alert:
    qs = alerts(user).select_related("person", "assigned_to", "acknowledged_by")
    if for_update:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=int(pk))
    except (Alert.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def feed_events(user, since: int, kinds) -> QuerySet:
    """Events after `since` of the kinds a board row shows, on alerts the user may see."""
    return AlertEvent.objects.filter(id__gt=since, kind__in=kinds, alert__in=alerts(user))


def latest_event_id() -> int:
    """Where a board starts polling from: the newest event id (it carries nothing else)."""
    return AlertEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def calls(user) -> QuerySet:
    return _narrow(user, HotlineCall.objects.all())


def get_call(user, pk) -> HotlineCall:
    try:
        return calls(user).select_related("person", "counsellor").get(pk=int(pk))
    except (HotlineCall.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def callbacks(user) -> QuerySet:
    held = Q(task__assignee_id=user.pk) | Q(alert__assigned_to_id=user.pk)
    return _narrow(user, CallbackTask.objects.select_related("task"), held=held)


def get_callback(user, pk) -> CallbackTask:
    try:
        return callbacks(user).get(pk=int(pk))
    except (CallbackTask.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def shifts(user) -> QuerySet:
    return _narrow(user, DutyShift.objects.select_related("user", "area"), "area__code")


def get_shift(user, pk) -> DutyShift:
    try:
        return shifts(user).get(pk=int(pk))
    except (DutyShift.DoesNotExist, TypeError, ValueError):
        raise Http404 from None
