"""smd's part of the walk-every-URL test (xinan/testing/scope_walk.py): a registered patient of
the other district with a follow-up, an emergency, an exam and a pending hospital report."""

import datetime as dt

from django.utils import timezone

from xinan.smd.models import (
    DiagnosisReport,
    Drug,
    Emergency,
    FollowUp,
    Patient,
    PhysicalExam,
)
from xinan.testing import factories
from xinan.testing.scope_walk import Hidden, Page, World


def build(world: World) -> None:
    now = timezone.now()
    doctor = factories.staff("doctor", institution=world.institution, username="xh_doctor")
    patient = Patient.objects.create(
        person=world.person, disorder="F20", icd10_code="F20.0",
        diagnosis_institution="外区精神卫生中心XH", diagnosis_date=dt.date(2020, 1, 1),
        registered_on=dt.date(2021, 1, 1), managing_institution=world.institution,
        doctor=doctor, guardian_name="外区监护人XH", guardian_phone="13844445555",
        specialist_advice="外区专科意见XH", current_risk=4, current_class="unstable",
        next_due_on=dt.date(2026, 1, 1), due_at=now,
    )  # fmt: skip
    world.add("smd_patient", patient)
    f = FollowUp.objects.create(
        patient=patient, visit_date=dt.date(2025, 12, 1), mode="home", risk_level=4,
        computed_class="unstable", doctor=doctor, notes="外区随访记录XH",
        next_visit_date=dt.date(2025, 12, 15),
    )  # fmt: skip
    Drug.objects.create(follow_up=f, name="外区药物XH", dose="1mg", frequency="每日1次")
    world.add("smd_follow_up", f)
    e = Emergency.objects.create(
        patient=patient, occurred_at=now, risk_level=4, due_at=now + dt.timedelta(hours=24),
        recorded_by=doctor, description="外区应急经过XH", triggers=["relapse"],
    )  # fmt: skip
    world.add("smd_emergency", e)
    world.add(
        "smd_exam",
        PhysicalExam.objects.create(
            patient=patient, year=2025, consent=True, recorded_by=doctor, other="外区体检结论XH"
        ),
    )
    other = factories.PersonFactory(name="外区报告对象XH", home_area=world.grid)
    report = DiagnosisReport.objects.create(
        person=other, reporting_institution=world.institution, disorder="F31",
        icd10_code="F31.1", diagnosis_date=dt.date(2025, 11, 1), reported_by=doctor,
        report_due_on=dt.date(2025, 11, 14), due_at=now,
    )  # fmt: skip
    world.add("smd_report", report)
    world.secret("外区精神卫生中心XH", "外区监护人XH", "13844445555", "外区专科意见XH",
                 "外区随访记录XH", "外区药物XH", "外区应急经过XH", "外区体检结论XH",
                 "外区报告对象XH")  # fmt: skip
    world.watch("smd patients there", Patient.objects.filter(person=world.person))
    world.watch("smd follow-ups there", FollowUp.objects.filter(patient=patient))
    world.watch("smd emergencies there", Emergency.objects.filter(patient=patient))
    world.watch("smd exams there", PhysicalExam.objects.filter(patient=patient))
    world.watch("smd reports there", DiagnosisReport.objects.filter(person=other))


def _patient(w: World) -> dict:
    return {"pk": w.smd_patient.pk}


def _follow_up_form(w: World) -> dict:
    return {
        "visit_date": "2026-11-02", "mode": "home", "reached": "on", "risk_level": "0",
        "psychotic": "1", "insight": "1", "adherence": "4", "disorder": "F31",
        "icd10_code": "F31.1", "diagnosis_institution": "越权", "diagnosis_date": "2020-01-01",
        "year": "2026", "consent": "on", "occurred_at": "2026-11-02T10:00",
        "triggers": "relapse", "involved": "police", "to_area": w.village.code, "reason": "越权",
        "drug-TOTAL_FORMS": "0", "drug-INITIAL_FORMS": "0",
    }  # fmt: skip


URLS = {
    "smd:worklist": Page(),
    "smd:register": Page(
        data=lambda w: {
            "id_number": w.person.id_number,
            "disorder": "F20",
            "icd10_code": "F20",
            "diagnosis_institution": "越权",
            "diagnosis_date": "2020-01-01",
        }
    ),  # fmt: skip
    "smd:patient": Hidden(_patient),
    "smd:patient_edit": Hidden(_patient, data=_follow_up_form),
    "smd:follow_up_new": Hidden(_patient, data=_follow_up_form),
    "smd:exam": Hidden(_patient, data=_follow_up_form),
    "smd:emergency_new": Hidden(_patient, data=_follow_up_form),
    "smd:transfer": Hidden(_patient, data=_follow_up_form),
    "smd:follow_up": Hidden(lambda w: {"pk": w.smd_follow_up.pk}),
    "smd:follow_up_override": Hidden(
        lambda w: {"pk": w.smd_follow_up.pk},
        data=lambda w: {"override_class": "stable", "override_reason": "越权调整分类"},
    ),
    "smd:emergency_complete": Hidden(
        lambda w: {"pk": w.smd_emergency.pk}, data=lambda w: {"description": "越权完成"}
    ),
    "smd:reports": Page(),
    "smd:report_new": Page(
        data=lambda w: {
            "id_number": w.person.id_number,
            "institution": w.institution.pk,
            "disorder": "F20",
            "icd10_code": "F20",
            "diagnosis_date": "2025-01-01",
        }
    ),  # fmt: skip
    "smd:indicators": Page(data=lambda w: {"area": w.district.code}),
    "smd:indicator_patients": Page(data=lambda w: {"area": w.district.code}),
    "smd:indicators_xlsx": Page(data=lambda w: {"area": w.district.code}),
}
