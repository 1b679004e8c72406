"""Referral up and down, interventions, follow-ups and outcome flags."""

import datetime as dt

import pytest
from django.utils import timezone

from xinan.cases import consumers, services, sweeps
from xinan.cases.models import Case, FollowUp, Intervention, Referral, Task, TaskKind
from xinan.cases.tests.conftest import event, scored
from xinan.core import scope
from xinan.core.models import AccessGrant, AuditEntry, OutboxEvent
from xinan.people.models import Consent
from xinan.testing import factories


@pytest.fixture
def consented(person_a, counsellor):
    Consent.objects.create(person=person_a, kind="data_sharing", granted=True)
    return person_a


def refer_up(case, actor, mhc, **kw):
    return services.create_referral(
        case,
        actor=actor,
        to_institution=mhc,
        direction="up",
        urgency="routine",
        reason="抑郁症状持续，需精神科诊断",
        **kw,
    )


def test_it_refuses_a_referral_without_consent_or_legal_basis(identified_case, counsellor, mhc):
    with pytest.raises(services.CaseError, match="未同意"):
        refer_up(identified_case, counsellor, mhc)
    assert not Referral.objects.exists()
    identified_case.refresh_from_db()
    assert identified_case.stage == "identify"


def test_it_accepts_a_recorded_legal_basis_instead_of_consent(identified_case, counsellor, mhc):
    r = refer_up(identified_case, counsellor, mhc, legal_basis="《精神卫生法》第二十八条")
    assert r.status == "sent" and r.consent is None


def test_it_refuses_an_institution_that_does_not_take_the_direction(
    identified_case, counsellor, chc, consented
):
    with pytest.raises(services.CaseError, match="不接收"):
        refer_up(identified_case, counsellor, chc)


def test_it_refuses_referring_before_identification(case_a, counsellor, mhc, consented):
    with pytest.raises(services.CaseError, match="请先完成鉴别"):
        refer_up(case_a, counsellor, mhc)


def test_it_walks_a_referral_up_and_back_down(
    identified_case, counsellor, mhc, mhc_psychiatrist, chc, chc_doctor, consented
):
    r = refer_up(identified_case, counsellor, mhc)
    answer = Task.objects.get(kind=TaskKind.REFERRAL_ANSWER)
    assert answer.assignee_role == "psychiatrist" and answer.assignee_institution == mhc
    assert services.worklist(mhc_psychiatrist).filter(pk=answer.pk).exists()
    assert list(services.inbox(mhc_psychiatrist)) == [r]
    assert list(services.sent(counsellor)) == [r]
    r = services.accept_referral(r, actor=mhc_psychiatrist)
    assert r.status == "accepted"
    answer.refresh_from_db()
    assert answer.status == "done"
    with pytest.raises(services.CaseError, match="不能重复接收"):
        services.accept_referral(r, actor=mhc_psychiatrist)
    r = services.complete_referral(
        r,
        actor=mhc_psychiatrist,
        diagnosis_summary="抑郁发作（中度）",
        treatment_plan="舍曲林50mg qd",
        recommended_follow_up="社区每月随访",
    )
    assert r.status == "completed"
    down = services.create_referral(
        r.case,
        actor=mhc_psychiatrist,
        to_institution=chc,
        direction="down",
        urgency="routine",
        reason="病情稳定，下转社区随访",
        parent=r,
    )
    assert down.from_institution == mhc
    assert not scope.persons(chc_doctor).filter(pk=consented.pk).exists()
    services.accept_referral(down, actor=chc_doctor)
    # The receiving centre's staff now reach the person through a grant with an expiry.
    assert scope.persons(chc_doctor).filter(pk=consented.pk).exists()
    grant = AccessGrant.objects.get(source=f"cases.referral:{down.pk}")
    assert grant.to_institution == chc and grant.expires_at > timezone.now()
    case = Case.objects.get(pk=identified_case.pk)
    assert case.stage == "follow_up"
    follow_ups = Task.objects.filter(kind=TaskKind.FOLLOW_UP, case=case).order_by("due_at")
    days = [round((t.due_at - timezone.now()).total_seconds() / 86400) for t in follow_ups]
    assert days == [14, 30, 90]
    assert FollowUp.objects.filter(case=case).count() == 3
    topics = set(OutboxEvent.objects.values_list("topic", flat=True))
    assert {"referral.sent", "referral.accepted", "referral.completed"} <= topics


def test_it_refuses_and_audits_acceptance_by_the_wrong_institution(
    identified_case, counsellor, mhc, chc_doctor, consented
):
    r = refer_up(identified_case, counsellor, mhc)
    with pytest.raises(services.CaseError, match="不是发给您所在机构"):
        services.accept_referral(r, actor=chc_doctor)
    r.refresh_from_db()
    assert r.status == "sent"
    assert AuditEntry.objects.filter(action="cases.referral.refused", actor=chc_doctor).exists()


def test_it_declines_with_a_reason(identified_case, counsellor, mhc, mhc_psychiatrist, consented):
    r = refer_up(identified_case, counsellor, mhc)
    with pytest.raises(services.CaseError, match="拒收理由"):
        services.decline_referral(r, actor=mhc_psychiatrist, reason=" ")
    r = services.decline_referral(r, actor=mhc_psychiatrist, reason="非本院服务范围")
    assert r.status == "declined" and r.decline_reason == "非本院服务范围"


def test_it_escalates_an_unanswered_referral(
    identified_case, counsellor, mhc, consented, district_admin
):
    refer_up(identified_case, counsellor, mhc)
    assert sweeps.escalate_overdue_tasks(timezone.now() + dt.timedelta(days=5)) == 1
    escalation = Task.objects.get(kind=TaskKind.ESCALATION)
    assert escalation.referral_id is not None
    assert services.worklist(district_admin).filter(pk=escalation.pk).exists()


def test_it_refuses_medication_from_a_counsellor(identified_case, counsellor, psychiatrist):
    now = timezone.now()
    with pytest.raises(services.CaseError, match="您的角色不能记录“药物治疗”"):
        services.record_intervention(
            identified_case,
            actor=counsellor,
            kind="medication",
            started_at=now,
            minutes=10,
            online=True,
        )
    assert not Intervention.objects.exists()
    assert AuditEntry.objects.filter(action="cases.intervention.refused").exists()
    services.record_intervention(
        identified_case,
        actor=psychiatrist,
        kind="medication",
        started_at=now,
        minutes=10,
        online=True,
        notes="舍曲林",
    )
    case = Case.objects.get(pk=identified_case.pk)
    assert case.stage == "intervene" and case.first_intervention_at == now


def test_it_records_a_group_session_with_each_attendee(identified_case, counsellor, areas, chc):
    other = factories.PersonFactory(home_area=areas["grid_a2"])
    with pytest.raises(services.CaseError, match="参加者"):
        services.record_intervention(
            identified_case,
            actor=counsellor,
            kind="group",
            started_at=timezone.now(),
            minutes=90,
            site=chc,
        )
    i = services.record_intervention(
        identified_case,
        actor=counsellor,
        kind="group",
        started_at=timezone.now(),
        minutes=90,
        site=chc,
        attendees=[other],
    )
    assert set(i.attendees.all()) == {identified_case.person, other}


def test_it_refuses_a_group_attendee_outside_scope(identified_case, counsellor, person_b, chc):
    with pytest.raises(services.CaseError, match="无权查看"):
        services.record_intervention(
            identified_case,
            actor=counsellor,
            kind="group",
            started_at=timezone.now(),
            minutes=90,
            site=chc,
            attendees=[person_b],
        )


def test_it_needs_a_place_or_online(identified_case, counsellor):
    with pytest.raises(services.CaseError, match="服务地点"):
        services.record_intervention(
            identified_case,
            actor=counsellor,
            kind="individual",
            started_at=timezone.now(),
            minutes=50,
        )


def test_it_records_a_booked_session_once(identified_case, counsellor, chc):
    now = timezone.now()
    # booking names the service site; the intervention records the institution that runs it
    room = factories.service_site(
        chc.area, "社区心理咨询室", site_type="hospital_clinic", institution=chc
    )
    payload = {
        "appointment_id": 77,
        "person_id": identified_case.person_id,
        "counsellor_user_id": counsellor.pk,
        "site_id": room.pk,
        "started_at": now.isoformat(),
        "ended_at": (now + dt.timedelta(minutes=50)).isoformat(),
        "service": "counselling",
    }
    consumers.record_booked_session(event("booking.session_completed", payload))
    consumers.record_booked_session(event("booking.session_completed", payload))
    i = Intervention.objects.get()
    assert (i.case, i.minutes, i.site, i.kind) == (identified_case, 50, chc, "individual")
    assert (i.service_site, i.online) == (room, False)


def test_a_booked_session_at_a_site_of_no_institution_records_the_site(
    identified_case, counsellor, chc
):
    now = timezone.now()
    room = factories.service_site(chc.area, "居委心理咨询室", site_type="village_room")
    payload = {
        "appointment_id": 79,
        "person_id": identified_case.person_id,
        "counsellor_user_id": counsellor.pk,
        "site_id": room.pk,
        "started_at": now.isoformat(),
        "ended_at": (now + dt.timedelta(minutes=45)).isoformat(),
        "service": "counselling",
    }
    consumers.record_booked_session(event("booking.session_completed", payload))
    i = Intervention.objects.get()
    assert (i.site, i.service_site, i.online, i.minutes) == (None, room, False, 45)


def test_a_booked_session_without_a_site_was_online(identified_case, counsellor):
    now = timezone.now()
    payload = {
        "appointment_id": 78,
        "person_id": identified_case.person_id,
        "counsellor_user_id": counsellor.pk,
        "site_id": None,
        "started_at": now.isoformat(),
        "ended_at": (now + dt.timedelta(minutes=30)).isoformat(),
        "service": "counselling",
    }
    consumers.record_booked_session(event("booking.session_completed", payload))
    i = Intervention.objects.get()
    assert (i.site, i.online, i.minutes) == (None, True, 30)


def test_it_completes_a_follow_up_from_any_assessment(identified_case, counsellor):
    due = timezone.now() + dt.timedelta(days=3)
    f = services.schedule_follow_up(
        identified_case, actor=counsellor, instrument="phq9", due_at=due, mode="link"
    )
    consumers.complete_follow_up(event("assessment.scored", scored(identified_case.person, pk=8)))
    f.refresh_from_db()
    assert f.status == "done" and f.assessment_id == 8
    assert Task.objects.get(follow_up=f).status == "done"


def test_it_flags_a_case_lost_after_missed_follow_ups(identified_case, counsellor):
    past = timezone.now() - dt.timedelta(days=30)
    for days in (0, 7):
        services.schedule_follow_up(
            identified_case,
            actor=counsellor,
            instrument="phq9",
            due_at=past + dt.timedelta(days=days),
            mode="staff",
        )
    assert sweeps.mark_missed_follow_ups(timezone.now()) == 2
    case = Case.objects.get(pk=identified_case.pk)
    assert case.lost_to_follow_up


@pytest.mark.parametrize(
    ("totals", "response", "remission"),
    [
        ([18, 12, 9], True, False),
        ([18, 10], False, False),
        ([12, 4], True, True),
        ([6, 4], False, True),
        ([15], False, False),
        ([], False, False),
    ],
)
def test_it_computes_phq9_outcome_flags(totals, response, remission):
    flags = services.outcome_flags("PHQ-9", totals)
    assert (flags.response, flags.remission) == (response, remission)
