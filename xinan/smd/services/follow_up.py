"""Follow-ups: classify, record, override, and the annual physical examination."""

from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, outbox
from xinan.smd import defaults, rules, topics
from xinan.smd.models import (
    Adherence,
    Cadence,
    Classification,
    ClassificationRule,
    Drug,
    FollowUp,
    Patient,
    PatientStatus,
    PhysicalExam,
)

from .common import SmdError, end_of

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


# Physical examination -------------------------------------------------------------------


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
