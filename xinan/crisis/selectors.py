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


# How far below the newest id a board looks for events not yet committed, and how many such
# gaps it asks about at once. On PostgreSQL an id comes from a sequence when the row is
# inserted, so a transaction that inserted first can commit after one that inserted later: a
# board that moved past the later id would never see the earlier one. Gaps left by a rollback
# are never filled; the board stops asking after FEED_GAP_SECONDS.
FEED_GAP_SPAN = 500
FEED_GAP_LIMIT = 50
FEED_GAP_SECONDS = 60


def feed_events(user, kinds, ids) -> QuerySet:
    """Of the events `ids`, those of the kinds a board row shows, on alerts the user may see."""
    return AlertEvent.objects.filter(id__in=ids, kind__in=kinds, alert__in=alerts(user))


def next_event_ids(since: int, limit: int) -> tuple[list[int], list[int]]:
    """The next committed event ids after `since` (every kind, every alert), and the ids below
    the newest of them that are not visible yet (see FEED_GAP_SPAN)."""
    ids = list(
        AlertEvent.objects.filter(id__gt=since).order_by("id").values_list("id", flat=True)[:limit]
    )
    if not ids:
        return [], []
    return ids, _gaps(since, ids[-1], set(ids))


def _gaps(since: int, upto: int, seen: set[int]) -> list[int]:
    low = max(since, upto - FEED_GAP_SPAN)
    missing = [i for i in range(low + 1, upto) if i not in seen]
    return missing[-FEED_GAP_LIMIT:]


def latest_event_id() -> tuple[int, list[int]]:
    """Where a board starts polling from: the newest event id, and the ids just below it not
    committed yet, which the board asks about until they arrive (it carries nothing else)."""
    recent = list(AlertEvent.objects.order_by("-id").values_list("id", flat=True)[:FEED_GAP_SPAN])
    if not recent:
        return 0, []
    return recent[0], _gaps(recent[-1], recent[0], set(recent))


def filled_gaps(gaps: list[int]) -> list[int]:
    """Which of the ids a board was waiting on exist now (whatever their kind or alert)."""
    if not gaps:
        return []
    return list(AlertEvent.objects.filter(id__in=gaps).values_list("id", flat=True))


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
