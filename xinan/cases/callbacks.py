"""Crisis callbacks as loop tasks: one `Task` of kind `crisis_callback` per callback.

A callback owed after a high-risk hotline call, or asked for from the crisis screen, is a task
like every other piece of the loop: it sits in 我的待办 of the person who holds it (or of the
crisis workers of its area while nobody does), with its due time and overdue mark, and a link to
the alert page where it is dialled and done. Why two rows and not one: the cases
`Task` holds what every task has — due time, status, assignee, completion — and nothing else,
while `crisis.CallbackTask` keeps what only the crisis desk may read (the caller's number,
encrypted, the resident's message, the call and the alert) and points at its task. Moving the
number into `Task` would put a crisis secret in a table every worklist query reads; copying the
due time into crisis would give two clocks that drift. So the due time, status, assignee and
completion exist only here, and crisis changes them through these functions. It is done by one
verb, `crisis.services.complete_callback` (the alert page, the hotline desk, a contact that
reached the person), which records the outcome the worker chose, writes it on the alert's
timeline and closes the task through `finish`; the worklist's own 完成 (`complete_task`)
refuses this kind, so no callback is ever done with its outcome and timeline left empty.

A missed callback escalates along the crisis duty chain (`crisis.escalate_overdue_callbacks`,
on the core scheduler), within the alert level's deadline; the loop's own sweep, which hands
overdue tasks to the town's admins a day later, leaves this kind alone so nothing is paged
twice.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.cases.models import Task, TaskKind, TaskStatus
from xinan.cases.services.cases import CaseError
from xinan.core import audit, scope
from xinan.core.lib import areacode

KIND = TaskKind.CRISIS_CALLBACK
CRISIS_ROLE = "crisis_worker"

audit.register_action("cases.task.refused", gettext_lazy("拒绝任务操作"))


def open_task(
    *,
    title: str,
    area_code: str,
    person_id: int | None,
    assignee_id: int | None,
    due_at: dt.datetime,
    link: str,
) -> Task:
    """The task of a new callback (inside the crisis transaction that owes it). Held by the
    alert's holder; with nobody holding it, by the crisis workers of its area."""
    who = (
        {"assignee_id": assignee_id}
        if assignee_id
        else {"assignee_role": CRISIS_ROLE, "assignee_area_code": area_code}
    )
    return Task.objects.create(
        kind=KIND,
        title=title[:200],
        due_at=due_at,
        area_code=area_code,
        person_id=person_id,
        link=link,
        **who,
    )


def open_tasks(task_ids: Iterable[int]):
    return Task.objects.filter(pk__in=list(task_ids), kind=KIND, status=TaskStatus.OPEN)


def hand_to(task_ids: Iterable[int], user_id: int, *, due_at: dt.datetime | None = None) -> int:
    """The open callbacks among `task_ids` go to one user (the alert's new holder); with
    `due_at`, none is due sooner than that (one deadline to make the call)."""
    moved = 0
    for task in open_tasks(task_ids).select_for_update():
        task.assignee_id, task.assignee_role, task.assignee_area_code = user_id, "", ""
        fields = ["assignee", "assignee_role", "assignee_area_code"]
        if due_at is not None and task.due_at < due_at:
            task.due_at = due_at
            fields.append("due_at")
        task.save(update_fields=fields)
        moved += 1
    return moved


def claim_overdue(task_id: int, due_at: dt.datetime, new_due: dt.datetime) -> bool:
    """Move a missed callback's due time on, if it is still open and still due at `due_at`:
    the conditional UPDATE is the claim, so two workers never both escalate it."""
    return bool(
        Task.objects.filter(pk=task_id, kind=KIND, status=TaskStatus.OPEN, due_at=due_at).update(
            due_at=new_due
        )
    )


def may_take(user, task: Task) -> bool:
    """A crisis worker whose crisis areas reach the callback's area (an unplaced callback
    belongs to the district team and above, as in `crisis.selectors`)."""
    if user is None or not getattr(user, "is_active", False):
        return False
    rows = scope.within_role_areas(
        user,
        Task.objects.filter(pk=task.pk),
        roles={CRISIS_ROLE},
        unplaced_up_to=areacode.DISTRICT_PREFIX_LENGTH,
    )
    return rows.exists()


def may_work(user, task: Task) -> bool:
    """Who may do or hand on a callback: whoever holds it (its 我的待办), and the crisis workers
    of its area (the desk and the alert page, where the number is)."""
    from xinan.cases.services.tasks import worklist

    return worklist(user).filter(pk=task.pk).exists() or may_take(user, task)


def reassign(task: Task, *, to_user, actor) -> Task:
    """Hand a callback to another crisis worker of its area; anyone else is refused (audited),
    because the number behind it is a crisis secret of that area."""
    if not may_work(actor, task):
        _refuse(actor, task, _("这项任务不在您的待办中"))
    if to_user is None or not may_take(to_user, task):
        _refuse(actor, task, _("不能转派给职责范围以外的人员：对方不是该区域的危机干预员"))
    with transaction.atomic():
        if not hand_to([task.pk], to_user.pk):
            raise CaseError(_("该任务已完成或已取消"))
        audit.record("cases.task.assign", task, actor=actor, changed_fields=["assignee"])
    task.refresh_from_db()
    return task


def finish(task: Task, *, actor, result: str) -> Task:
    """Close the callback's task once (the crisis side's `complete`, inside its transaction):
    refused, as every task is, for whoever may not work on it or when it is no longer open."""
    from xinan.cases.services.tasks import finish_task

    return finish_task(task, actor=actor, result=result)


def _refuse(actor, task: Task, message: str):
    with transaction.atomic():
        audit.record("cases.task.refused", task, actor=actor, reason=str(message)[:200])
    raise CaseError(message)
