"""SMD business rules: register, report, follow up, classify, examine, emergencies, transfer.

Each verb takes keyword-only `actor=`, runs in one transaction and writes its audit row (and
outbox row) inside it; a refusal is an `SmdError` with a Chinese message saying what to do.

One module per part (common, registry, follow_up, emergency); every public name is
re-exported here, so callers use xinan.smd.services as before.
"""

from .common import SmdError, add_working_days, conf, end_of, responsible_chc
from .emergency import complete_emergency, record_emergency
from .follow_up import (
    active_rules,
    cadences,
    override_classification,
    preview,
    record_exam,
    record_follow_up,
)
from .registry import (
    PATIENT_FIELDS,
    register_patient,
    report_diagnosis,
    transfer_patient,
    update_patient,
)

__all__ = [
    "SmdError",
    "conf",
    "add_working_days",
    "end_of",
    "responsible_chc",
    "register_patient",
    "update_patient",
    "report_diagnosis",
    "active_rules",
    "cadences",
    "preview",
    "record_follow_up",
    "override_classification",
    "record_exam",
    "record_emergency",
    "complete_emergency",
    "transfer_patient",
    "PATIENT_FIELDS",
]
