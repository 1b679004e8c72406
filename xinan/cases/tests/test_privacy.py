"""The cases app's part of a person's data export and erasure (PIPL, issue 11)."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from xinan.cases import privacy, services
from xinan.cases.models import CaseSource, Intervention, Referral, Task
from xinan.people import services_privacy
from xinan.people.services import PersonError

REASON = "本人书面申请，2026-12-01受理"


def raw(table: str, column: str, pk: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def history(identified_case, counsellor, chc):
    """Person A's case, identified, with an intervention and a referral, then closed."""
    case = identified_case
    now = timezone.now()
    intervention = Intervention.objects.create(
        case=case,
        person=case.person,
        kind="individual",
        by=counsellor,
        started_at=now,
        minutes=50,
        notes="谈到与母亲的冲突",
    )
    referral = Referral.objects.create(
        case=case,
        person=case.person,
        direction="down",
        to_institution=chc,
        urgency="routine",
        reason="需社区随访",
        notes="睡眠差三月",
        sent_by=counsellor,
        answer_due_at=now + dt.timedelta(days=3),
    )
    case = services.move_case(
        case,
        to="closed",
        actor=counsellor,
        reason="recovered",
        outcome="improved",
        note="情况好转，本人同意结案",
    )
    return case, intervention, referral


def test_it_exports_the_persons_cases_and_not_anothers(history, person_b, counsellor):
    case, intervention, referral = history
    services.open_case(person_b, actor=counsellor, source=CaseSource.MANUAL, line="general")
    data = privacy.export_person(case.person)
    (c,) = data["cases"]
    assert (c["id"], c["judgement"], c["judgement_basis"]) == (
        case.pk,
        "中度抑郁",
        "PHQ-9 15分，面谈",
    )
    assert c["close_note"] == "情况好转，本人同意结案"
    assert [h["to_stage"] for h in c["history"]][-1] == "closed"
    assert [i["notes"] for i in data["interventions"]] == ["谈到与母亲的冲突"]
    assert [(r["reason"], r["notes"]) for r in data["referrals"]] == [("需社区随访", "睡眠差三月")]
    assert all(t["case_id"] == case.pk for t in data["tasks"])
    assert privacy.export_person(person_b)["cases"][0]["id"] != case.pk


def test_it_erases_free_text_and_keeps_what_is_counted(history, district_admin):
    case, intervention, referral = history
    services_privacy.erase_person(case.person, actor=district_admin, reason=REASON)
    assert raw("cases_intervention", "notes", intervention.pk) == ""
    assert raw("cases_referral", "reason", referral.pk) == ""
    assert raw("cases_referral", "notes", referral.pk) == ""
    assert raw("cases_case", "judgement", case.pk) == ""
    assert raw("cases_case", "close_note", case.pk) == ""
    case.refresh_from_db()
    assert (case.stage, case.line, case.identified_at is not None, case.closed_at is not None) == (
        "closed",
        "general",
        True,
        True,
    )
    intervention.refresh_from_db()
    assert (intervention.kind, intervention.minutes) == ("individual", 50)
    assert Referral.objects.get(pk=referral.pk).direction == "down"
    assert not Task.objects.filter(person=case.person).exclude(result="").exists()


def test_an_open_case_blocks_erasure(case_a, district_admin):
    with pytest.raises(PersonError, match="未结案的个案"):
        services_privacy.erase_person(case_a.person, actor=district_admin, reason=REASON)
