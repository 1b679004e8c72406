"""Reaching the person in danger: the holder's audited reveal of the numbers to call, handing
an alert over to another person on duty, and escalating callbacks not made in time.

Same rules as `services`: one transaction per verb with its audit row and outbox row.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.cases import callbacks as tasks
from xinan.core import audit, outbox
from xinan.crisis import routing
from xinan.crisis.models import (
    Alert,
    CallbackTask,
    EventKind,
    HotlineCall,
    Level,
    Status,
    ack_minutes,
)
from xinan.crisis.services import (
    CrisisError,
    _alert_payload,
    _event,
    _locked,
    _now,
    _refuse_if_closed,
    callbacks,
)

# Reaching the person and handing over ------------------------------------------------------


def holds(alert: Alert, user) -> bool:
    """The person on duty who holds the alert: its assignee (or who acknowledged it)."""
    return (
        getattr(user, "is_authenticated", False)
        and alert.status != Status.CLOSED
        and user.pk in (alert.assigned_to_id, alert.acknowledged_by_id)
    )


def contacts(alert: Alert) -> list[dict[str, str]]:
    """The numbers to call for an alert, masked: the person's, callbacks', the caller's."""
    found: list[dict[str, str]] = []

    def add(kind: str, label, masked: str, ref: str) -> None:
        if masked and all(c["masked"] != masked for c in found):
            found.append({"kind": kind, "label": str(label), "masked": masked, "ref": ref})

    if alert.person_id and alert.person.phone_masked:
        add("person", _("当事人手机"), alert.person.phone_masked, "person")
    for task in alert.callbacks.all():
        add("callback", _("回电号码"), task.phone_masked, f"callback:{task.pk}")
    for call in HotlineCall.objects.filter(alert=alert).exclude(caller_phone_masked=""):
        add("call", _("来电号码"), call.caller_phone_masked, f"call:{call.pk}")
    return found


def reveal_contacts(alert: Alert, *, actor) -> list[dict[str, str]]:
    """The full numbers for the holder of the alert; each reveal is audited, the alert its
    reason. Anyone else is refused (and keeps the masked view)."""
    if not holds(alert, actor):
        raise CrisisError(_("只有当前负责该预警的值班人员可以查看完整号码"))
    shown = contacts(alert)
    by_ref = {c["ref"]: c for c in shown}
    with transaction.atomic():
        if "person" in by_ref:
            by_ref["person"]["number"] = alert.person.phone
        for task in alert.callbacks.all():
            if f"callback:{task.pk}" in by_ref:
                by_ref[f"callback:{task.pk}"]["number"] = task.phone
        for call in HotlineCall.objects.filter(alert=alert):
            if f"call:{call.pk}" in by_ref:
                by_ref[f"call:{call.pk}"]["number"] = call.caller_phone
        reason = _("危机预警 #%(id)s（%(level)s）") % {
            "id": alert.pk,
            "level": alert.get_level_display(),
        }
        audit.record(
            "crisis.alert.reveal_phone",
            alert.person if alert.person_id else alert,
            actor=actor,
            area_code=alert.area_code or _routed_area(alert),
            changed_fields=[c["kind"] for c in shown],
            reason=reason,
        )
        _event(alert, EventKind.REVEALED, actor=actor, data={"kinds": [c["kind"] for c in shown]})
    return [c for c in shown if c.get("number")]


def _routed_area(alert: Alert) -> str:
    """For an alert with no place: the area of the shift it was routed to, so the admins of
    that area see its reveals in their audit log."""
    raised = alert.events.filter(kind=EventKind.RAISED).first()
    return (raised.data or {}).get("routed_area", "") if raised else ""


def hand_over(alert: Alert, *, actor, to_user, note: str = "") -> Alert:
    """The holder hands the alert to another person on duty for its area; audited."""
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(alert)
        _refuse_if_closed(locked)
        if not holds(locked, actor):
            raise CrisisError(_("只有当前负责人可以转交该预警"))
        if to_user is None or to_user.pk == actor.pk:
            raise CrisisError(_("请选择另一位值班人员"))
        if to_user.pk not in {d.user_id for d in routing.chain(locked.area_code, now)}:
            raise CrisisError(_("%(who)s 当前不在该区域值班，不能转交") % {"who": to_user})
        previous = locked.assigned_to_id
        locked.assigned_to = to_user
        if locked.status == Status.ACKNOWLEDGED:
            locked.acknowledged_by = to_user
        if to_user.pk not in locked.tried_user_ids:
            locked.tried_user_ids = [*locked.tried_user_ids, to_user.pk]
        locked.save(update_fields=["assigned_to", "acknowledged_by", "tried_user_ids"])
        callbacks.follow_holder({locked.pk: to_user.pk})
        _event(locked, EventKind.HANDED_OVER, actor=actor, target=to_user, note=note)
        audit.record(
            "crisis.alert.handover",
            locked,
            actor=actor,
            changed_fields=["assigned_to"],
            reason=note[:200],
        )
        outbox.emit("alert.escalated", _alert_payload(locked, previous=previous, handover=True))
    return locked


# Callback deadlines ------------------------------------------------------------------------


def escalate_overdue_callbacks(now: dt.datetime | None = None) -> list[CallbackTask]:
    """Callbacks not made by their due time go to the next person on duty, like alerts.

    Callbacks of an alert still waiting for acknowledgement ride on the alert's own
    escalation; a closed alert's are left alone. Each is claimed by a conditional UPDATE on
    its task's due time (`cases.callbacks.claim_overdue`), so two workers never both escalate
    one.
    """
    now = _now(now)
    due = (
        CallbackTask.objects.pending()
        .filter(task__due_at__lte=now)
        .filter(Q(alert__isnull=True) | Q(alert__status=Status.ACKNOWLEDGED))
        .values_list("pk", "task_id", "task__due_at")[:500]
    )
    escalated = []
    for pk, task_id, due_at in list(due):
        with transaction.atomic():
            task = CallbackTask.objects.select_related("alert").filter(pk=pk).first()
            level = task.alert.level if task and task.alert_id else Level.ORANGE
            new_due = now + dt.timedelta(minutes=ack_minutes(level))
            if task is None or not tasks.claim_overdue(task_id, due_at, new_due):
                continue  # done, or escalated by another worker meanwhile
            task = CallbackTask.objects.select_related("task").get(pk=pk)
            _escalate_callback(task, now)
            escalated.append(task)
    return escalated


def _escalate_callback(task: CallbackTask, now: dt.datetime) -> None:
    alert = Alert.objects.select_for_update().get(pk=task.alert_id) if task.alert_id else None
    tried = set(alert.tried_user_ids if alert else []) | {task.assigned_to_id}
    nxt = next((d for d in routing.chain(task.area_code, now) if d.user_id not in tried), None)
    previous = task.assigned_to_id
    task.escalations += 1
    if nxt is not None:
        if alert is not None:  # the alert's new holder owes all its callbacks
            callbacks.follow_holder({alert.pk: nxt.user_id})
        else:
            tasks.hand_to([task.task_id], nxt.user_id)
        note = _("回电逾期未完成，已转交下一位值班人员")
    else:
        note = _("回电逾期未完成，已无其他值班人员可转交，请负责人立即回电")
    task.save(update_fields=["escalations"])
    audit.record("crisis.callback.escalate", task, actor=None, reason=note)
    if alert is None:
        return
    if nxt is not None:
        alert.assigned_to_id = nxt.user_id
        alert.acknowledged_by_id = nxt.user_id
        alert.tried_user_ids = [*alert.tried_user_ids, nxt.user_id]
        alert.via_fallback = nxt.fallback
        alert.escalations += 1
        alert.save(
            update_fields=[
                "assigned_to",
                "acknowledged_by",
                "tried_user_ids",
                "via_fallback",
                "escalations",
            ]
        )
    _event(
        alert,
        EventKind.CALLBACK_OVERDUE,
        target=nxt.user_id if nxt else None,
        note=note,
        data={"from": previous, "callback": task.pk},
    )
    outbox.emit("alert.escalated", _alert_payload(alert, previous=previous, callback_id=task.pk))
