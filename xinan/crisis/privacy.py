"""The crisis app's part of a person's data export and erasure (xinan/core/privacy.py): no
erasure while an alert about the person is open."""

from django.utils.translation import gettext as _

from xinan.core import privacy
from xinan.core.lib import jsonsafe
from xinan.crisis.models import Alert, AlertEvent, CallbackTask, HotlineCall, Status

ALERT_FIELDS = [
    "id",
    "level",
    "status",
    "summary",
    "raised_at",
    "acknowledged_at",
    "risk_level",
    "disposition",
    "closed_at",
    "close_reason",
]


@privacy.blocker("crisis")
def open_alerts(person) -> str | None:
    n = Alert.objects.filter(person=person).exclude(status=Status.CLOSED).count()
    if n:
        return _("该居民有 %(n)d 条未关闭的危机预警，须先处置并关闭后才能删除") % {"n": n}
    return None


@privacy.exporter("crisis")
def export_person(person) -> dict:
    alerts = Alert.objects.filter(person=person).prefetch_related("events")
    return {
        "alerts": [
            {
                **jsonsafe.rows([a], ALERT_FIELDS)[0],
                "events": jsonsafe.rows(a.events.all(), ["kind", "at", "note"]),
            }
            for a in alerts
        ],
        "hotline_calls": jsonsafe.rows(
            HotlineCall.objects.filter(person=person),
            ["received_at", "topic", "risk", "notes", "caller_phone"],
        ),
    }


@privacy.eraser("crisis")
def erase_person(person, *, actor) -> None:
    """Levels, times, dispositions stay for the counts; free text and phones go."""
    Alert.objects.filter(person=person).update(summary=_("（已删除）"), close_reason="")
    AlertEvent.objects.filter(alert__person=person).update(note="")
    HotlineCall.objects.filter(person=person).update(
        notes="", caller_phone="", caller_phone_masked=""
    )
    # Their tasks' titles go with the cases app's eraser (the task names the person).
    CallbackTask.objects.filter(alert__person=person).update(phone="", phone_masked="", note="")
