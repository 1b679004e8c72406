"""Sortable, filterable, paged tables for staff lists: the sort is taken from a whitelist."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from xinan.cases.models import TaskKind

_MARK = 987654321


@functools.cache
def pk_url(name: str) -> Callable[[int], str]:
    """pk → URL for a route whose one argument is an integer, reversed once: a list links
    every row (a timeline hundreds), and reversing each one was a tenth of the page."""
    head, tail = reverse(name, args=[_MARK]).split(str(_MARK))
    return lambda pk: f"{head}{pk}{tail}"


def render_task_rows(rows, *, next_url: str, csrf_token: str, empty: str = "") -> str:
    """The worklist's table rows (`services.TaskRow`s), as HTML: the person's name leads to the
    case, else the referral, else the task's own page; a referral to answer links to its
    answer; a crisis callback to its alert, where the call is made and its outcome recorded;
    any other task has a "done" form. Written here rather than in a template loop, which was
    half the page's time at 25 rows."""
    if not rows:
        return format_html('<tr><td colspan="5" class="muted">{}</td></tr>', empty) if empty else ""
    case_url, referral_url = pk_url("cases:detail"), pk_url("cases:referral")
    done_url = pk_url("cases:task_done")
    pill = {
        "overdue": format_html('<span class="pill overdue">{}</span> ', _("已逾期")),
        "today": format_html('<span class="pill today">{}</span> ', _("今日")),
    }
    anonymous = _("匿名求助者")
    answer = escape(_("去答复"))
    dial = format_html(
        '" data-testid="callback-open" title="{}">{}</a>',
        _("在预警页面拨打，并记录回电结果"),
        _("打开并拨打"),
    )
    done_form = format_html(
        '" class="inline-form"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="next" value="{}"><input name="result" placeholder="{}"'
        ' aria-label="{}"><button type="submit">{}</button></form>',
        csrf_token,
        next_url,
        _("结果（可不填）"),
        _("结果"),
        _("完成"),
    )
    out = []
    for row in rows:
        target = (
            case_url(row.case_id)
            if row.case_id
            else referral_url(row.referral_id)
            if row.referral_id
            else row.link
        )
        name = escape(row.name or anonymous)
        who = f'<a href="{escape(target)}">{name}</a>' if target else name
        if row.person_id:
            who += f' <span class="muted">{escape(row.phone_masked or "")}</span>'
        if row.referral_id and row.kind == TaskKind.REFERRAL_ANSWER:
            action = f'<a class="btn secondary" href="{referral_url(row.referral_id)}">{answer}</a>'
        elif row.kind == TaskKind.CRISIS_CALLBACK:
            action = f'<a class="btn secondary" href="{escape(row.link)}{dial}'
        else:
            action = f'<form method="post" action="{done_url(row.pk)}{done_form}'
        due = timezone.localtime(row.due_at).strftime("%m-%d %H:%M")
        out.append(
            f'<tr class="{escape(row.when)}"><td>{pill.get(row.when, "")}{due}</td>'
            f"<td>{escape(row.kind_label)}</td><td>{escape(row.title)}</td>"
            f"<td>{who}</td><td>{action}</td></tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 — every value above is escaped


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


def open_page(
    queryset: QuerySet,
    number,
    per_page: int,
    ids: IdsInOrder | None = None,
    rows: Callable[[list], list] | None = None,
):
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
    found, more = found[:per_page], len(found) > per_page
    return OpenPage(number, rows(found) if rows else rows_in_order(queryset, found), more)


@dataclass
class Table:
    page: Page | OpenPage
    columns: list[Column]
    query: str  # the current filters, without sort and page, for links


def rows_in_order(queryset: QuerySet, ids: list) -> list:
    """The rows with these ids, in the order of the ids."""
    by_pk = queryset.order_by().in_bulk(ids)
    return [by_pk[pk] for pk in ids if pk in by_pk]


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
    rows: Callable[[list], list] | None = None,
) -> Table:
    """`columns`: (key, label, order field or None for unsortable). `?sort=key` or `-key`.
    With `count=False` the pages are not counted (`OpenPage`): for lists that may hold tens of
    thousands of rows, where a count per view would cost more than the page; `ids` then
    reads each page's ids (see `open_page`). `rows` reads a page's rows from its ids, where
    the queryset's own objects are more than the page shows (the worklist's `TaskRow`s)."""
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
        found = list(page.object_list)
        page.object_list = rows(found) if rows else rows_in_order(queryset, found)
    else:
        page = open_page(queryset, request.GET.get("page"), per_page, ids, rows)
    sort_now = f"-{key}" if descending else key
    return Table(page, shown, urlencode({**kept, "sort": sort_now}))
