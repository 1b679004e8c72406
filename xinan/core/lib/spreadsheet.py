"""Writing CSV and Excel cells safely: every cell the platform writes goes through `safe_cell`.

A spreadsheet program runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and a
leading tab or carriage return can hide one (`=cmd|' /C calc'!A0`, `=HYPERLINK(…)`). Text such
a cell comes from (an uploaded file, a name, an audit reason) is written with a leading
apostrophe, which spreadsheets read as "this is text" (OWASP, CSV injection). Numbers, dates
and booleans are written as they are.
"""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # so Excel opens UTF-8 correctly


def safe_cell(value: Any) -> Any:
    """The value, or for text that a spreadsheet would run as a formula, that text as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


class SafeWriter:
    """csv.writer whose rows are neutralised first."""

    def __init__(self, f, **kwargs):
        self._w = csv.writer(f, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._w.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file whose write returns the line, for streaming CSV."""

    def write(self, value):
        return value


def csv_lines(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> Iterator[str]:
    """Each row as one neutralised CSV line, a BOM first."""
    writer = SafeWriter(_Echo())
    if bom:
        yield BOM
    for row in rows:
        yield writer.writerow(row)


def csv_response(rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of these rows (the header being the first)."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
