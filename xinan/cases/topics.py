"""Events the cases app emits, one payload type per topic (emitted as dataclasses.asdict)."""

from dataclasses import dataclass

CASE_OPENED = "case.opened"
CASE_STAGE_CHANGED = "case.stage_changed"
CASE_ASSIGNED = "case.assigned"
TASK_ESCALATED = "task.escalated"
REFERRAL_SENT = "referral.sent"
REFERRAL_ACCEPTED = "referral.accepted"
REFERRAL_DECLINED = "referral.declined"
REFERRAL_COMPLETED = "referral.completed"


@dataclass(frozen=True)
class CaseOpened:
    case_id: int
    person_id: int
    line: str
    source: str
    area_code: str
    responsible_id: int | None


@dataclass(frozen=True)
class CaseStageChanged:
    case_id: int
    person_id: int
    line: str
    from_stage: str
    to_stage: str
    area_code: str


@dataclass(frozen=True)
class CaseAssigned:
    case_id: int
    person_id: int
    previous_id: int | None
    responsible_id: int
    area_code: str


@dataclass(frozen=True)
class TaskEscalated:
    task_id: int
    escalation_task_id: int
    person_id: int
    kind: str
    area_code: str
    due_at: str


@dataclass(frozen=True)
class ReferralEvent:
    """referral.sent / accepted / declined / completed."""

    referral_id: int
    case_id: int
    person_id: int
    direction: str
    from_institution_id: int | None
    to_institution_id: int
    status: str
    urgency: str
