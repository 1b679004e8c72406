"""Crisis verbs. Each is one transaction with its audit row (and outbox row where others care).

Services run with system authority (the consumer has no user); views pass only objects they
obtained through the scope gate (`xinan.crisis.selectors`). By what they hold: `alerts`
(raise and work an alert), `duty` (escalation, re-offering, shifts), `hotline` (calls and
callback requests), `callbacks` (a callback's loop task), `common` (what they share).
"""

from xinan.crisis.services.alerts import (
    acknowledge_alert,
    close_alert,
    mark_delivered,
    process_assessment_event,
    raise_alert,
    raise_manual_alert,
    record_contact,
    record_disposition,
    record_risk,
    reopen_alert,
)
from xinan.crisis.services.common import (
    ACTIONS,
    DEFAULT_TRIGGER_LEVEL,
    CrisisError,
    _alert_payload,
    _event,
    _locked,
    _now,
    _refuse_if_closed,
    rule_level,
)
from xinan.crisis.services.duty import (
    ESCALATE_BATCH,
    create_shift,
    delete_shift,
    escalate_overdue,
    reassign_unassigned,
    reoffer_exhausted,
)
from xinan.crisis.services.hotline import complete_callback, record_call, request_callback

__all__ = [
    "ACTIONS",
    "DEFAULT_TRIGGER_LEVEL",
    "ESCALATE_BATCH",
    "CrisisError",
    "_alert_payload",
    "_event",
    "_locked",
    "_now",
    "_refuse_if_closed",
    "acknowledge_alert",
    "close_alert",
    "complete_callback",
    "create_shift",
    "delete_shift",
    "escalate_overdue",
    "mark_delivered",
    "process_assessment_event",
    "raise_alert",
    "raise_manual_alert",
    "reassign_unassigned",
    "record_call",
    "record_contact",
    "record_disposition",
    "record_risk",
    "reoffer_exhausted",
    "reopen_alert",
    "request_callback",
    "rule_level",
]
