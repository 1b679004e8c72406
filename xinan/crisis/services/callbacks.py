"""Callbacks: the crisis half (number, message, call, alert) of a loop task whose due time,
holder and completion live on the cases `Task` (xinan/cases/callbacks.py says why).

Every change of a callback's holder, due time or completion goes through these functions, so
the crisis desk, the alert page and 我的待办 read one row."""

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _

from xinan.cases import callbacks as tasks
from xinan.cases.models import TaskStatus
from xinan.cases.services.cases import CaseError
from xinan.core import audit
from xinan.crisis.models import Alert, CallbackTask, ContactOutcome, EventKind
from xinan.crisis.services.common import CrisisError, _event


def create(
    *,
    title: str,
    alert: Alert | None,
    area_code: str,
    due_at: dt.datetime,
    phone: str = "",
    phone_masked: str = "",
    note: str = "",
    call=None,
    person_id: int | None = None,
) -> CallbackTask:
    """A callback and its task, held by the alert's holder (inside the caller's transaction).
    The title names the masked number only when there is no person: a person's timeline lists
    their tasks, and their number is a crisis detail."""
    if person_id is None and phone_masked:
        title = f"{title} {phone_masked}"
    task = tasks.open_task(
        title=title,
        area_code=area_code,
        person_id=person_id,
        assignee_id=alert.assigned_to_id if alert else None,
        due_at=due_at,
        link=reverse("crisis:alert", args=[alert.pk]) if alert else reverse("crisis:hotline"),
    )
    return CallbackTask.objects.create(
        task=task,
        area_code=area_code,
        phone=phone,
        phone_masked=phone_masked,
        note=note,
        call=call,
        alert=alert,
    )


def follow_holder(holders: dict[int, int], *, due_at: dt.datetime | None = None) -> None:
    """The open callbacks of each alert (id → its new holder) go to that holder's worklist;
    with `due_at`, none is due sooner (acknowledging gives one deadline to call)."""
    if not holders:
        return
    by_user: dict[int, list[int]] = {}
    rows = CallbackTask.objects.pending().filter(alert_id__in=holders)
    for task_id, alert_id in rows.values_list("task_id", "alert_id"):
        by_user.setdefault(holders[alert_id], []).append(task_id)
    for user_id, task_ids in by_user.items():
        tasks.hand_to(task_ids, user_id, due_at=due_at)


def complete(callback: CallbackTask, *, actor, outcome: str, on_timeline: bool = True) -> None:
    """Done (inside the caller's transaction), its task once only: the one way a callback is
    done, from the alert page, the hotline desk or a contact that reached the person. The
    outcome is kept on the callback and, with `on_timeline`, written on the alert's timeline
    (a contact attempt; `record_contact` has written its own)."""
    if callback.task.status != TaskStatus.OPEN:
        raise CrisisError(_("该回电任务已完成"))
    if not tasks.may_work(actor, callback.task):
        # The crisis side decided (the alert's holder reached the person, e.g. a fallback area
        # admin after the callback was handed on): the callback is theirs to close.
        tasks.hand_to([callback.task_id], actor.pk)
        callback.task.refresh_from_db()
    label = str(ContactOutcome(outcome).label)
    try:  # locks the task: done a moment ago elsewhere, it is refused here
        callback.task = tasks.finish(callback.task, actor=actor, result=label)
    except CaseError as exc:
        raise CrisisError(exc.message) from None
    callback.outcome = outcome
    callback.save(update_fields=["outcome"])
    audit.record("crisis.callback.done", callback, actor=actor, changed_fields=["outcome"])
    if on_timeline and callback.alert_id:
        _event(
            callback.alert,
            EventKind.CONTACT,
            actor=actor,
            data={
                "outcome": outcome,
                "label": _("回电：%(outcome)s") % {"outcome": label},
                "callback": callback.pk,
            },
        )
