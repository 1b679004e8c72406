"""Rows as JSON-safe dicts, for exports (a person's data, PIPL)."""

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import Any


def value(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, dict):
        return {str(k): value(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set):
        return [value(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


def rows(objects: Iterable[Any], fields: Iterable[str]) -> list[dict[str, Any]]:
    """Each object's named attributes (model fields, properties), JSON-safe."""
    fields = list(fields)
    return [{f: value(getattr(o, f)) for f in fields} for o in objects]
