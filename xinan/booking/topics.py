"""Payloads of the events booking emits through the outbox."""

from dataclasses import dataclass

SESSION_COMPLETED = "booking.session_completed"
REMINDER_DUE = "booking.reminder_due"


@dataclass(frozen=True)
class SessionCompleted:
    """A counselling session took place; cases records it as an intervention."""

    appointment_id: int
    person_id: int
    counsellor_user_id: int
    site_id: int | None
    started_at: str  # ISO 8601, UTC
    ended_at: str
    service: str


@dataclass(frozen=True)
class ReminderDue:
    """Remind the resident of a session (a notifier sends it by SMS or WeChat)."""

    appointment_id: int
    person_id: int
    starts_at: str
    lead: str
