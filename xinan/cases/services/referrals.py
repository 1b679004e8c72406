"""Two-way referral: up to the mental health centre, back down to the community, or out to
social work, schools and police liaison; with consent or a recorded legal basis."""

import dataclasses
import datetime as dt

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.cases import topics
from xinan.cases.models import (
    DIRECTION_KINDS,
    Case,
    CaseEventKind,
    Direction,
    Referral,
    ReferralStatus,
    Stage,
    Task,
    TaskKind,
    TaskStatus,
    Trigger,
    Urgency,
)
from xinan.cases.services import tasks
from xinan.cases.services.cases import CaseError, _event, may_work_on, move_case, refuse
from xinan.core import audit, outbox

for _code, _label in [
    ("cases.referral.send", gettext_lazy("发出转介")),
    ("cases.referral.accept", gettext_lazy("接收转介")),
    ("cases.referral.decline", gettext_lazy("拒收转介")),
    ("cases.referral.complete", gettext_lazy("反馈转介结果")),
    ("cases.referral.refused", gettext_lazy("拒绝转介操作")),
]:
    audit.register_action(_code, _label)

# How long a receiving institution's staff keep access to a person they accepted.
GRANT_DAYS = 180


def consent_for_sharing(person):
    """The person's latest data-sharing consent, if it is a yes."""
    from xinan.people.models import ConsentKind

    latest = person.consents.filter(kind=ConsentKind.DATA_SHARING).order_by("-recorded_at").first()
    return latest if latest is not None and latest.granted else None


def institutions_of(user) -> list[int]:
    return [m.institution_id for m in user.active_memberships() if m.institution_id]


def _emit(topic: str, r: Referral) -> None:
    outbox.emit(
        topic,
        dataclasses.asdict(
            topics.ReferralEvent(
                referral_id=r.pk,
                case_id=r.case_id,
                person_id=r.person_id,
                direction=r.direction,
                from_institution_id=r.from_institution_id,
                to_institution_id=r.to_institution_id,
                status=r.status,
                urgency=r.urgency,
            )
        ),
    )


def create_referral(
    case: Case,
    *,
    actor,
    to_institution,
    direction: str,
    urgency: str,
    reason: str,
    notes: str = "",
    assessment_ids: list[int] | tuple[int, ...] = (),
    legal_basis: str = "",
    from_institution=None,
    parent: Referral | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Refer the case's person to another institution.

    Needs the person's data-sharing consent or a recorded legal basis, an institution that
    takes this direction of referral, and a case that may move to 转介 (or is there). Creates
    the receiving institution's answer task (rules of `referral_sent`) and emits
    `referral.sent`. Raises CaseError with a Chinese message otherwise; nothing is saved then.
    """
    now = now or timezone.now()
    reason, legal_basis = reason.strip(), legal_basis.strip()
    if not may_work_on(actor, case):
        refuse(actor, case, _("您无权处理此个案"), action="cases.referral.refused")
    if direction not in Direction.values:
        raise CaseError(_("请选择转介方向"), field="direction")
    if urgency not in Urgency.values:
        raise CaseError(_("请选择紧急程度"), field="urgency")
    if to_institution is None:
        raise CaseError(_("请选择接收机构"), field="to_institution")
    if to_institution.kind not in DIRECTION_KINDS[direction]:
        raise CaseError(
            _("%(name)s不接收“%(direction)s”类转介")
            % {"name": to_institution.name, "direction": Direction(direction).label},
            field="to_institution",
        )
    if not reason:
        raise CaseError(_("请填写转介原因"), field="reason")
    if from_institution is None:
        mine = institutions_of(actor)
        from_institution = mine[0] if mine else None
        if from_institution is not None:
            from xinan.core.models import Institution

            from_institution = Institution.objects.get(pk=from_institution)
    if from_institution is not None and from_institution.pk == to_institution.pk:
        raise CaseError(_("不能转介给本机构"), field="to_institution")
    with transaction.atomic():
        locked = Case.objects.select_for_update().select_related("person").get(pk=case.pk)
        consent = consent_for_sharing(locked.person)
        if consent is None and not legal_basis:
            raise CaseError(
                _("该居民未同意向其他机构共享信息：请先记录知情同意，或填写法定依据"),
                field="legal_basis",
            )
        if not locked.is_open:
            raise CaseError(_("个案已结案，不能转介"))
        if locked.stage != Stage.REFER:
            if not locked.can_move_to(Stage.REFER):
                raise CaseError(
                    _("个案处于“%(stage)s”阶段，请先完成鉴别再转介")
                    % {"stage": locked.get_stage_display()}
                )
            locked = move_case(locked, to=Stage.REFER, actor=actor, now=now)
        referral = Referral.objects.create(
            case=locked,
            person_id=locked.person_id,
            direction=direction,
            from_institution=from_institution,
            to_institution=to_institution,
            urgency=urgency,
            reason=reason,
            notes=notes.strip(),
            assessment_ids=[int(a) for a in assessment_ids],
            consent=consent,
            legal_basis=legal_basis,
            sent_at=now,
            sent_by=actor,
            answer_due_at=now,
            parent=parent,
        )
        made = tasks.create_from_rules(
            locked, Trigger.REFERRAL_SENT, start=now, actor=actor, referral=referral
        )
        answer = [t.due_at for t in made if t.kind == TaskKind.REFERRAL_ANSWER]
        referral.answer_due_at = min(answer) if answer else now + dt.timedelta(days=2)
        referral.save(update_fields=["answer_due_at"])
        _event(locked, CaseEventKind.SIGNAL, actor=actor, note=str(referral), at=now)
        audit.record("cases.referral.send", referral, actor=actor, reason=str(referral))
        _emit(topics.REFERRAL_SENT, referral)
    return referral


def inbox(user) -> QuerySet:
    """Referrals addressed to the institutions the user works at."""
    return Referral.objects.filter(to_institution_id__in=institutions_of(user)).select_related(
        "person", "from_institution", "to_institution", "sent_by"
    )


def sent(user) -> QuerySet:
    """Referrals the user, or the user's institutions, sent."""
    q = Q(sent_by=user)
    mine = institutions_of(user)
    if mine:
        q |= Q(from_institution_id__in=mine)
    return Referral.objects.filter(q).select_related("person", "to_institution", "sent_by")


def _check_receiver(referral: Referral, actor, verb: str) -> None:
    """Refuse (audited, before any transaction of the answer) if the actor does not work at
    the receiving institution."""
    if referral.to_institution_id not in institutions_of(actor):
        refuse(
            actor,
            referral.case,
            _("该转介不是发给您所在机构的，不能%(verb)s") % {"verb": verb},
            action="cases.referral.refused",
        )


def _lock(referral: Referral) -> Referral:
    return Referral.objects.select_for_update().select_related("case", "person").get(pk=referral.pk)


def _close_answer_tasks(referral: Referral, actor, now) -> None:
    Task.objects.filter(
        referral=referral, kind=TaskKind.REFERRAL_ANSWER, status=TaskStatus.OPEN
    ).update(status=TaskStatus.DONE, done_at=now, done_by=actor)
    Task.objects.filter(referral=referral, kind=TaskKind.ESCALATION, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, result=_("转介已答复")
    )


def accept_referral(referral: Referral, *, actor, now: dt.datetime | None = None) -> Referral:
    """The receiving institution takes the person on: its staff gain access through the gate
    until the grant expires. A 下转 also creates the community's follow-up tasks."""
    now = now or timezone.now()
    _check_receiver(referral, actor, _("接收"))
    with transaction.atomic():
        locked = _lock(referral)
        if locked.status != ReferralStatus.SENT:
            raise CaseError(
                _("该转介已%(status)s，不能重复接收") % {"status": locked.get_status_display()}
            )
        locked.status, locked.answered_at, locked.answered_by = ReferralStatus.ACCEPTED, now, actor
        locked.grant_id = _grant(locked, actor, now)
        locked.save(update_fields=["status", "answered_at", "answered_by", "grant_id"])
        _close_answer_tasks(locked, actor, now)
        if locked.direction == Direction.DOWN:
            case = locked.case
            if case.stage != Stage.FOLLOW_UP and case.can_move_to(Stage.FOLLOW_UP):
                _stage_by_system(case, Stage.FOLLOW_UP, actor, now)
            tasks.create_from_rules(
                case, Trigger.REFERRAL_DOWN, start=now, actor=actor, referral=locked
            )
        audit.record("cases.referral.accept", locked, actor=actor, changed_fields=["status"])
        _emit(topics.REFERRAL_ACCEPTED, locked)
    return locked


def _stage_by_system(case: Case, stage: str, actor, now) -> None:
    previous = case.stage
    Case.objects.filter(pk=case.pk).update(stage=stage)
    case.stage = stage
    _event(case, CaseEventKind.STAGE, actor=actor, from_stage=previous, to_stage=stage, at=now)


def _grant(referral: Referral, actor, now) -> int:
    """Access for the receiving institution's staff through the gate, for GRANT_DAYS."""
    from xinan.core import scope

    grant = scope.grant_access(
        referral.person,
        to_institution=referral.to_institution,
        kind="referral",
        reason=_("接收转介 #%(id)s") % {"id": referral.pk},
        source=f"cases.referral:{referral.pk}",
        expires_at=now + dt.timedelta(days=GRANT_DAYS),
        actor=actor,
    )
    return grant.pk


def decline_referral(referral: Referral, *, actor, reason: str) -> Referral:
    reason = reason.strip()
    if not reason:
        raise CaseError(_("请填写拒收理由"), field="reason")
    now = timezone.now()
    _check_receiver(referral, actor, _("拒收"))
    with transaction.atomic():
        locked = _lock(referral)
        if locked.status != ReferralStatus.SENT:
            raise CaseError(
                _("该转介已%(status)s，不能再拒收") % {"status": locked.get_status_display()}
            )
        locked.status, locked.answered_at, locked.answered_by = ReferralStatus.DECLINED, now, actor
        locked.decline_reason = reason[:300]
        locked.save(update_fields=["status", "answered_at", "answered_by", "decline_reason"])
        _close_answer_tasks(locked, actor, now)
        audit.record("cases.referral.decline", locked, actor=actor, reason=reason[:200])
        _emit(topics.REFERRAL_DECLINED, locked)
    return locked


def complete_referral(
    referral: Referral,
    *,
    actor,
    diagnosis_summary: str,
    treatment_plan: str,
    recommended_follow_up: str = "",
) -> Referral:
    """The receiver returns its outcome: diagnosis summary, treatment plan, follow-up advice."""
    diagnosis_summary, treatment_plan = diagnosis_summary.strip(), treatment_plan.strip()
    if not diagnosis_summary or not treatment_plan:
        raise CaseError(_("请填写诊断摘要和治疗方案"), field="diagnosis_summary")
    _check_receiver(referral, actor, _("反馈结果"))
    with transaction.atomic():
        locked = _lock(referral)
        if locked.status != ReferralStatus.ACCEPTED:
            raise CaseError(_("只有已接收的转介才能反馈结果"))
        locked.status, locked.completed_at = ReferralStatus.COMPLETED, timezone.now()
        locked.diagnosis_summary, locked.treatment_plan = diagnosis_summary, treatment_plan
        locked.recommended_follow_up = recommended_follow_up.strip()
        locked.save(
            update_fields=[
                "status",
                "completed_at",
                "diagnosis_summary",
                "treatment_plan",
                "recommended_follow_up",
            ]
        )
        audit.record(
            "cases.referral.complete",
            locked,
            actor=actor,
            changed_fields=["diagnosis_summary", "treatment_plan", "recommended_follow_up"],
        )
        _emit(topics.REFERRAL_COMPLETED, locked)
    return locked
