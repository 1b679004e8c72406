"""The smd app's part of a person's data export and erasure (xinan/core/privacy.py): the
registry record (with its 个人信息补充表 fields), follow-ups with their drugs, emergencies,
physical exams and diagnosis reports; no erasure while an emergency record is unfinished."""

from django.utils.translation import gettext as _

from xinan.core import privacy
from xinan.core.lib import jsonsafe
from xinan.smd.models import (
    DiagnosisReport,
    Drug,
    Emergency,
    FollowUp,
    Patient,
    PhysicalExam,
    Transfer,
)

PATIENT_FIELDS = [
    "id",
    "disorder",
    "icd10_code",
    "diagnosis_institution",
    "diagnosis_date",
    "registered_on",
    "status",
    "managing_institution_id",
    "guardian_name",
    "guardian_relation",
    "guardian_phone",
    "guardian_address",
    "village_contact_name",
    "village_contact_phone",
    "household",
    "employment",
    "consent_management",
    "consent_signed_by",
    "consent_date",
    "onset_date",
    "past_symptoms",
    "past_locking",
    "outpatient_history",
    "first_antipsychotic_date",
    "inpatient_times",
    "economic_status",
    "specialist_advice",
    "notes",
    "current_risk",
    "current_class",
    "last_follow_up_on",
    "next_due_on",
    "death_date",
    "death_cause",
]
# Every field of the follow-up form but the bookkeeping ones.
FOLLOW_UP_SKIP = {"id", "patient", "overridden_by", "doctor", "fired_rules"}
FOLLOW_UP_TEXT = {
    "symptoms_other": "",
    "lab_results": "",
    "adverse_text": "",
    "referral_reason": "",
    "referral_to": "",
    "rehab_other": "",
    "notes": "",
    "override_reason": "",
}
EMERGENCY_FIELDS = [
    "occurred_at",
    "triggers",
    "risk_level",
    "involved",
    "disposals",
    "hospital",
    "description",
    "due_at",
    "completed_at",
]
EXAM_FIELDS = [
    "year",
    "consent",
    "consent_by",
    "exam_date",
    "blood_routine",
    "glucose",
    "liver_function",
    "ecg",
    "other",
]
REPORT_FIELDS = [
    "reporting_institution_id",
    "disorder",
    "icd10_code",
    "diagnosis_date",
    "reported_at",
    "report_due_on",
    "status",
    "handled_at",
    "notes",
]


@privacy.blocker("smd")
def unfinished_emergencies(person) -> str | None:
    n = Emergency.objects.filter(patient__person=person, completed_at__isnull=True).count()
    if n:
        return _("该居民有 %(n)d 份未完成的严重精神障碍应急处置记录单，须先完成后才能删除") % {
            "n": n
        }
    return None


def _follow_up_fields() -> list[str]:
    return [f.attname for f in FollowUp._meta.concrete_fields if f.name not in FOLLOW_UP_SKIP]


@privacy.exporter("smd")
def export_person(person) -> dict:
    patient = Patient.objects.filter(person=person).first()
    reports = jsonsafe.rows(
        DiagnosisReport.objects.filter(person=person).order_by("reported_at"), REPORT_FIELDS
    )
    if patient is None:
        return {"patient": None, "diagnosis_reports": reports}
    fields = _follow_up_fields()
    follow_ups = patient.follow_ups.prefetch_related("drugs").order_by("visit_date")
    return {
        "patient": jsonsafe.rows([patient], PATIENT_FIELDS)[0],
        "follow_ups": [
            {
                **jsonsafe.rows([f], fields)[0],
                "drugs": jsonsafe.rows(f.drugs.all(), ["name", "dose", "frequency"]),
            }
            for f in follow_ups
        ],
        "emergencies": jsonsafe.rows(patient.emergencies.order_by("occurred_at"), EMERGENCY_FIELDS),
        "exams": jsonsafe.rows(patient.exams.order_by("year"), EXAM_FIELDS),
        "transfers": jsonsafe.rows(
            patient.transfers.order_by("transferred_at"),
            ["from_area_id", "to_area_id", "reason", "transferred_at"],
        ),
        "diagnosis_reports": reports,
    }


@privacy.eraser("smd")
def erase_person(person, *, actor) -> None:
    """Disorder, dates, status, risk levels, classifications, the coded answers of follow-ups,
    danger counts, drug counts and exam years stay for the indicators; guardians' and contacts'
    names, phones and addresses, signatories, advice, notes, free text, drug names, exam
    results and transfer reasons go (a transfer's areas and date stay)."""
    Patient.objects.filter(person=person).update(
        guardian_name="",
        guardian_relation="",
        guardian_phone="",
        guardian_address="",
        village_contact_name="",
        village_contact_phone="",
        consent_signed_by="",
        specialist_advice="",
        notes="",
    )
    FollowUp.objects.filter(patient__person=person).update(**FOLLOW_UP_TEXT)
    Drug.objects.filter(follow_up__patient__person=person).update(
        name=_("（已删除）"), dose="", frequency=""
    )
    Emergency.objects.filter(patient__person=person).update(description="", hospital="")
    PhysicalExam.objects.filter(patient__person=person).update(
        consent_by="", blood_routine="", glucose="", liver_function="", ecg="", other=""
    )
    Transfer.objects.filter(patient__person=person).update(reason="")
    DiagnosisReport.objects.filter(person=person).update(notes="")
