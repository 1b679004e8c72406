"""The indicator pages: figures per area and period, drill-down, the patients behind a figure,
and the Excel report (卫健委 layout)."""

import datetime as dt
import io

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, scope
from xinan.core.lib import areacode
from xinan.core.models import Area
from xinan.smd import indicators as ind
from xinan.smd import visibility
from xinan.smd.forms import IndicatorForm


def _prefixes(user) -> list[str]:
    """Areas whose figures the user may see: SMD record reach and area-admin areas."""
    return sorted(set(visibility.reach(user).record_prefixes) | set(scope.admin_prefixes(user)))


def _params(request):
    prefixes = _prefixes(request.user)
    if not prefixes:
        raise Http404
    form = IndicatorForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    end = data.get("end") or today
    start = data.get("start") or dt.date(end.year, 1, 1)
    if start > end:
        start, end = end, start
    code = data.get("area") or areacode.pad(prefixes[0])
    try:
        area = Area.objects.get(code=code)
    except Area.DoesNotExist:
        raise Http404 from None
    if not any(area.code.startswith(p) for p in prefixes):
        raise Http404
    return area, start, end


@login_required
def indicators(request):
    area, start, end = _params(request)
    total, rows = ind.report(area, start, end)
    audit.record("smd.indicators.view", actor=request.user, object_type="smd.indicators",
                 object_id=area.code, area_code=area.code)  # fmt: skip
    return render(
        request,
        "smd/indicators.html",
        {
            "area": area,
            "ancestors": [a for a in area.ancestors() if any(
                a.code.startswith(p) for p in _prefixes(request.user))],
            "start": start,
            "end": end,
            "total": total,
            "rows": rows,
            "measures": ind.MEASURES,
            "rates": ind.RATES,
            "links": visibility.can_record(request.user),
        },
    )  # fmt: skip


@login_required
def indicator_patients(request):
    """The patients behind one figure, for users who may see SMD records."""
    if not visibility.can_record(request.user):
        raise Http404
    area, start, end = _params(request)
    key = request.GET.get("measure", "registered")
    labels = dict(ind.MEASURES)
    if key not in labels:
        raise Http404
    flag_map = ind.flags(area.prefix, start, end)
    ids = [pk for pk, fl in flag_map.items() if key == "registered" or getattr(fl, key)]
    patients = (
        visibility.patients(request.user)
        .filter(pk__in=ids)
        .select_related("person__home_area")
        .order_by("person__home_area_id", "pk")
    )
    audit.record(
        "smd.patient.list",
        actor=request.user,
        object_type="smd.patient",
        object_id=f"indicator:{key}",
        area_code=area.code,
        reason=",".join(str(p.pk) for p in patients[:200])[:1000],
    )
    return render(
        request,
        "smd/indicator_patients.html",
        {"area": area, "start": start, "end": end, "label": labels[key], "patients": patients,
         "hidden": len(ids) - patients.count()},
    )  # fmt: skip


def _safe(value):
    """A cell value Excel will not run as a formula (the one helper: core/lib/spreadsheet.py)."""
    from xinan.core.lib import spreadsheet

    return spreadsheet.safe_cell(value)


@login_required
def indicators_xlsx(request):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    area, start, end = _params(request)
    total, rows = ind.report(area, start, end)
    wb = Workbook()
    ws = wb.active
    ws.title = _("严重精神障碍管理")
    columns = [_("地区")] + [str(label) for _k, label in ind.MEASURES]
    columns += [f"{label}（%）" for _k, label, _n, _d in ind.RATES]
    columns += [_("常住人口（档案数）"), _("报告患病率（‰）")]
    width = len(columns)
    ws.append([_safe(_("严重精神障碍患者管理工作情况统计表"))])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([_safe(_("填报单位：%(unit)s") % {"unit": area.name})])
    ws.append([_safe(_("统计期间：%(start)s 至 %(end)s") % {"start": start, "end": end})])
    ws.append(columns)
    for cell in ws[4]:
        cell.font = Font(bold=True)

    def line(fig):
        rates = fig.rates
        values = [_safe(fig.area_name)] + [fig.counts.get(k, 0) for k, _ in ind.MEASURES]
        values += [None if rates[k] is None else round(rates[k], 2) for k, *_ in ind.RATES]
        values += [fig.population, None if fig.prevalence is None else round(fig.prevalence, 2)]
        return values

    for fig in rows:
        ws.append(line(fig))
    ws.append(line(total))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.append([])
    ws.append([
        _safe(_("填报人：%(name)s") % {"name": request.user}), None, None,
        _safe(_("审核人：")), None, None,
        _safe(_("填报日期：%(date)s") % {"date": timezone.localdate()}),
    ])  # fmt: skip
    ws.append([_safe(_("口径说明：管理率、规范管理率、服药率、规律服药率、面访率、体检率以在册"
                       "患者为分母；病情稳定率以在管居家患者为分母；报告患病率以辖区居民档案数"
                       "为分母。详见平台文档 docs/smd.md。"))])  # fmt: skip
    ws.column_dimensions["A"].width = 22
    buffer = io.BytesIO()
    wb.save(buffer)
    audit.record("smd.indicators.export", actor=request.user, object_type="smd.indicators",
                 object_id=area.code, area_code=area.code)  # fmt: skip
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"smd-indicators-{area.code}-{start}-{end}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
