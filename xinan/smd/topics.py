"""Payloads of the smd.* topics (one frozen dataclass per topic)."""

from dataclasses import dataclass

PATIENT_REGISTERED = "smd.patient.registered"
PATIENT_TRANSFERRED = "smd.patient.transferred"
REPORT_FILED = "smd.report.filed"
FOLLOW_UP_RECORDED = "smd.follow_up.recorded"
FOLLOW_UP_OVERDUE = "smd.follow_up.overdue"
EMERGENCY_RECORDED = "smd.emergency.recorded"
EMERGENCY_RECORD_OVERDUE = "smd.emergency.record_overdue"
REPORT_OVERDUE = "smd.report.overdue"


@dataclass(frozen=True)
class PatientRegistered:
    patient_id: int
    person_id: int
    area_code: str
    disorder: str


@dataclass(frozen=True)
class PatientTransferred:
    patient_id: int
    person_id: int
    from_area: str
    to_area: str


@dataclass(frozen=True)
class ReportFiled:
    report_id: int
    person_id: int
    area_code: str


@dataclass(frozen=True)
class FollowUpRecorded:
    follow_up_id: int
    patient_id: int
    person_id: int
    area_code: str
    classification: str
    risk_level: int | None
    next_visit_date: str


@dataclass(frozen=True)
class Overdue:
    """An overdue item (follow-up, emergency record form, new-diagnosis registration)."""

    kind: str
    object_id: int
    patient_id: int | None
    area_code: str
    due_at: str


@dataclass(frozen=True)
class EmergencyRecorded:
    emergency_id: int
    patient_id: int
    person_id: int
    area_code: str
    risk_level: int
    hospital: str
    alert_id: int | None
