"""Interventions (sessions, visits, medication) and follow-ups (repeat assessments, outcome
flags, lost to follow-up)."""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.cases.models import (
    INTERVENTION_ROLES,
    Case,
    CaseEventKind,
    FollowUp,
    FollowUpMode,
    FollowUpStatus,
    Intervention,
    InterventionKind,
    Stage,
    Task,
    TaskKind,
    TaskStatus,
)
from xinan.cases.services.cases import CaseError, _event, may_work_on, refuse
from xinan.core import audit, scope
from xinan.core.lib import fastsql

for _code, _label in [
    ("cases.intervention.record", gettext_lazy("记录干预")),
    ("cases.intervention.refused", gettext_lazy("拒绝记录干预")),
    ("cases.intervention.view_notes", gettext_lazy("查看干预记录")),
    ("cases.follow_up.schedule", gettext_lazy("安排随访复评")),
    ("cases.follow_up.lost", gettext_lazy("标记失访")),
]:
    audit.register_action(_code, _label)


def record_intervention(
    case: Case,
    *,
    actor,
    kind: str,
    started_at: dt.datetime,
    minutes: int,
    site=None,
    service_site=None,
    online: bool = False,
    notes: str = "",
    attendees=(),
    appointment_id: int | None = None,
    from_event: bool = False,
) -> Intervention:
    """Record a session, visit or treatment in the case. Medication only by doctors and
    psychiatrists; a group session names its attendees (all of whom the actor may see).
    `from_event`: a session another app reports as held (booking), not a user's entry."""
    if kind not in InterventionKind.values:
        raise CaseError(_("请选择干预方式"), field="kind")
    if not from_event:
        if not actor.roles() & INTERVENTION_ROLES[kind]:
            refuse(
                actor,
                case,
                _("您的角色不能记录“%(kind)s”") % {"kind": InterventionKind(kind).label},
                action="cases.intervention.refused",
            )
        if not may_work_on(actor, case):
            refuse(actor, case, _("您无权处理此个案"), action="cases.intervention.refused")
    if not minutes or minutes <= 0 or minutes > 24 * 60:
        raise CaseError(_("请填写时长（1–1440分钟）"), field="minutes")
    if site is None and service_site is None and not online:
        raise CaseError(_("请选择服务地点，或注明线上进行"), field="site")
    attendees = list(attendees)
    if kind == InterventionKind.GROUP and not attendees:
        raise CaseError(_("团体辅导请登记参加者"), field="attendees")
    outside = [p for p in attendees if scope.detail_for(actor, p) == scope.Detail.NONE]
    if outside:
        refuse(actor, case, _("参加者中有您无权查看的居民"), action="cases.intervention.refused")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if not locked.is_open:
            raise CaseError(_("个案已结案，不能记录干预"))
        intervention = Intervention.objects.create(
            case=locked,
            person_id=locked.person_id,
            kind=kind,
            by=actor,
            started_at=started_at,
            minutes=minutes,
            site=site,
            service_site=service_site,
            online=online,
            notes=notes.strip(),
            appointment_id=appointment_id,
        )
        if attendees:
            intervention.attendees.set({locked.person, *attendees} - {None})
        fields = []
        if locked.first_intervention_at is None:
            locked.first_intervention_at = started_at
            fields.append("first_intervention_at")
        if locked.first_contact_at is None:
            locked.first_contact_at = started_at
            fields.append("first_contact_at")
        if locked.stage == Stage.IDENTIFY:
            _event(
                locked,
                CaseEventKind.STAGE,
                actor=actor,
                from_stage=locked.stage,
                to_stage="intervene",
                # A session entered late still follows the identification it rests on.
                at=max(started_at, locked.identified_at or locked.opened_at),
            )
            locked.stage = Stage.INTERVENE
            fields.append("stage")
        if fields:
            locked.save(update_fields=fields)
        audit.record("cases.intervention.record", intervention, actor=actor)
    return intervention


def may_read_notes(user, person) -> bool:
    return scope.detail_for(user, person, domain="case_notes") >= scope.Detail.FULL


# Follow-ups --------------------------------------------------------------------------------


def normalise(code: str) -> str:
    return (code or "").lower().replace("-", "").replace("_", "")


LABELS = {"phq9": "PHQ-9", "gad7": "GAD-7", "epds": "EPDS", "gds15": "GDS-15"}


def instrument_label(code: str) -> str:
    return LABELS.get(normalise(code), (code or "").upper())


def schedule_follow_up(
    case: Case, *, actor, instrument: str, due_at: dt.datetime, mode: str
) -> FollowUp:
    if mode not in FollowUpMode.values:
        raise CaseError(_("请选择复评方式"), field="mode")
    if not instrument:
        raise CaseError(_("请选择量表"), field="instrument")
    if not may_work_on(actor, case):
        refuse(actor, case, _("您无权处理此个案"))
    with transaction.atomic():
        follow_up = FollowUp.objects.create(
            case=case,
            person_id=case.person_id,
            instrument=instrument,
            due_at=due_at,
            mode=mode,
            token=new_token() if mode == FollowUpMode.LINK else None,
        )
        Task.objects.create(
            case=case,
            person_id=case.person_id,
            kind=TaskKind.FOLLOW_UP,
            title=_("随访复评（%(instrument)s）") % {"instrument": instrument_label(instrument)},
            due_at=due_at,
            area_code=case.area_code,
            assignee=case.responsible or actor,
            follow_up=follow_up,
        )
        audit.record("cases.follow_up.schedule", follow_up, actor=actor, area_code=case.area_code)
    return follow_up


def new_token() -> str:
    return secrets.token_urlsafe(24)


# A personal link opens this long before the follow-up is due.
LINK_OPENS_DAYS = 7


def follow_up_by_token(token: str) -> FollowUp | None:
    if not token or len(token) > 40:
        return None
    return FollowUp.objects.select_related("person").filter(token=token).first()


def answer_by_link(follow_up: FollowUp, answers: list, *, now: dt.datetime | None = None):
    """The resident answers their follow-up through the personal link: the assessment is
    saved as a self-assessment of that person (its event goes to crisis and the loop like any
    other) and completes this follow-up."""
    from django.contrib.auth.models import AnonymousUser

    from xinan.people import services as people_services
    from xinan.people.models import ConsentKind
    from xinan.screening import services as screening

    now = now or timezone.now()
    if follow_up.status != FollowUpStatus.SCHEDULED:
        raise CaseError(_("这次复评已完成或已过期，无需再填写"))
    if now < follow_up.due_at - dt.timedelta(days=LINK_OPENS_DAYS):
        raise CaseError(
            _("复评时间未到，请于 %(day)s 之后填写")
            % {"day": timezone.localtime(follow_up.due_at).strftime("%Y-%m-%d")}
        )
    inst = screening.instrument(follow_up.instrument)
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.status != FollowUpStatus.SCHEDULED:
            raise CaseError(_("这次复评已完成或已过期，无需再填写"))
        people_services.record_consent(
            locked.person, kind=ConsentKind.ASSESSMENT, granted=True, actor=None
        )
        a = screening.submit_assessment(
            instrument_code=inst.code,
            answers=answers,
            mode="self",
            actor=AnonymousUser(),
            person=locked.person,
        )
        _complete(locked, a.pk, a.submitted_at)
    return a


def _complete(follow_up: FollowUp, assessment_id: int, at: dt.datetime) -> None:
    follow_up.status, follow_up.assessment_id, follow_up.done_at = (
        FollowUpStatus.DONE,
        assessment_id,
        at,
    )
    follow_up.save(update_fields=["status", "assessment_id", "done_at"])
    Task.objects.filter(follow_up=follow_up, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, done_at=at, result=_("已完成复评")
    )


def record_assessment(payload: dict) -> int:
    """An assessment of a person with scheduled follow-ups of that instrument completes the
    earliest one that is due within a week (from any path: link, staff entry, import)."""
    person_id, instrument = payload.get("person_id"), normalise(payload.get("instrument", ""))
    if not person_id or not payload.get("assessment_id"):
        return 0
    submitted = (
        dt.datetime.fromisoformat(payload["submitted_at"])
        if payload.get("submitted_at")
        else timezone.now()
    )
    window = submitted + dt.timedelta(days=7)
    # Nearly every assessment has no follow-up due: one indexed read (the person's) says so
    # before any lock or savepoint is taken, in SQL built once (fastsql): the default lane runs
    # this for every `assessment.scored`, where the ORM's building of the query was most of its
    # cost.
    until = connection.ops.adapt_datetimefield_value(window)
    due = [
        pk
        for pk, name in fastsql.fetchall(
            _due_sql(), [person_id, FollowUpStatus.SCHEDULED.value, until]
        )
        if normalise(name) == instrument
    ]
    if not due:
        return 0
    with transaction.atomic():
        if FollowUp.objects.filter(assessment_id=payload["assessment_id"]).exists():
            return 0
        match = (
            FollowUp.objects.select_for_update()
            .filter(pk__in=due, status=FollowUpStatus.SCHEDULED)
            .first()
        )
        if match is None:
            return 0
        _complete(match, payload["assessment_id"], submitted)
    return 1


def _due_sql() -> str:
    qn = connection.ops.quote_name
    return (
        f"SELECT {qn('id')}, {qn('instrument')} FROM {qn(FollowUp._meta.db_table)} "  # noqa: S608
        f"WHERE {qn('person_id')} = %s AND {qn('status')} = %s AND {qn('due_at')} <= %s"
    )


def lost_threshold() -> int:
    return int(getattr(settings, "CASES_LOST_AFTER_MISSED", 2))


def mark_missed(now: dt.datetime | None = None, *, grace_days: int = 7) -> int:
    """Follow-ups past due by more than `grace_days` are missed; a case with as many missed as
    the threshold is flagged lost to follow-up (and shows on its worker's list)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=grace_days)
    due = list(
        FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, due_at__lt=cutoff).values_list(
            "pk", "case_id"
        )[:1000]
    )
    cases = set()
    for pk, case_id in due:
        if FollowUp.objects.filter(pk=pk, status=FollowUpStatus.SCHEDULED).update(
            status=FollowUpStatus.MISSED
        ):
            Task.objects.filter(follow_up_id=pk, status=TaskStatus.OPEN).update(
                status=TaskStatus.CANCELLED, result=_("随访复评已错过")
            )
            cases.add(case_id)
    flagged = (
        FollowUp.objects.filter(case_id__in=cases, status=FollowUpStatus.MISSED)
        .values("case_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=lost_threshold())
        .values_list("case_id", flat=True)
    )
    for case in Case.objects.filter(pk__in=list(flagged), lost_to_follow_up=False).open():
        with transaction.atomic():
            if Case.objects.filter(pk=case.pk, lost_to_follow_up=False).update(
                lost_to_follow_up=True
            ):
                _event(case, CaseEventKind.LOST, note=_("多次未完成随访复评"))
                audit.record(
                    "cases.follow_up.lost", case, actor=None, changed_fields=["lost_to_follow_up"]
                )
    return len(due)


@dataclass(frozen=True)
class Flags:
    baseline: float | None
    latest: float | None
    response: bool
    remission: bool


# Remission cut-offs per instrument (PHQ-9 < 5, GAD-7 < 5); response is a ≥ 50% drop.
REMISSION_BELOW = {"phq9": 5.0, "gad7": 5.0}


def outcome_flags(instrument: str, totals: list[float]) -> Flags:
    """From a person's totals in time order: response (≥ 50% drop from the first) and remission
    (the latest under the instrument's cut-off)."""
    values = [t for t in totals if t is not None]
    if not values:
        return Flags(None, None, False, False)
    first, last = values[0], values[-1]
    response = len(values) > 1 and first > 0 and last <= first * 0.5
    cut = REMISSION_BELOW.get(normalise(instrument))
    remission = len(values) > 1 and cut is not None and last < cut
    return Flags(first, last, response, remission)


def score_series(user, person, instrument: str) -> list[tuple[dt.datetime, float]]:
    """The person's totals on an instrument over time, if the user may see scores."""
    from xinan.screening.models import Assessment

    if scope.detail_for(user, person) < scope.Detail.SCORES:
        return []
    rows = (
        scope.filter_related(user, Assessment.objects.filter(person=person))
        .exclude(total__isnull=True)
        .order_by("submitted_at")
        .values_list("instrument", "submitted_at", "total")
    )
    target = normalise(instrument)
    return [(at, total) for code, at, total in rows if normalise(code) == target]
