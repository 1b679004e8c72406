"""The smd app's part of a person's data export and erasure (PIPL, issue 11)."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from xinan.people import services_privacy
from xinan.people.services import PersonError
from xinan.smd import privacy, services
from xinan.smd.models import Drug, FollowUp, Patient, PhysicalExam
from xinan.smd.tests.conftest import register, visit

REASON = "本人书面申请，2026-12-01受理"
GUARDIAN = {
    "guardian_name": "张父",
    "guardian_relation": "父子",
    "guardian_phone": "13900001111",
    "guardian_address": "长宁区安顺路12号",
    "village_contact_name": "李主任",
    "village_contact_phone": "13900002222",
    "notes": "家属配合",
}


def raw(table: str, column: str, pk: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def record(person_a, doctor):
    patient = register(person_a, doctor, registered_on=dt.date(2025, 1, 1), **GUARDIAN)
    follow_up = visit(
        patient, doctor, dt.date(2025, 3, 1), notes="服药规律，情绪平稳", risk_level=1
    )
    exam = services.record_exam(
        patient=patient,
        values={"year": 2025, "consent": True, "consent_by": "张父", "other": "血脂偏高"},
        actor=doctor,
    )
    emergency = services.record_emergency(
        patient=patient,
        values={
            "occurred_at": timezone.now() - dt.timedelta(hours=2),
            "triggers": ["self_harm"],
            "risk_level": 2,
            "involved": ["doctor"],
            "disposals": ["calm"],
            "description": "夜间自伤，家属报告",
        },
        actor=doctor,
    )
    patient.refresh_from_db()
    return patient, follow_up, exam, emergency


def test_it_exports_the_patients_record_and_not_anothers(record, person_b, doctor_b):
    patient, follow_up, exam, emergency = record
    register(person_b, doctor_b, guardian_name="王母")
    data = privacy.export_person(patient.person)
    assert data["patient"]["id"] == patient.pk
    assert (data["patient"]["guardian_phone"], data["patient"]["village_contact_name"]) == (
        "13900001111",
        "李主任",
    )
    (f,) = data["follow_ups"]
    assert (f["notes"], f["risk_level"], f["drugs"][0]["name"]) == (
        "服药规律，情绪平稳",
        1,
        "利培酮",
    )
    assert [e["description"] for e in data["emergencies"]] == ["夜间自伤，家属报告"]
    assert [x["other"] for x in data["exams"]] == ["血脂偏高"]
    assert privacy.export_person(person_b)["patient"]["guardian_name"] == "王母"
    assert privacy.export_person(person_b)["follow_ups"] == []


def test_an_unfinished_emergency_record_blocks_erasure(record, district_admin):
    patient = record[0]
    with pytest.raises(PersonError, match="未完成的严重精神障碍应急处置记录单"):
        services_privacy.erase_person(patient.person, actor=district_admin, reason=REASON)
    assert Patient.objects.get(pk=patient.pk).guardian_phone == "13900001111"


def test_it_erases_contacts_and_free_text_and_keeps_what_is_counted(record, doctor, district_admin):
    patient, follow_up, exam, emergency = record
    services.complete_emergency(emergency, description="夜间自伤，已送医", actor=doctor)
    services_privacy.erase_person(patient.person, actor=district_admin, reason=REASON)
    for column in ["guardian_name", "guardian_phone", "guardian_address", "village_contact_phone",
                   "village_contact_name", "notes"]:  # fmt: skip
        assert raw("smd_patient", column, patient.pk) == "", column
    assert raw("smd_followup", "notes", follow_up.pk) == ""
    assert raw("smd_emergency", "description", emergency.pk) == ""
    assert raw("smd_physicalexam", "other", exam.pk) == ""
    assert raw("smd_physicalexam", "consent_by", exam.pk) == ""
    patient.refresh_from_db()
    assert (patient.disorder, patient.current_risk, patient.registered_on) == (
        "F20",
        2,
        dt.date(2025, 1, 1),
    )
    kept = FollowUp.objects.get(pk=follow_up.pk)
    assert (kept.risk_level, kept.classification, kept.visit_date) == (
        1,
        follow_up.classification,
        dt.date(2025, 3, 1),
    )
    assert Drug.objects.filter(follow_up=follow_up).count() == 1
    assert PhysicalExam.objects.get(pk=exam.pk).year == 2025
