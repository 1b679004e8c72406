"""SMD business rules: register, report, follow up, classify, examine, emergencies, transfer.

Each verb takes keyword-only `actor=`, runs in one transaction and writes its audit row (and
outbox row) inside it; a refusal is an `SmdError` with a Chinese message saying what to do.
"""

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, outbox
from xinan.core.models import Area, AreaLevel, Institution, InstitutionKind
from xinan.smd import defaults, rules, topics, visibility
from xinan.smd.models import (
    DISORDER_ICD_PREFIXES,
    Adherence,
    Cadence,
    Classification,
    ClassificationRule,
    DiagnosisReport,
    Disorder,
    Drug,
    Emergency,
    FollowUp,
    Patient,
    PatientStatus,
    PhysicalExam,
    ReportStatus,
    Transfer,
)


class SmdError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def conf(name: str, default: int) -> int:
    """An SMD parameter: settings.SMD_<NAME> or the documented default (docs/smd.md)."""
    return int(getattr(settings, f"SMD_{name}", default))


def add_working_days(start: dt.date, days: int) -> dt.date:
    """`days` working days after `start` (Monday–Friday; public holidays are not modelled)."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def end_of(day: dt.date) -> dt.datetime:
    """The moment a due date has passed: the start of the next local day."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


def responsible_chc(area: Area) -> Institution | None:
    """The community health centre of the area's town (the nearest CHC up the tree)."""
    codes = [area.code] + [a.code for a in reversed(area.ancestors())]
    chcs = {
        i.area_id: i
        for i in Institution.objects.filter(kind=InstitutionKind.CHC, area_id__in=codes).order_by(
            "pk"
        )
    }
    return next((chcs[c] for c in codes if c in chcs), None)


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


# Follow-ups -------------------------------------------------------------------------------


def active_rules() -> list[ClassificationRule]:
    defaults.ensure()
    return list(ClassificationRule.objects.filter(active=True))


def cadences() -> list[Cadence]:
    defaults.ensure()
    return list(Cadence.objects.all())


def preview(values: dict[str, Any]) -> tuple[rules.Result, rules.Plan]:
    result = rules.classify(values, active_rules())
    visit = values.get("visit_date") or timezone.localdate()
    return result, rules.plan(result.classification, values.get("risk_level"), visit, cadences())


def _check_follow_up(patient: Patient, v: dict[str, Any], drugs: list[dict], today) -> None:
    visit = v.get("visit_date")
    if visit is None:
        raise SmdError(_("请填写随访日期"), field="visit_date")
    if visit > today:
        raise SmdError(_("随访日期不能晚于今天"), field="visit_date")
    if visit < patient.registered_on:
        raise SmdError(
            _("随访日期不能早于建档日期（%(date)s）") % {"date": patient.registered_on},
            field="visit_date",
        )
    if patient.status != PatientStatus.ACTIVE:
        raise SmdError(
            _("该患者已不在册（%(s)s），不能再录入随访") % {"s": patient.get_status_display()}
        )
    if v.get("died"):
        if not v.get("death_date") or not v.get("death_cause"):
            raise SmdError(_("登记死亡时请填写死亡日期和原因"), field="death_date")
        if v["death_date"] > visit:
            raise SmdError(_("死亡日期不能晚于随访日期"), field="death_date")
        return
    if not v.get("reached"):
        if not v.get("not_reached_reason"):
            raise SmdError(_("未访到患者时请选择原因"), field="not_reached_reason")
        return
    if v.get("risk_level") is None:
        raise SmdError(_("每次随访都须做危险性评估，请选择0～5级"), field="risk_level")
    for name in ("psychotic", "insight", "adherence"):
        if not v.get(name):
            label = FollowUp._meta.get_field(name).verbose_name
            raise SmdError(_("请填写“%(f)s”") % {"f": label}, field=name)
    for drug in drugs:
        if not (drug.get("dose") or "").strip():
            raise SmdError(
                _("请填写药物“%(name)s”的每次剂量") % {"name": drug.get("name") or "—"},
                field="drugs",
            )
    if v.get("adherence") in (Adherence.REGULAR, Adherence.INTERMITTENT) and not drugs:
        raise SmdError(_("服药患者请填写用药情况（药名和剂量）"), field="drugs")
    if v.get("referred") and not (v.get("referral_to") or "").strip():
        raise SmdError(_("转诊时请填写转诊至的机构及科室"), field="referral_to")


def _check_class(chosen: str, computed: str, risk: int | None, reason: str) -> None:
    if not chosen or chosen == computed:
        return
    if (risk or 0) >= 3 and chosen != Classification.UNSTABLE:
        raise SmdError(
            _("危险性评估%(risk)s级的患者按规范属于病情不稳定，不能分类为“%(label)s”")
            % {"risk": risk, "label": Classification(chosen).label},
            field="override_class",
        )
    if computed == Classification.NOT_REACHED or chosen == Classification.NOT_REACHED:
        raise SmdError(_("是否访到由“访到患者”一项决定，不能调整"), field="override_class")
    if len((reason or "").strip()) < 4:
        raise SmdError(
            _("调整分类（规范判定为“%(label)s”）须填写理由")
            % {"label": Classification(computed).label},
            field="override_reason",
        )


def record_follow_up(
    *, patient: Patient, values: dict[str, Any], drugs: list[dict], actor, now=None
) -> FollowUp:
    """Save one follow-up with its drugs, classify it and schedule the next one."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    v = dict(values)
    v["reached"] = bool(v.get("reached")) and not v.get("died")
    for name in ("adverse", "physical_illness"):
        v[name] = v.get(name) or "0"
    drugs = [d for d in drugs if (d.get("name") or "").strip() or (d.get("dose") or "").strip()]
    _check_follow_up(patient, v, drugs, today)
    if not v["reached"]:
        drugs = []
        for name in ("risk_level", "psychotic", "insight", "adherence"):
            v.pop(name, None)
    result, plan = preview(v)
    chosen = v.pop("override_class", "") or ""
    reason = (v.pop("override_reason", "") or "").strip()
    _check_class(chosen, result.classification, v.get("risk_level"), reason)
    effective = chosen or result.classification
    if effective != result.classification:
        plan = rules.plan(effective, v.get("risk_level"), v["visit_date"], cadences())
    next_visit = v.pop("next_visit_date", None) or plan.latest
    if not v.get("died"):
        if next_visit <= v["visit_date"]:
            raise SmdError(_("下次随访日期应晚于本次随访日期"), field="next_visit_date")
        if next_visit > plan.latest:
            raise SmdError(
                _("“%(label)s”的患者最迟应于%(date)s前再次随访（%(days)s天内）")
                % {"label": Classification(effective).label, "date": plan.latest,
                   "days": plan.max_days},
                field="next_visit_date",
            )  # fmt: skip
    fields = {f.name for f in FollowUp._meta.concrete_fields}
    v = {k: val for k, val in v.items() if k in fields}
    with transaction.atomic():
        follow_up = FollowUp.objects.create(
            patient=patient,
            doctor=actor,
            computed_class=result.classification,
            fired_rules=result.fired,
            override_class=chosen if chosen != result.classification else "",
            override_reason=reason if chosen and chosen != result.classification else "",
            overridden_by=actor if chosen and chosen != result.classification else None,
            actions=plan.actions,
            next_visit_date=None if v.get("died") else next_visit,
            **v,
        )
        Drug.objects.bulk_create(
            [
                Drug(
                    follow_up=follow_up,
                    name=d["name"].strip(),
                    dose=d["dose"].strip(),
                    frequency=(d.get("frequency") or "").strip(),
                )
                for d in drugs
            ]
        )
        _update_patient_after(patient, follow_up, effective, now)
        audit.record(
            "smd.follow_up.record",
            follow_up,
            actor=actor,
            changed_fields=sorted(k for k, val in v.items() if val not in ("", None, [], False)),
            reason=f"override: {reason}" if follow_up.override_class else "",
        )
        outbox.emit(
            topics.FOLLOW_UP_RECORDED,
            asdict(
                topics.FollowUpRecorded(
                    follow_up_id=follow_up.pk,
                    patient_id=patient.pk,
                    person_id=patient.person_id,
                    area_code=patient.person.home_area_id,
                    classification=effective,
                    risk_level=follow_up.risk_level,
                    next_visit_date=str(follow_up.next_visit_date or ""),
                )
            ),
        )
    return follow_up


def _update_patient_after(patient: Patient, f: FollowUp, effective: str, now) -> None:
    latest = patient.last_follow_up_on
    if f.died:
        patient.status = PatientStatus.DECEASED
        patient.death_date = f.death_date
        patient.death_cause = f.death_cause
        patient.due_at = None
        patient.next_due_on = None
    elif latest is None or f.visit_date >= latest:
        patient.last_follow_up_on = f.visit_date
        patient.current_class = effective
        if f.reached:
            patient.current_risk = f.risk_level
        patient.next_due_on = f.next_visit_date
        patient.due_at = end_of(f.next_visit_date)
        patient.escalated_at = None
    else:
        return  # a back-dated entry: the later visit still decides what is current
    patient.save(
        update_fields=[
            "status", "death_date", "death_cause", "due_at", "next_due_on", "last_follow_up_on",
            "current_class", "current_risk", "escalated_at",
        ]
    )  # fmt: skip


def override_classification(follow_up: FollowUp, *, classification: str, reason: str, actor):
    """A doctor's reasoned change of a saved follow-up's class (audited)."""
    _check_class(classification, follow_up.computed_class, follow_up.risk_level, reason)
    if classification == follow_up.classification:
        raise SmdError(_("分类未改变"), field="override_class")
    with transaction.atomic():
        follow_up.override_class = (
            "" if classification == follow_up.computed_class else classification
        )
        follow_up.override_reason = reason.strip() if follow_up.override_class else ""
        follow_up.overridden_by = actor if follow_up.override_class else None
        follow_up.save(update_fields=["override_class", "override_reason", "overridden_by"])
        patient = follow_up.patient
        if patient.last_follow_up_on == follow_up.visit_date:
            patient.current_class = follow_up.classification
            patient.save(update_fields=["current_class"])
        audit.record(
            "smd.follow_up.override",
            follow_up,
            actor=actor,
            changed_fields=["override_class"],
            reason=f"{follow_up.computed_class}→{classification}: {reason.strip()}",
        )
    return follow_up


# Physical examination, emergencies, transfer -------------------------------------------------


def record_exam(*, patient: Patient, values: dict[str, Any], actor) -> PhysicalExam:
    today = timezone.localdate()
    year = values.get("year") or today.year
    if values.get("exam_date") and not values.get("consent"):
        raise SmdError(_("未征得同意不能登记体检结果"), field="consent")
    if values.get("exam_date") and values["exam_date"] > today:
        raise SmdError(_("体检日期不能晚于今天"), field="exam_date")
    if values.get("exam_date") and values["exam_date"].year != year:
        raise SmdError(_("体检日期应在所选年度内"), field="exam_date")
    fields = {f.name for f in PhysicalExam._meta.concrete_fields} - {"id", "patient", "year"}
    data = {k: v for k, v in values.items() if k in fields}
    with transaction.atomic():
        exam, created = PhysicalExam.objects.update_or_create(
            patient=patient, year=year, defaults={**data, "recorded_by": actor}
        )
        audit.record(
            "smd.exam.record" if created else "smd.exam.update",
            exam,
            actor=actor,
            changed_fields=sorted(k for k, v in data.items() if v not in ("", None, False)),
        )
    return exam


def record_emergency(
    *, patient: Patient, values: dict[str, Any], actor, alert=None, now=None
) -> Emergency:
    """An 应急处置 record; its form is due 24 h after the disposal (configurable)."""
    now = now or timezone.now()
    occurred = values.get("occurred_at")
    if occurred is None:
        raise SmdError(_("请填写发生时间"), field="occurred_at")
    if occurred > now:
        raise SmdError(_("发生时间不能晚于现在"), field="occurred_at")
    if not values.get("triggers"):
        raise SmdError(_("请选择至少一种应急情形"), field="triggers")
    if values.get("risk_level") is None:
        raise SmdError(_("请做危险性评估（0～5级）"), field="risk_level")
    if values["risk_level"] >= 3 and "police" not in values.get("involved", []):
        raise SmdError(_("危险性3级及以上须通知公安，请在参与处置中勾选公安"), field="involved")
    hospital_bound = {"admission", "referral"} & set(values.get("disposals", []))
    institution = values.get("hospital_institution")
    if institution is not None and not values.get("hospital"):
        values["hospital"] = institution.name
    if hospital_bound and not (values.get("hospital") or "").strip():
        raise SmdError(_("送医住院或转诊时请填写送往医院"), field="hospital")
    fields = {"triggers", "risk_level", "involved", "disposals", "hospital",
              "hospital_institution", "description"}  # fmt: skip
    data = {k: v for k, v in values.items() if k in fields}
    hours = conf("EMERGENCY_RECORD_HOURS", 24)
    with transaction.atomic():
        emergency = Emergency.objects.create(
            patient=patient,
            occurred_at=occurred,
            alert=alert,
            due_at=occurred + dt.timedelta(hours=hours),
            recorded_by=actor,
            completed_at=now if values.get("complete") else None,
            **data,
        )
        if hospital_bound and institution is not None:
            emergency.referral_id = _refer_to_hospital(emergency, institution, actor, now)
            emergency.save(update_fields=["referral_id"])
        patient.current_risk = values["risk_level"]
        patient.current_class = Classification.UNSTABLE
        soon = timezone.localdate(now) + dt.timedelta(days=conf("UNSTABLE_DAYS", 14))
        if patient.next_due_on is None or patient.next_due_on > soon:
            patient.next_due_on, patient.due_at = soon, end_of(soon)
        patient.save(update_fields=["current_risk", "current_class", "next_due_on", "due_at"])
        audit.record("smd.emergency.record", emergency, actor=actor, changed_fields=sorted(data))
        outbox.emit(
            topics.EMERGENCY_RECORDED,
            asdict(
                topics.EmergencyRecorded(
                    emergency_id=emergency.pk,
                    patient_id=patient.pk,
                    person_id=patient.person_id,
                    area_code=patient.person.home_area_id,
                    risk_level=emergency.risk_level,
                    hospital=emergency.hospital,
                    alert_id=alert.pk if alert else None,
                )
            ),
        )
    return emergency


def _refer_to_hospital(emergency: Emergency, institution: Institution, actor, now) -> int:
    """The patient goes to hospital: a referral up through the closed loop (cases), on the
    legal basis of the emergency when there is no data-sharing consent."""
    from xinan.cases import services as cases
    from xinan.cases.models import CaseSource, Stage

    person = emergency.patient.person
    note = _("严重精神障碍应急处置：危险性%(risk)s级，送往%(hospital)s") % {
        "risk": emergency.risk_level,
        "hospital": institution.name,
    }
    try:
        case, _created = cases.open_case(
            person, actor=actor, line="special_population",
            source=CaseSource.ALERT if emergency.alert_id else CaseSource.MANUAL,
            responsible=actor, note=note, priority="high",
            source_key=f"smd.emergency:{emergency.pk}", now=now,
        )  # fmt: skip
        if case.stage == Stage.ASSESS:
            case = cases.move_case(
                case, to=Stage.IDENTIFY, actor=actor, now=now,
                judgement=_("严重精神障碍患者病情不稳定，需应急医疗处置"),
                basis=_("《严重精神障碍管理治疗工作规范（2018年版）》应急处置；危险性%(risk)s级")
                % {"risk": emergency.risk_level},
            )  # fmt: skip
        referral = cases.create_referral(
            case, actor=actor, to_institution=institution, direction="up", urgency="urgent",
            reason=note, now=now,
            legal_basis=_("《精神卫生法》第二十八条：发生伤害自身、危害他人安全的行为或危险的，"
                          "送往医疗机构诊断"),
        )  # fmt: skip
    except cases.CaseError as error:
        raise SmdError(error.message, field="hospital_institution") from error
    return referral.pk


def complete_emergency(emergency: Emergency, *, description: str, actor, now=None) -> Emergency:
    now = now or timezone.now()
    if emergency.completed_at:
        raise SmdError(_("该应急处置记录单已完成"))
    if not (description or "").strip():
        raise SmdError(_("请填写处置经过"), field="description")
    with transaction.atomic():
        emergency.description = description.strip()
        emergency.completed_at = now
        emergency.save(update_fields=["description", "completed_at"])
        audit.record(
            "smd.emergency.complete", emergency, actor=actor, changed_fields=["description"]
        )
    return emergency


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
