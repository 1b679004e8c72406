"""The crisis side of the scope gate: which alerts, calls and callbacks a user may see.

A crisis worker sees what was routed to their areas: rows whose area code lies under one of
their crisis_worker memberships (`xinan.core.scope.area_q`). Rows without an area (an anonymous
screening with no place) belong to the district team and above.
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from xinan.core import scope
from xinan.crisis.models import Alert, CallbackTask, DutyShift, HotlineCall
from xinan.crisis.routing import DISTRICT_PREFIX_LENGTH

CRISIS_ROLE = "crisis_worker"


def crisis_prefixes(user) -> list[str]:
    if not user.is_authenticated:
        return []
    return [m.area.prefix for m in user.active_memberships() if m.role == CRISIS_ROLE and m.area]


def crisis_areas(user):
    return [m.area for m in user.active_memberships() if m.role == CRISIS_ROLE and m.area]


def _q(user, field: str = "area_code") -> Q | None:
    prefixes = crisis_prefixes(user)
    if not prefixes:
        return None
    q = scope.area_q(prefixes, field)
    if any(len(p) <= DISTRICT_PREFIX_LENGTH for p in prefixes):
        q |= Q(**{field: ""})
    return q


def _narrow(user, queryset: QuerySet, field: str = "area_code", held: Q | None = None) -> QuerySet:
    """Rows in the user's crisis areas, plus those handed to them (`held`): a fallback lead
    or area admin who receives an alert when nobody is on duty sees exactly what they hold."""
    q = _q(user, field)
    if held is not None and user.is_authenticated:
        q = held if q is None else q | held
    return queryset.none() if q is None else queryset.filter(q)


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


def calls(user) -> QuerySet:
    return _narrow(user, HotlineCall.objects.all())


def get_call(user, pk) -> HotlineCall:
    try:
        return calls(user).select_related("person", "counsellor").get(pk=int(pk))
    except (HotlineCall.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def callbacks(user) -> QuerySet:
    held = Q(assigned_to_id=user.pk) | Q(alert__assigned_to_id=user.pk)
    return _narrow(user, CallbackTask.objects.all(), held=held)


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
