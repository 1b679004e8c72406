"""Sortable, filterable, paged tables for staff lists: the sort is taken from a whitelist."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from xinan.cases.models import TaskKind

_MARK = 987654321


@functools.cache
def pk_url(name: str) -> Callable[[int], str]:
    """pk → URL for a route whose one argument is an integer, reversed once: a list links
    every row (a timeline hundreds), and reversing each one was a tenth of the page."""
    head, tail = reverse(name, args=[_MARK]).split(str(_MARK))
    return lambda pk: f"{head}{pk}{tail}"


def task_links(tasks) -> None:
    """Set what each worklist row shows beyond its columns (cases/_task_rows.html): where the
    person's name leads (the case, else the referral, else the task's own page), where
    "done" posts, where a referral is answered, and the due time as shown. Done here once
    per page: per row in the template these were most of the page's rendering."""
    case_url, referral_url = pk_url("cases:detail"), pk_url("cases:referral")
    done_url = pk_url("cases:task_done")
    for task in tasks:
        task.target_url = (
            case_url(task.case_id)
            if task.case_id
            else referral_url(task.referral_id)
            if task.referral_id
            else task.link
        )
        task.done_url = done_url(task.pk)
        task.answer_url = (
            referral_url(task.referral_id)
            if task.referral_id and task.kind == TaskKind.REFERRAL_ANSWER
            else ""
        )
        task.due_text = timezone.localtime(task.due_at).strftime("%m-%d %H:%M")


@dataclass
class Column:
    key: str
    label: object
    url: str = ""  # the header's link: sort by this column (or reverse it)
    active: str = ""  # "asc", "desc" or ""


@dataclass
class OpenPage:
    """A page of a list too long to count on every view (a worker's list of 20,000 open
    tasks): it knows whether another page follows, not how many."""

    number: int
    object_list: list
    more: bool
    paginator = None  # no count, no total

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self.more

    def has_previous(self) -> bool:
        return self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


# ids(order, start, stop) -> the ids of the rows from start to stop in that order.
IdsInOrder = Callable[[tuple[str, ...], int, int], list]


def open_page(queryset: QuerySet, number, per_page: int, ids: IdsInOrder | None = None):
    """Page `number` of an ordered queryset over ids, reading one id past the page to know
    whether another follows. `ids` reads them where the queryset's own query would not use
    an index for the order (the worklist's branches)."""
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * per_page
    if ids is None:
        found = list(queryset.values_list("pk", flat=True)[start : start + per_page + 1])
    else:
        found = ids(tuple(queryset.query.order_by), start, start + per_page + 1)
    return OpenPage(number, rows_in_order(queryset, found[:per_page]), len(found) > per_page)


@dataclass
class Table:
    page: Page | OpenPage
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
    count: bool = True,
    ids: IdsInOrder | None = None,
) -> Table:
    """`columns`: (key, label, order field or None for unsortable). `?sort=key` or `-key`.
    With `count=False` the pages are not counted (`OpenPage`): for lists that may hold tens of
    thousands of rows, where a count per view would cost more than the page; `ids` then
    reads each page's ids (see `open_page`)."""
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
    if count:
        page = Paginator(queryset.values_list("pk", flat=True), per_page).get_page(
            request.GET.get("page")
        )
        page.object_list = rows_in_order(queryset, list(page.object_list))
    else:
        page = open_page(queryset, request.GET.get("page"), per_page, ids)
    sort_now = f"-{key}" if descending else key
    return Table(page, shown, urlencode({**kept, "sort": sort_now}))
