"""Emergency disposals (应急处置) and their 24-hour record forms."""

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, outbox
from xinan.core.models import Institution
from xinan.smd import topics
from xinan.smd.models import (
    Classification,
    Emergency,
    Patient,
)

from .common import SmdError, conf, end_of


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
