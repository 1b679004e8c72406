"""What the worker needs from crisis beyond its consumer and sweeps, and the old entry points.

The consumer (`crisis/consumers.py`, critical lane) turns `assessment.scored` events into
alerts; the sweep (`crisis/sweeps.py`) escalates missed acknowledgement deadlines and offers
exhausted alerts to whoever comes on duty. Both run in the one worker (xinan/core/worker.py):
`xinan worker`, its alias `xinan crisis_worker`, or inside `xinan serve`.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection

from xinan.core import worker as work
from xinan.core.lib import fastsql
from xinan.crisis.models import Alert, AlertRule

TOPIC = "assessment.scored"
CONSUMER = "crisis.alert_from_assessment"

_rules_seen: tuple[tuple, list[AlertRule]] = ((), [])


def active_rules() -> list[AlertRule]:
    """The active rules, rebuilt only when their rows changed since the last call.

    Every call reads the rows (one plain query), so an edit in the admin applies to the next
    event in every process; building the model objects is what is saved."""
    meta = AlertRule._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in meta.concrete_fields)
    rows = tuple(
        fastsql.fetchall(
            f"SELECT {columns} FROM {qn(meta.db_table)} WHERE {qn('active')} = %s "  # noqa: S608
            f"ORDER BY {qn('id')}",
            [True],
        )
    )
    global _rules_seen
    seen_rows, rules_built = _rules_seen
    if rows != seen_rows:
        rules_built = list(AlertRule.objects.filter(active=True).order_by("id"))
        _rules_seen = (rows, rules_built)
    return rules_built


@dataclass
class Result:
    processed: int = 0
    alerts: int = 0
    failed: int = 0
    escalated: int = 0


def run_once(worker: str | None = None, now: dt.datetime | None = None) -> Result:
    """Everything the worker has due now, in this thread (tests, `crisis_worker --once`):
    counts what it processed, the alerts opened meanwhile, and the sweep's escalations."""
    before = Alert.objects.count()
    counts = work.run_once(worker, now)
    return Result(
        processed=counts["processed"],
        alerts=Alert.objects.count() - before,
        failed=counts["failed"],
        escalated=(counts["sweeps"].get("crisis.escalate_overdue") or 0)
        + (counts["sweeps"].get("crisis.escalate_overdue_callbacks") or 0),
    )
