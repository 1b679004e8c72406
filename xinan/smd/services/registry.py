"""Register, update, report a diagnosis, transfer: the registry's verbs."""

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, outbox
from xinan.core.models import Area, AreaLevel, Institution
from xinan.smd import topics, visibility
from xinan.smd.models import (
    DISORDER_ICD_PREFIXES,
    DiagnosisReport,
    Disorder,
    Patient,
    ReportStatus,
    Transfer,
)

from .common import SmdError, add_working_days, conf, end_of, responsible_chc


def _check_icd(disorder: str, code: str) -> str:
    code = (code or "").strip().upper()
    if disorder not in Disorder.values:
        raise SmdError(_("请选择诊断"), field="disorder")
    if not code.startswith(DISORDER_ICD_PREFIXES[Disorder(disorder)]):
        raise SmdError(
            _("ICD-10编码 %(code)s 与诊断“%(name)s”不符（应以 %(prefixes)s 开头）")
            % {
                "code": code or "—",
                "name": Disorder(disorder).label,
                "prefixes": "、".join(DISORDER_ICD_PREFIXES[Disorder(disorder)]),
            },
            field="icd10_code",
        )
    return code


def _refuse_registered(person) -> None:
    existing = Patient.objects.filter(person=person).select_related("managing_institution").first()
    if existing is None:
        return
    where = existing.managing_institution.name if existing.managing_institution else "—"
    raise SmdError(
        _(
            "该身份证号的患者已于%(date)s登记在册（管理机构：%(where)s），不能重复登记；"
            "如患者已迁居，请在患者档案中办理转移"
        )
        % {"date": existing.registered_on, "where": where},
        field="id_number",
    )


PATIENT_FIELDS = (
    "disorder", "icd10_code", "diagnosis_institution", "diagnosis_date", "guardian_name",
    "guardian_relation", "guardian_phone", "guardian_address", "village_contact_name",
    "village_contact_phone", "household", "employment", "consent_management",
    "consent_signed_by", "consent_date", "onset_date", "past_symptoms", "past_locking",
    "outpatient_history", "first_antipsychotic_date", "inpatient_times", "economic_status",
    "specialist_advice", "notes",
)  # fmt: skip


def _validate_patient(values: dict[str, Any], today: dt.date) -> dict[str, Any]:
    values = {k: v for k, v in values.items() if k in PATIENT_FIELDS}
    values["icd10_code"] = _check_icd(values.get("disorder", ""), values.get("icd10_code", ""))
    diagnosed = values.get("diagnosis_date")
    if diagnosed is None:
        raise SmdError(_("请填写确诊日期"), field="diagnosis_date")
    if diagnosed > today:
        raise SmdError(_("确诊日期不能晚于今天"), field="diagnosis_date")
    onset = values.get("onset_date")
    if onset and onset > diagnosed:
        raise SmdError(_("初次发病时间不能晚于确诊日期"), field="onset_date")
    if values.get("consent_management") and not values.get("consent_signed_by"):
        raise SmdError(_("同意参加社区服务管理时请填写签字人"), field="consent_signed_by")
    return values


def register_patient(
    *, person, values: dict[str, Any], actor, report: DiagnosisReport | None = None, now=None
) -> Patient:
    """Enter a diagnosed resident into the registry, managed by their town's CHC."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not visibility.in_service_area(actor, person.home_area_id):
        raise SmdError(_("只能为您服务范围内的居民建档"), field="id_number")
    values = _validate_patient(values, today)
    _refuse_registered(person)
    chc = responsible_chc(person.home_area)
    first_due = today + dt.timedelta(days=conf("FIRST_VISIT_DAYS", 14))
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                person=person,
                registered_on=today,
                managing_institution=chc,
                doctor=actor if actor.roles() & {"doctor"} else None,
                next_due_on=first_due,
                due_at=end_of(first_due),
                **values,
            )
            if chc is not None:
                person.institutions.add(chc)  # the CHC's client: the core gate opens the record
            if report is not None:
                DiagnosisReport.objects.filter(pk=report.pk).update(
                    status=ReportStatus.REGISTERED, patient=patient, handled_at=now
                )
            audit.record(
                "smd.patient.register",
                patient,
                actor=actor,
                changed_fields=[k for k, v in values.items() if v not in ("", None, [], False)],
            )
            outbox.emit(
                topics.PATIENT_REGISTERED,
                asdict(
                    topics.PatientRegistered(
                        patient_id=patient.pk,
                        person_id=person.pk,
                        area_code=person.home_area_id,
                        disorder=patient.disorder,
                    )
                ),
            )
    except IntegrityError:  # a concurrent registration of the same person won the race
        _refuse_registered(person)
        raise
    return patient


def update_patient(patient: Patient, *, values: dict[str, Any], actor) -> list[str]:
    values = _validate_patient(values, timezone.localdate())
    changed = audit.changed(patient, values)
    if not changed:
        return []
    with transaction.atomic():
        for name in changed:
            setattr(patient, name, values[name])
        patient.save(update_fields=changed)
        audit.record("smd.patient.update", patient, actor=actor, changed_fields=changed)
    return changed


def report_diagnosis(
    *, person, institution: Institution, disorder: str, icd10_code: str, diagnosis_date, actor,
    now=None,
) -> DiagnosisReport:  # fmt: skip
    """A hospital's 发病报告: queued for the home CHC with its deadlines."""
    now = now or timezone.now()
    code = _check_icd(disorder, icd10_code)
    if diagnosis_date > timezone.localdate(now):
        raise SmdError(_("确诊日期不能晚于今天"), field="diagnosis_date")
    _refuse_registered(person)
    if DiagnosisReport.objects.filter(person=person, status=ReportStatus.PENDING).exists():
        raise SmdError(_("该居民已有一份待建档的发病报告"), field="id_number")
    with transaction.atomic():
        report = DiagnosisReport.objects.create(
            person=person,
            reporting_institution=institution,
            disorder=disorder,
            icd10_code=code,
            diagnosis_date=diagnosis_date,
            reported_at=now,
            reported_by=actor,
            report_due_on=add_working_days(diagnosis_date, conf("REPORT_WORKING_DAYS", 10)),
            due_at=now + dt.timedelta(days=conf("REGISTER_WITHIN_DAYS", 14)),
        )
        audit.record("smd.report.create", report, actor=actor)
        outbox.emit(
            topics.REPORT_FILED,
            asdict(
                topics.ReportFiled(
                    report_id=report.pk, person_id=person.pk, area_code=person.home_area_id
                )
            ),
        )
    return report


def transfer_patient(patient: Patient, *, to_area: Area, reason: str, actor, now=None) -> Transfer:
    """The patient moves: the same row, a new home area and managing CHC (never a duplicate)."""
    now = now or timezone.now()
    if to_area.level not in (AreaLevel.VILLAGE, AreaLevel.GRID):
        raise SmdError(_("迁入地应选择到村居或网格"), field="to_area")
    person = patient.person
    if to_area.code == person.home_area_id:
        raise SmdError(_("迁入地与现居住地相同"), field="to_area")
    if len((reason or "").strip()) < 2:
        raise SmdError(_("请填写转移原因"), field="reason")
    old_chc, new_chc = patient.managing_institution, responsible_chc(to_area)
    with transaction.atomic():
        transfer = Transfer.objects.create(
            patient=patient,
            from_area_id=person.home_area_id,
            to_area=to_area,
            from_institution=old_chc,
            to_institution=new_chc,
            reason=reason.strip(),
            transferred_at=now,
            actor=actor,
        )
        person.home_area = to_area
        person.save(update_fields=["home_area", "updated_at"])
        if old_chc is not None and old_chc != new_chc:
            person.institutions.remove(old_chc)
        if new_chc is not None:
            person.institutions.add(new_chc)
        patient.managing_institution = new_chc
        patient.doctor = None
        patient.save(update_fields=["managing_institution", "doctor"])
        audit.record("people.person.move", person, actor=actor, changed_fields=["home_area"])
        audit.record(
            "smd.patient.transfer",
            patient,
            actor=actor,
            changed_fields=["managing_institution"],
            reason=reason.strip(),
        )
        outbox.emit(
            topics.PATIENT_TRANSFERRED,
            asdict(
                topics.PatientTransferred(
                    patient_id=patient.pk,
                    person_id=person.pk,
                    from_area=transfer.from_area_id,
                    to_area=to_area.code,
                )
            ),
        )
    return transfer
