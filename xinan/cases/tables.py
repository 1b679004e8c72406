"""Sortable, filterable, paged tables for staff lists: the sort is taken from a whitelist."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


@dataclass
class Column:
    key: str
    label: object
    url: str = ""  # the header's link: sort by this column (or reverse it)
    active: str = ""  # "asc", "desc" or ""


@dataclass
class Table:
    page: Page
    columns: list[Column]
    query: str  # the current filters, without sort and page, for links


def rows_in_order(queryset: QuerySet, ids: list) -> list:
    """The rows with these ids, in the order of the ids."""
    by_pk = queryset.order_by().in_bulk(ids)
    return [by_pk[pk] for pk in ids if pk in by_pk]


def first_rows(queryset: QuerySet, n: int) -> list:
    """The first `n` rows of an ordered queryset, read in two steps: the ids (from an index),
    then those rows. On a worklist of a million tasks the sort never touches a row it drops."""
    return rows_in_order(queryset, list(queryset.values_list("pk", flat=True)[:n]))


def table(
    request,
    queryset: QuerySet,
    *,
    columns: list[tuple[str, object, str | None]],
    default: str,
    filters: tuple[str, ...] = (),
    per_page: int = 25,
) -> Table:
    """`columns`: (key, label, order field or None for unsortable). `?sort=key` or `-key`."""
    sortable = {key: field for key, _label, field in columns if field}
    sort = request.GET.get("sort", default)
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in sortable:
        key, descending = default.lstrip("-"), default.startswith("-")
    field = sortable[key]
    queryset = queryset.order_by(
        f"-{field}" if descending else field, "-pk" if descending else "pk"
    )
    kept = {f: request.GET[f] for f in filters if request.GET.get(f)}
    shown = []
    for k, label, f in columns:
        if not f:
            shown.append(Column(k, label))
            continue
        active = ("desc" if descending else "asc") if k == key else ""
        target = f"-{k}" if active == "asc" else k
        shown.append(Column(k, label, "?" + urlencode({**kept, "sort": target}), active))
    # Page over ids (an index answers them without reading the rows), then read the page's rows.
    page = Paginator(queryset.values_list("pk", flat=True), per_page).get_page(
        request.GET.get("page")
    )
    page.object_list = rows_in_order(queryset, list(page.object_list))
    sort_now = f"-{key}" if descending else key
    return Table(page, shown, urlencode({**kept, "sort": sort_now}))
