"""Tasks with due times: created from TaskRule rows, worked from the worklist, escalated when
missed."""

import dataclasses
import datetime as dt
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.cases import topics
from xinan.cases.models import (
    MADE_BY_THEIR_OWN_PATH,
    AssignTo,
    Case,
    FollowUp,
    FollowUpMode,
    Task,
    TaskKind,
    TaskRule,
    TaskStatus,
    task_kind_label,
)
from xinan.cases.services.care import new_token
from xinan.cases.services.cases import LINE_ROLES, CaseError, may_work_on, refuse
from xinan.core import audit, outbox
from xinan.core.lib import areacode

for _code, _label in [
    ("cases.task.done", gettext_lazy("完成任务")),
    ("cases.task.assign", gettext_lazy("转派任务")),
    ("cases.task.escalate", gettext_lazy("任务逾期督办")),
]:
    audit.register_action(_code, _label)

# Contacts that count as the case's first contact.
CONTACT_KINDS = frozenset({TaskKind.FIRST_CONTACT, TaskKind.FOLLOW_UP_CONTACT, TaskKind.CALLBACK})


# Who answers a referral at each kind of receiving institution, unless the rule names a role.
RECEIVING_ROLE = {
    "mhc": "psychiatrist",
    "hospital": "psychiatrist",
    "chc": "doctor",
    "social_org": "social_worker",
    "school": "counsellor",
    "government": "grid_worker",
}


def town_code(area_code: str) -> str:
    """The 12-digit code of the town an area lies in (the area itself above town level)."""
    return areacode.at_level(area_code, "town") if len(area_code) >= 9 else area_code


# The rules are read for every case opened from an event (hundreds of screenings a second at a
# peak) and edited by hand in the admin a few times a year: each process keeps one copy. A save
# or delete drops it at once in the process that made it; another process re-reads within
# CASES_RULES_CACHE_SECONDS. (A test's settings fixture changes settings, which drops it too,
# so no test sees another's rules.)
_rules: dict[str, tuple[float, list[TaskRule]]] = {}


def active_rules(trigger: str) -> list[TaskRule]:
    """The active rules of `trigger`, in the rules' order."""
    cached = _rules.get("all")
    keep = float(getattr(settings, "CASES_RULES_CACHE_SECONDS", 60))
    if cached is None or time.monotonic() - cached[0] > keep:
        cached = _rules["all"] = (time.monotonic(), list(TaskRule.objects.filter(active=True)))
    return [rule for rule in cached[1] if rule.trigger == trigger]


def forget_rules(**_kwargs) -> None:
    _rules.clear()


post_save.connect(forget_rules, sender=TaskRule, dispatch_uid="cases.forget_rules.save")
post_delete.connect(forget_rules, sender=TaskRule, dispatch_uid="cases.forget_rules.delete")
setting_changed.connect(forget_rules, dispatch_uid="cases.forget_rules.settings")


def _assignment(rule: TaskRule, case: Case, referral) -> dict:
    if rule.assign_to == AssignTo.ROLE_AT_INSTITUTION and referral is not None:
        return {
            "assignee_role": rule.role
            or RECEIVING_ROLE.get(referral.to_institution.kind, "doctor"),
            "assignee_institution": referral.to_institution,
        }
    if rule.assign_to == AssignTo.RESPONSIBLE and case.responsible_id:
        return {"assignee_id": case.responsible_id}
    # Nobody named: the line's first role at the person's home area (any of them may take it).
    role = rule.role or LINE_ROLES[case.line][0]
    return {"assignee_role": role, "assignee_area_code": case.area_code}


def create_from_rules(
    case: Case, trigger: str, *, start: dt.datetime, actor, referral=None
) -> list[Task]:
    """The tasks the active rules of `trigger` owe for this case (inside the caller's
    transaction). Follow-up rules also schedule the repeat assessment they stand for."""
    made = []
    for rule in active_rules(trigger):
        follow_up = None
        due = rule.due_from(start)
        if rule.kind == TaskKind.FOLLOW_UP:
            follow_up = FollowUp.objects.create(
                case=case,
                person_id=case.person_id,
                instrument=rule.instrument or "phq9",
                due_at=due,
                mode=FollowUpMode.LINK,
                token=new_token(),
            )
        made.append(
            Task.objects.create(
                case=case,
                person_id=case.person_id,
                kind=rule.kind,
                title=rule.name,
                due_at=due,
                area_code=case.area_code,
                rule=rule,
                referral=referral,
                follow_up=follow_up,
                created_at=start,
                **_assignment(rule, case, referral),
            )
        )
    return made


def add_task(case: Case, *, actor, kind: str, title: str, due_at: dt.datetime) -> Task:
    """A task a worker sets themselves (e.g. a callback the person asked for)."""
    title = title.strip()
    if kind not in TaskKind.values:
        raise CaseError(_("请选择任务类型"), field="kind")
    if kind in MADE_BY_THEIR_OWN_PATH:
        raise CaseError(TaskKind(kind).refusal, field="kind")
    if not title:
        raise CaseError(_("请填写事项"), field="title")
    if not may_work_on(actor, case):
        refuse(actor, case, _("您无权处理此个案"))
    with transaction.atomic():
        task = Task.objects.create(
            case=case,
            person_id=case.person_id,
            kind=kind,
            title=title[:200],
            due_at=due_at,
            area_code=case.area_code,
            assignee=actor,
        )
        audit.record("cases.task.assign", task, actor=actor, changed_fields=["assignee"])
    return task


def _mine_branches(user) -> list[Q]:
    """The ways a task reaches the user: addressed to them, or to a role they hold where
    they hold it."""
    branches = [Q(assignee=user)]
    for m in user.active_memberships():
        if m.area_id:
            # A code range instead of LIKE 'prefix%': an index range on both databases (area
            # codes are digits, and ":" sorts right after "9"). A role task taken by a user
            # loses its role, so no assignee test is needed.
            branches.append(
                Q(
                    assignee_role=m.role,
                    assignee_area_code__gte=m.area.prefix,
                    assignee_area_code__lt=m.area.prefix + ":",
                )
            )
        elif m.institution_id:
            branches.append(Q(assignee_role=m.role, assignee_institution_id=m.institution_id))
    return branches


def _mine_q(user) -> Q:
    q = Q()
    for branch in _mine_branches(user):
        q |= branch
    return q


def worklist(user) -> QuerySet:
    """The user's open tasks, earliest due first."""
    return Task.objects.open().filter(_mine_q(user)).order_by("due_at", "id")


def worklist_ids(user, narrow: Q, order: tuple[str, ...], start: int, stop: int) -> list[int]:
    """The ids of the user's open tasks matching `narrow`, from `start` to `stop` in `order`
    (fields, the last "pk" or "-pk", all one direction). One query per branch, each walking
    its index in order (cases_task_user_idx, cases_task_role_due_idx) and stopping at `stop`,
    merged here: one query with an OR over the branches makes the database sort every open
    task of the list (20,000 for a town's counsellor) before it can return the first 25."""
    fields = [f.lstrip("-") for f in order]
    rows = set()
    for branch in _mine_branches(user):
        found = Task.objects.open().filter(branch, narrow).order_by(*order)
        rows.update(found.values_list(*fields)[:stop])
    ordered = sorted(rows, reverse=order[0].startswith("-"))
    return [row[-1] for row in ordered[start:stop]]


@dataclasses.dataclass(slots=True)
class TaskRow:
    """One worklist row as shown (`tables.render_task_rows`): the task's columns and the
    person's name and masked phone, no model instance and no encrypted field."""

    pk: int
    kind: str
    title: str
    due_at: dt.datetime
    case_id: int | None
    referral_id: int | None
    link: str
    person_id: int | None
    name: str | None
    phone_masked: str | None
    when: str = ""  # "overdue", "today" or "upcoming", set by the list that shows it

    @property
    def kind_label(self) -> str:
        return task_kind_label(self.kind)


ROW_COLUMNS = (
    "pk",
    "kind",
    "title",
    "due_at",
    "case_id",
    "referral_id",
    "link",
    "person_id",
    "person__name",
    "person__phone_masked",
)


def task_rows(ids: list[int]) -> list[TaskRow]:
    """The rows of these tasks in the order of `ids`. The ids come from the user's scoped
    worklist (`worklist`, `worklist_ids`), so the rows are read by key alone: filtering them
    through the scope again cost more than the rest of the read."""
    found = {
        row[0]: TaskRow(*row) for row in Task.objects.filter(pk__in=ids).values_list(*ROW_COLUMNS)
    }
    return [found[pk] for pk in ids if pk in found]


def first_task_rows(tasks: QuerySet, n: int) -> list[TaskRow]:
    """The first `n` rows of an ordered queryset of the user's tasks: the ids from an index,
    then those rows, so on a list of a million tasks the sort never reads a row it drops."""
    return task_rows(list(tasks.values_list("pk", flat=True)[:n]))


def may_work_task(user, task: Task) -> bool:
    if task.kind == TaskKind.CRISIS_CALLBACK:  # its holder, or the crisis desk of its area
        from xinan.cases import callbacks

        return callbacks.may_work(user, task)
    return worklist(user).filter(pk=task.pk).exists() or (
        task.case is not None and may_work_on(user, task.case)
    )


def complete_task(task: Task, *, actor, result: str = "", now: dt.datetime | None = None) -> Task:
    """Mark a task done; a contact task sets the case's first contact time.

    A crisis callback is refused here: it is done on the crisis side only
    (`crisis.services.complete_callback`, from the alert page or the hotline desk, where the
    number is), which records the call's outcome and writes it on the alert's timeline. Done
    here it would close the task and leave both empty."""
    if task.kind == TaskKind.CRISIS_CALLBACK:
        raise CaseError(_("危机回电请打开预警页面拨打，并在那里记录回电结果"))
    return finish_task(task, actor=actor, result=result, now=now)


def finish_task(task: Task, *, actor, result: str = "", now: dt.datetime | None = None) -> Task:
    """The one place a task is marked done, once: `complete_task` for every kind but crisis
    callbacks, `callbacks.finish` (for the crisis side) for those."""
    now = now or timezone.now()
    if not may_work_task(actor, task):
        refuse(actor, task.case, _("这项任务不在您的待办中"))
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.status != TaskStatus.OPEN:
            raise CaseError(_("该任务已完成或已取消"))
        locked.status, locked.done_at, locked.done_by = TaskStatus.DONE, now, actor
        locked.result = result.strip()[:300]
        if locked.assignee_id is None:
            locked.assignee = actor
        locked.assignee_role = ""
        locked.save(
            update_fields=["status", "done_at", "done_by", "result", "assignee", "assignee_role"]
        )
        if locked.kind in CONTACT_KINDS and locked.case_id:
            Case.objects.filter(pk=locked.case_id, first_contact_at__isnull=True).update(
                first_contact_at=now
            )
        audit.record("cases.task.done", locked, actor=actor, changed_fields=["status"])
    return locked


def reassign_task(task: Task, *, to_user, actor) -> Task:
    """Hand a task to a colleague whose scope reaches the person; otherwise refused."""
    if task.kind == TaskKind.CRISIS_CALLBACK:  # the crisis area's workers, not the case's
        from xinan.cases import callbacks

        return callbacks.reassign(task, to_user=to_user, actor=actor)
    if not may_work_task(actor, task):
        refuse(actor, task.case, _("这项任务不在您的待办中"))
    if to_user is None or task.case is None or not may_work_on(to_user, task.case):
        refuse(actor, task.case, _("不能转派给职责范围以外的人员：对方无权查看该居民"))
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.status != TaskStatus.OPEN:
            raise CaseError(_("该任务已完成或已取消"))
        locked.assignee, locked.assignee_role = to_user, ""
        locked.save(update_fields=["assignee", "assignee_role"])
        audit.record("cases.task.assign", locked, actor=actor, changed_fields=["assignee"])
    return locked


def escalate_overdue(now: dt.datetime | None = None, *, limit: int = 500) -> int:
    """Claim overdue tasks (a conditional UPDATE: two workers never both take one), give each
    area's admins an escalation task, and emit `task.escalated`."""
    now = now or timezone.now()
    candidates = list(
        Task.objects.filter(status=TaskStatus.OPEN, escalated_at__isnull=True, due_at__lt=now)
        .exclude(kind__in=(TaskKind.ESCALATION, TaskKind.CRISIS_CALLBACK))  # crisis: duty chain
        .values_list("pk", flat=True)[:limit]
    )
    handled = 0
    for pk in candidates:
        with transaction.atomic():
            won = Task.objects.filter(
                pk=pk, status=TaskStatus.OPEN, escalated_at__isnull=True
            ).update(escalated_at=now)
            if not won:
                continue
            task = Task.objects.get(pk=pk)
            escalation = Task.objects.create(
                case_id=task.case_id,
                person_id=task.person_id,
                kind=TaskKind.ESCALATION,
                title=_("逾期督办：%(title)s") % {"title": task.title},
                due_at=now + dt.timedelta(days=1),
                assignee_role="area_admin",
                assignee_area_code=town_code(task.area_code),
                area_code=task.area_code,
                escalates=task,
                referral_id=task.referral_id,
            )
            audit.record("cases.task.escalate", task, actor=None, changed_fields=["escalated_at"])
            outbox.emit(
                topics.TASK_ESCALATED,
                dataclasses.asdict(
                    topics.TaskEscalated(
                        task_id=task.pk,
                        escalation_task_id=escalation.pk,
                        person_id=task.person_id,
                        kind=task.kind,
                        area_code=task.area_code,
                        due_at=task.due_at.isoformat(),
                    )
                ),
            )
            handled += 1
    return handled


def add_escalation(
    *,
    person,
    area_code: str,
    title: str,
    source_key: str,
    link: str = "",
    now: dt.datetime | None = None,
) -> Task | None:
    """An escalation task for the admins of the person's town, raised by another app's overdue
    work (an SMD follow-up): keyed by `source_key`, so the same cause never makes two tasks.
    Returns None when the task already exists."""
    now = now or timezone.now()
    with transaction.atomic():
        if Task.objects.filter(source_key=source_key).exists():
            return None
        task = Task.objects.create(
            person=person,
            kind=TaskKind.ESCALATION,
            title=title[:200],
            due_at=now + dt.timedelta(days=1),
            assignee_role="area_admin",
            assignee_area_code=town_code(area_code),
            area_code=area_code,
            source_key=source_key,
            link=link,
        )
        audit.record("cases.task.escalate", task, actor=None, changed_fields=["source_key"])
    return task
