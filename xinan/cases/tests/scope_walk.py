"""cases' part of the walk-every-URL test (xinan/testing/scope_walk.py): a case of the other
district with a task, a counselling session's notes, a referral to its mental health centre
and a follow-up with a personal link."""

import datetime as dt

from django.utils import timezone

from xinan.cases import services
from xinan.cases.models import Case, CaseSource, FollowUp, Intervention, Referral, Task
from xinan.core.models import InstitutionKind
from xinan.people.models import Consent
from xinan.testing import factories
from xinan.testing.scope_walk import Hidden, Page, World


def build(world: World) -> None:
    counsellor = factories.staff("counsellor", area=world.town, username="xh_case_counsellor")
    mhc = factories.institution(
        world.district, "徐汇区精神卫生中心", InstitutionKind.MENTAL_HEALTH_CENTRE
    )
    world.add("mhc", mhc)
    case, _ = services.open_case(
        world.person, actor=counsellor, source=CaseSource.MANUAL, line="general", note="外区建档XH"
    )
    case = services.move_case(
        case, to="identify", actor=counsellor, judgement="外区鉴别意见XH", basis="外区依据XH"
    )
    services.record_intervention(
        case,
        actor=counsellor,
        kind="individual",
        started_at=timezone.now(),
        minutes=50,
        online=True,
        notes="外区咨询记录XH",
    )
    Consent.objects.create(person=world.person, kind="data_sharing", granted=True)
    referral = services.create_referral(
        case,
        actor=counsellor,
        to_institution=mhc,
        direction="up",
        urgency="routine",
        reason="外区转介原因XH",
    )
    task = services.add_task(
        case,
        actor=counsellor,
        kind="other",
        title="外区回访任务XH",
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    follow_up = services.schedule_follow_up(
        case, actor=counsellor, instrument="phq9", due_at=timezone.now(), mode="link"
    )
    case.refresh_from_db()
    for name, obj in [
        ("case", case),
        ("referral", referral),
        ("task", task),
        ("follow_up", follow_up),
    ]:
        world.add(name, obj)
    world.secret(
        "外区建档XH",
        "外区鉴别意见XH",
        "外区依据XH",
        "外区咨询记录XH",
        "外区转介原因XH",
        "外区回访任务XH",
    )
    world.watch("its cases", Case.objects.filter(person=world.person))
    world.watch("its tasks", Task.objects.filter(person=world.person))
    world.watch("its sessions", Intervention.objects.filter(person=world.person))
    world.watch("its referrals", Referral.objects.filter(person=world.person))
    world.watch("its follow-ups", FollowUp.objects.filter(person=world.person))


def _case(w: World) -> dict:
    return {"pk": w.case.pk}


def _referral(w: World) -> dict:
    return {"pk": w.referral.pk}


def _work(w: World) -> dict:
    """Every field any of the case's forms takes, valid."""
    when = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    return {
        "to": "closed",
        "reason": "recovered",
        "outcome": "remission",
        "to_user": str(w.staff.pk),
        "kind": "individual",
        "title": "越权任务",
        "due_at": when,
        "started_at": when,
        "minutes": "50",
        "online": "on",
        "notes": "越权记录",
        "instrument": "phq9",
        "mode": "staff",
        "direction": "up",
        "to_institution": str(w.mhc.pk),
        "urgency": "routine",
        "legal_basis": "越权依据",
        "result": "越权完成",
    }


def _answer(w: World) -> dict:
    return {
        "reason": "越权拒收",
        "diagnosis_summary": "越权诊断",
        "treatment_plan": "越权方案",
    }


URLS = {
    "cases:worklist": Page(data=lambda w: {"when": "overdue", "kind": "other"}),
    "cases:list": Page(data=lambda w: {"stage": "all"}),
    "cases:open": Hidden(lambda w: {"person_pk": w.person.pk}, data=lambda w: {"line": "general"}),
    "cases:detail": Hidden(_case),
    "cases:move": Hidden(_case, data=_work),
    "cases:assign": Hidden(_case, data=_work),
    "cases:task": Hidden(_case, data=_work),
    "cases:intervention": Hidden(_case, data=_work),
    "cases:follow_up": Hidden(_case, data=_work),
    "cases:refer": Hidden(_case, data=_work),
    "cases:reveal": Hidden(_case),
    "cases:task_done": Hidden(lambda w: {"pk": w.task.pk}, data=_work),
    "cases:referrals": Page(data=lambda w: {"box": "in"}),
    "cases:referral": Hidden(_referral),
    "cases:referral_accept": Hidden(_referral),
    "cases:referral_decline": Hidden(_referral, data=_answer),
    "cases:referral_complete": Hidden(_referral, data=_answer),
    # a bearer link meant for whoever holds it: an empty answer changes nothing
    "cases:follow_up_link": Page(lambda w: {"token": w.follow_up.token}),
    "cases:figures": Page(data=lambda w: {"area": w.district.code}),
    "cases:figures_export": Page(data=lambda w: {"area": w.district.code}),
}
