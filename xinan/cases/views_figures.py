"""Loop figures for area admins (and the district's psychiatrists): one area and its children."""

import csv
import datetime as dt

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from xinan.cases.forms import FiguresForm
from xinan.cases.services import figures
from xinan.core.decorators import role_required
from xinan.core.models import Area

FIGURE_ROLES = ("area_admin", "psychiatrist")


def _area(request) -> Area:
    """The area asked for (?area=code), if one of the user's areas contains it."""
    prefixes = [
        m.area.prefix
        for m in request.user.active_memberships()
        if m.area and m.role in FIGURE_ROLES
    ]
    if not prefixes:
        raise Http404
    code = request.GET.get("area", "")
    if code:
        area = Area.objects.filter(code=code).first()
        if area is None or not any(area.prefix.startswith(p) for p in prefixes):
            raise Http404
        return area
    return min(
        (m.area for m in request.user.active_memberships() if m.area and m.role in FIGURE_ROLES),
        key=lambda a: len(a.prefix),
    )


def _period(request) -> tuple[dt.datetime, dt.datetime, FiguresForm]:
    form = FiguresForm(request.GET or None)
    today = timezone.localdate()
    since, until = today - dt.timedelta(days=180), today
    if form.is_valid():
        since = form.cleaned_data["since"] or since
        until = form.cleaned_data["until"] or until
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min))
    if not form.is_bound:
        form = FiguresForm(initial={"since": since, "until": until})
    return start, end, form


def _up(request, area: Area) -> Area | None:
    """The parent area, if the user's figures reach it too (for the drill-down's way back)."""
    parent = area.parent
    prefixes = [m.area.prefix for m in request.user.active_memberships() if m.area]
    if parent is None or not any(parent.prefix.startswith(p) for p in prefixes):
        return None
    return parent


@role_required(*FIGURE_ROLES)
@require_GET
def loop_figures(request):
    area = _area(request)
    since, until, form = _period(request)
    total, children = figures.drill_down(area, since, until)
    return render(
        request,
        "cases/figures.html",
        {
            "area": area,
            "up": _up(request, area),
            "total": total,
            "children": children,
            "form": form,
            "rule_hours": round(figures.contact_rule_hours()),
            "query": request.GET.urlencode(),
        },
    )


class _Echo:
    def write(self, value):
        return value


FIELDS = [
    ("screens", _("筛查阳性建档数")),
    ("contact_hours_median", _("首次联系用时中位数（小时）")),
    ("within_rule_share", _("时限内联系占比（%）")),
    ("intervention_share", _("进入干预占比（%）")),
    ("referrals", _("转介数")),
    ("acceptance_share", _("转介接收率（%）")),
    ("completion_share", _("转介完成率（%）")),
    ("answer_hours_median", _("转介答复用时中位数（小时）")),
    ("completion_days_median", _("转介完成用时中位数（天）")),
    ("followed", _("有随访的个案数")),
    ("lost_share", _("失访占比（%）")),
]
# A share is hidden when the count it rests on is.
HIDDEN_BY = {
    "within_rule_share": "within_rule",
    "intervention_share": "reached_intervention",
    "acceptance_share": "accepted",
    "completion_share": "completed",
    "lost_share": "lost",
}


def _cells(f: figures.Figures) -> list[str]:
    cells = [f.area.code, f.area.name]
    for name, _label in FIELDS:
        if name in f.hidden or HIDDEN_BY.get(name) in f.hidden:
            cells.append(f"<{figures.settings.SMALL_CELL_THRESHOLD}")
        else:
            cells.append(getattr(f, name))
    return [figures.formula_safe(c) for c in cells]


@role_required(*FIGURE_ROLES)
@require_GET
def loop_figures_export(request):
    area = _area(request)
    since, until, _form = _period(request)
    total, children = figures.drill_down(area, since, until)
    writer = csv.writer(_Echo())
    header = [_("区划代码"), _("区域"), *[label for _n, label in FIELDS]]

    def lines():
        yield "\ufeff" + writer.writerow(header)  # BOM so Excel opens UTF-8 correctly
        for f in [total, *children]:
            yield writer.writerow(_cells(f))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="loop-figures-{area.code}.csv"'
    return response
