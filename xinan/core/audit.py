"""Writing the audit log. Services call `record` inside their transaction."""

from collections.abc import Iterable
from typing import Any

from django.db import models

from xinan.core.lib import fastsql
from xinan.core.lib.phone import mask_in_text
from xinan.core.middleware import current_ip
from xinan.core.models import AuditEntry

# Display text for actions, so the log reads as sentences in the UI.
ACTIONS: dict[str, str] = {}


def register_action(code: str, label: Any) -> None:
    ACTIONS[code] = label


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    actor: Any,
    object_type: str = "",
    object_id: str | int = "",
    area_code: str = "",
    changed_fields: Iterable[str] = (),
    reason: str = "",
) -> int:
    """Append one entry and return its id. Only field names are kept, never the values of
    sensitive fields."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        area_code = area_code or getattr(obj, "audit_area_code", "") or ""
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    # Every request that changes or opens a record writes one of these: keep it cheap (a row
    # from values, no model instance).
    return fastsql.insert_row(
        AuditEntry,
        {
            "actor_id": actor.pk if authenticated else None,
            # Never a phone in clear, whatever an account's name is.
            "actor_label": mask_in_text(actor.get_username())
            if authenticated
            else ("system" if actor is None else "anonymous"),
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "area_code": area_code,
            "changed_fields": sorted(changed_fields),
            "reason": reason,
            "ip_address": current_ip.get(),
        },
    )


def action_label(code: str) -> str:
    """The action's display text (Chinese first), or its code when none is registered."""
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


def changed(instance: models.Model, data: dict[str, Any]) -> list[str]:
    """Names of fields in `data` whose value differs from the instance's."""
    return [name for name, value in data.items() if getattr(instance, name) != value]


AUDIT_COLUMNS = [
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "area_code",
    "changed_fields",
    "reason",
]


def record_many(entries: Iterable[dict[str, Any]], *, actor: Any) -> int:
    """Append many entries by one actor in one COPY / executemany (the importer's one audit row
    per chunk and area); each entry names action, object_type, object_id, and optionally
    area_code, changed_fields and reason. Returns how many were written. The only way bulk
    writers write audit rows."""
    import json

    from django.db import connection
    from django.utils import timezone

    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    actor_id = actor.pk if authenticated else None
    label = actor.get_username() if authenticated else ("system" if actor is None else "anonymous")
    now = timezone.now()
    if connection.vendor != "postgresql":
        now = connection.ops.adapt_datetimefield_value(now)
    rows = [
        (
            now,
            actor_id,
            label,
            e["action"],
            e["object_type"],
            str(e["object_id"]),
            e.get("area_code", ""),
            json.dumps(sorted(e.get("changed_fields", ()))),
            str(e.get("reason", "")),
        )
        for e in entries
    ]
    fastsql.copy_rows(AuditEntry._meta.db_table, AUDIT_COLUMNS, rows)
    return len(rows)
