"""Cases: open (by hand or from an event), move through the stages, reassign, close."""

import dataclasses
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.cases import topics
from xinan.cases.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    CaseSource,
    CloseReason,
    FollowUp,
    FollowUpStatus,
    Outcome,
    Priority,
    ServiceLine,
    Stage,
    Task,
    TaskStatus,
    Trigger,
)
from xinan.core import audit, outbox, scope
from xinan.core.lib import areacode

for _code, _label in [
    ("cases.case.open", gettext_lazy("建立个案")),
    ("cases.case.signal", gettext_lazy("个案新情况")),
    ("cases.case.stage", gettext_lazy("个案阶段变更")),
    ("cases.case.assign", gettext_lazy("指派个案责任人")),
    ("cases.case.refused", gettext_lazy("拒绝个案操作")),
    ("cases.case.view", gettext_lazy("查看个案")),
]:
    audit.register_action(_code, _label)


class CaseError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# Who takes a case of each line first (in this order), at the deepest area above the home.
LINE_ROLES: dict[str, tuple[str, ...]] = {
    ServiceLine.GENERAL: ("counsellor", "social_worker", "grid_worker"),
    ServiceLine.PERINATAL: ("doctor", "counsellor"),
    ServiceLine.ELDERLY: ("doctor", "social_worker", "counsellor"),
    ServiceLine.CHILD_ADOLESCENT: ("counsellor", "social_worker"),
    ServiceLine.WORKPLACE: ("counsellor", "social_worker"),
    ServiceLine.SPECIAL_POPULATION: ("social_worker", "grid_worker", "counsellor"),
}
# Identification is a professional's judgement.
IDENTIFY_ROLES = frozenset({"counsellor", "doctor", "psychiatrist"})
CASE_ROLES = frozenset(
    {"grid_worker", "social_worker", "counsellor", "doctor", "psychiatrist", "crisis_worker"}
)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def line_for(person) -> str:
    """The service line a signal about this person belongs to, from tags and age."""
    tags = list(person.tags.values_list("code", "special"))
    codes = {code for code, _special in tags}
    if "perinatal" in codes:
        return ServiceLine.PERINATAL
    if any(special for _code, special in tags):
        return ServiceLine.SPECIAL_POPULATION
    age = person.age
    if age is not None and age < 18 or "child_adolescent" in codes:
        return ServiceLine.CHILD_ADOLESCENT
    if age is not None and age >= 60 or "elderly" in codes:
        return ServiceLine.ELDERLY
    if "worker" in codes:
        return ServiceLine.WORKPLACE
    return ServiceLine.GENERAL


def pick_responsible(person, line: str):
    """The staff member nearest the person's home in the first role of the line that has one."""
    from xinan.accounts.models import Membership

    roles = LINE_ROLES.get(line, LINE_ROLES[ServiceLine.GENERAL])
    codes = areacode.ancestors(person.home_area_id)
    found = list(
        Membership.objects.filter(active=True, role__in=roles, area_id__in=codes)
        .select_related("user", "area")
        .only("id", "role", "user__id", "area__code", "area__level")
        .order_by("id")
    )
    if not found:
        return None
    found.sort(key=lambda m: (roles.index(m.role), -len(m.area.prefix), m.id))
    return found[0].user


def may_work_on(user, case: Case) -> bool:
    return bool(user.roles() & CASE_ROLES) and scope.detail_for(user, case.person) > 0


def refuse(actor, case: Case | None, message: str, *, action: str = "cases.case.refused"):
    """Audit a refused attempt on a case (its own transaction), then raise."""
    with transaction.atomic():
        audit.record(
            action,
            case,
            actor=actor,
            object_type="" if case else "cases.case",
            reason=str(message)[:200],
        )
    raise CaseError(message)


def _event(case, kind, *, actor=None, note="", from_stage="", to_stage="", source_key="", at=None):
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        note=str(note)[:300],
        from_stage=from_stage,
        to_stage=to_stage,
        source_key=source_key,
        at=at or timezone.now(),
    )


def open_case(
    person,
    *,
    actor,
    source: str,
    line: str | None = None,
    responsible=None,
    note: str = "",
    source_key: str = "",
    priority: str = Priority.NORMAL,
    trigger: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Case, bool]:
    """Open the person's case on a line, or add the signal to the open one. Returns
    (case, created); the same `source_key` twice changes nothing the second time. With a
    `trigger`, the task rules for it create their tasks."""
    from xinan.cases.services import tasks

    line = line or line_for(person)
    if line not in ServiceLine.values:
        raise CaseError(_("请选择服务条线"), field="line")
    if source not in CaseSource.values:
        raise CaseError(_("个案来源无效"))
    now = _now(now)
    # No savepoint of its own: a consumer calls this inside the worker's savepoint per event,
    # a view inside its request; either rolls back all of it on an error.
    with transaction.atomic(savepoint=False):
        if source_key:
            seen = CaseEvent.objects.filter(source_key=source_key).select_related("case").first()
            if seen is not None:
                return seen.case, False
        case = Case.objects.select_for_update().filter(person=person, line=line).open().first()
        created = case is None
        if created:
            try:
                with transaction.atomic():
                    case = _create(person, line, source, actor, responsible, priority, now)
            except IntegrityError:  # opened a moment ago by another worker (PostgreSQL)
                case = Case.objects.select_for_update().open().get(person=person, line=line)
                created = False
        if created:
            _event(
                case, CaseEventKind.OPENED, actor=actor, note=note, source_key=source_key, at=now
            )
            audit.record("cases.case.open", case, actor=actor, reason=str(note)[:200])
            outbox.emit(
                topics.CASE_OPENED,
                dataclasses.asdict(
                    topics.CaseOpened(
                        case_id=case.pk,
                        person_id=person.pk,
                        line=line,
                        source=source,
                        area_code=case.area_code,
                        responsible_id=case.responsible_id,
                    )
                ),
            )
        else:
            _event(
                case, CaseEventKind.SIGNAL, actor=actor, note=note, source_key=source_key, at=now
            )
            if priority == Priority.HIGH and case.priority != Priority.HIGH:
                case.priority = Priority.HIGH
                case.save(update_fields=["priority"])
            audit.record("cases.case.signal", case, actor=actor, reason=str(note)[:200])
        if trigger:
            tasks.create_from_rules(case, trigger, start=now, actor=actor)
    return case, created


def _create(person, line, source, actor, responsible, priority, now) -> Case:
    responsible = responsible or pick_responsible(person, line)
    return Case.objects.create(
        person=person,
        line=line,
        source=source,
        priority=priority,
        area_code=person.home_area_id,
        responsible=responsible,
        team_area_id=areacode.at_level(home, "town") if (home := person.home_area_id) else None,
        opened_at=now,
        opened_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def open_case_by_hand(person, *, actor, line: str, note: str = "") -> Case:
    """Staff open a case; refused if one is already open on that line."""
    if not may_work_on(actor, Case(person=person)):
        refuse(actor, None, _("您无权为此居民建立个案"))
    if Case.objects.filter(person=person, line=line).open().exists():
        raise CaseError(_("该居民在此服务条线已有未结案的个案"), field="line")
    case, _created = open_case(
        person,
        actor=actor,
        source=CaseSource.MANUAL,
        line=line,
        responsible=actor if actor.roles() & set(LINE_ROLES[line]) else None,
        note=note,
    )
    return case


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("person").get(pk=case.pk)


def move_case(
    case: Case,
    *,
    to: str,
    actor,
    judgement: str = "",
    basis: str = "",
    reason: str = "",
    outcome: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """Move a case to another stage, if the stage it is in allows it and what the new stage
    needs is given: identify a professional's judgement and its basis; closing a reason and an
    outcome. Closing cancels the case's open tasks and scheduled follow-ups."""
    now = _now(now)
    judgement, basis, note = judgement.strip(), basis.strip(), note.strip()
    if not may_work_on(actor, case):
        refuse(actor, case, _("您无权处理此个案"))
    with transaction.atomic():
        locked = _locked(case)
        if to not in Stage.values:
            raise CaseError(_("请选择阶段"), field="to")
        if not locked.can_move_to(to):
            raise CaseError(
                _("个案处于“%(now)s”阶段，不能直接转为“%(to)s”")
                % {"now": locked.get_stage_display(), "to": Stage(to).label},
                field="to",
            )
        fields = ["stage"]
        if to == Stage.IDENTIFY:
            if not actor.roles() & IDENTIFY_ROLES:
                raise CaseError(_("鉴别须由心理咨询师、精防医生或精神科医生完成"))
            if not judgement or not basis:
                raise CaseError(_("请填写鉴别意见及依据"), field="judgement")
            locked.judgement, locked.judgement_basis = judgement, basis
            locked.identified_at, locked.identified_by = now, actor
            fields += ["judgement", "judgement_basis", "identified_at", "identified_by"]
        if to == Stage.CLOSED:
            if reason not in CloseReason.values:
                raise CaseError(_("请选择结案原因"), field="reason")
            if outcome not in Outcome.values:
                raise CaseError(_("请选择结局"), field="outcome")
            locked.close_reason, locked.outcome, locked.close_note = reason, outcome, note
            locked.closed_at = now
            fields += ["close_reason", "outcome", "close_note", "closed_at"]
            Task.objects.filter(case=locked, status=TaskStatus.OPEN).update(
                status=TaskStatus.CANCELLED, result=_("个案已结案")
            )
            FollowUp.objects.filter(case=locked, status=FollowUpStatus.SCHEDULED).delete()
        previous = locked.stage
        locked.stage = to
        locked.save(update_fields=fields)
        _event(
            locked,
            CaseEventKind.STAGE,
            actor=actor,
            from_stage=previous,
            to_stage=to,
            note=note if to != Stage.CLOSED else locked.get_close_reason_display(),
            at=now,
        )
        audit.record("cases.case.stage", locked, actor=actor, changed_fields=fields)
        outbox.emit(
            topics.CASE_STAGE_CHANGED,
            dataclasses.asdict(
                topics.CaseStageChanged(
                    case_id=locked.pk,
                    person_id=locked.person_id,
                    line=locked.line,
                    from_stage=previous,
                    to_stage=to,
                    area_code=locked.area_code,
                )
            ),
        )
        if to == Stage.IDENTIFY:
            from xinan.cases.services import tasks

            tasks.create_from_rules(locked, Trigger.IDENTIFIED, start=now, actor=actor)
    return locked


def reassign(case: Case, *, to_user, actor, reason: str = "") -> Case:
    """Give the case (and its open tasks of the previous worker) to another worker whose
    scope reaches the person. Out of scope: refused and audited."""
    if not may_work_on(actor, case):
        refuse(actor, case, _("您无权处理此个案"))
    if to_user is None or not may_work_on(to_user, case):
        refuse(actor, case, _("不能指派给职责范围以外的人员：对方无权查看该居民"))
    with transaction.atomic():
        locked = _locked(case)
        if not locked.is_open:
            raise CaseError(_("个案已结案，不能重新指派"))
        previous = locked.responsible_id
        locked.responsible = to_user
        locked.save(update_fields=["responsible"])
        if previous:
            Task.objects.filter(case=locked, status=TaskStatus.OPEN, assignee_id=previous).update(
                assignee=to_user
            )
        _event(locked, CaseEventKind.ASSIGNED, actor=actor, note=str(to_user))
        audit.record(
            "cases.case.assign", locked, actor=actor, changed_fields=["responsible"], reason=reason
        )
        outbox.emit(
            topics.CASE_ASSIGNED,
            dataclasses.asdict(
                topics.CaseAssigned(
                    case_id=locked.pk,
                    person_id=locked.person_id,
                    previous_id=previous,
                    responsible_id=to_user.pk,
                    area_code=locked.area_code,
                )
            ),
        )
    return locked


def cases_for(user):
    """Cases of the people the user may see (the scope gate)."""
    return scope.filter_related(user, Case.objects.all())


def get_case(user, pk, *, audit_view: bool = False) -> Case:
    from django.http import Http404

    try:
        case = cases_for(user).select_related("person", "responsible").get(pk=int(pk))
    except (Case.DoesNotExist, TypeError, ValueError):
        raise Http404 from None
    if audit_view:
        with transaction.atomic():
            audit.record("cases.case.view", case, actor=user)
    return case
