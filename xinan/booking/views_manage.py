"""Counsellors' availability; area admins' voucher budgets, hand issue and reconciliation."""

import csv
import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinan.booking import services, vouchers
from xinan.booking.forms import AvailabilityForm, BudgetForm, ExceptionForm, IssueForm
from xinan.booking.models import Availability, VoucherBudget
from xinan.core import audit, scope
from xinan.core.decorators import role_required
from xinan.core.lib.spreadsheet import safe_cell
from xinan.network import access
from xinan.network.models import ServiceSite


def _sites_for(user):
    prefixes = [m.area.prefix for m in user.active_memberships() if m.area_id]
    return ServiceSite.objects.active().filter(scope.area_q(prefixes, "area__code"))


@role_required("counsellor")
def availability(request):
    user = request.user
    form = AvailabilityForm(
        request.POST or None,
        instance=Availability(counsellor=user, valid_from=timezone.localdate()),
        sites=_sites_for(user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.set_availability(form.save(commit=False), actor=user)
        except services.BookingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("可预约时间已添加"))
            return redirect("booking:availability")
    return render(
        request,
        "booking/availability.html",
        {
            "form": form,
            "rules": Availability.objects.filter(counsellor=user, active=True).select_related(
                "site"
            ),
            "exceptions": user.availability_exceptions.filter(date__gte=timezone.localdate()),
            "exception_form": ExceptionForm(),
        },
    )


@role_required("counsellor")
@require_POST
def availability_remove(request, pk):
    rule = get_object_or_404(Availability, pk=pk, counsellor=request.user)
    rule.active = False
    rule.save(update_fields=["active"])
    audit.record("booking.availability.remove", rule, actor=request.user)
    messages.success(request, _("已停止这段可预约时间；已有预约不受影响"))
    return redirect("booking:availability")


@role_required("counsellor")
@require_POST
def availability_exception(request):
    form = ExceptionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的日期和时间"))
    else:
        try:
            services.add_exception(request.user, actor=request.user, **form.cleaned_data)
        except services.BookingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("停诊已登记"))
    return redirect("booking:availability")


# ---------------------------------------------------------------- vouchers


@role_required("area_admin")
def budgets(request):
    prefixes = access.admin_prefixes_or_404(request.user)
    form = BudgetForm(request.POST or None, areas=access.managed_areas(request.user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            total = vouchers.parse_yuan(d["total"])
            if d["period_end"] < d["period_start"]:
                raise services.BookingError(_("结束日期应不早于开始日期"))
        except services.BookingError as exc:
            form.add_error(None, exc.message)
        else:
            budget = VoucherBudget.objects.create(
                area=d["area"],
                name=d["name"],
                period_start=d["period_start"],
                period_end=d["period_end"],
                total_cents=total,
            )
            audit.record(
                "booking.budget.create", budget, actor=request.user, area_code=budget.area_id
            )
            messages.success(request, _("预算已创建"))
            return redirect("booking:budgets")
    today = timezone.localdate()
    start = (
        dt.date.fromisoformat(request.GET["since"])
        if _iso(request.GET.get("since"))
        else today.replace(day=1)
    )
    end = dt.date.fromisoformat(request.GET["until"]) if _iso(request.GET.get("until")) else today
    rows = [r for p in prefixes for r in vouchers.reconciliation(p, start=start, end=end)]
    if request.GET.get("format") == "csv":
        return _recon_csv(rows)
    return render(
        request,
        "booking/budgets.html",
        {
            "form": form,
            "budgets": vouchers.budgets_within(prefixes),
            "rows": rows,
            "total": vouchers.yuan(sum(r.cents for r in rows)),
            "sessions": sum(r.sessions for r in rows),
            "since": start,
            "until": end,
            "yuan": vouchers.yuan,
        },
    )


def _iso(text) -> bool:
    try:
        dt.date.fromisoformat(text or "")
    except ValueError:
        return False
    return True


def _recon_csv(rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="voucher-reconciliation.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("月份"), _("服务点"), _("咨询师"), _("次数"), _("金额（元）")])
    for r in rows:
        writer.writerow(
            [f"{r.month:%Y-%m}", safe_cell(r.site), safe_cell(r.counsellor), r.sessions, r.yuan]
        )
    return response


@role_required("area_admin")
def issue(request, person_pk):
    person = scope.get_person(request.user, person_pk)
    budgets_qs = vouchers.budgets_within(access.admin_prefixes_or_404(request.user))
    form = IssueForm(request.POST or None, budgets=budgets_qs)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            v = vouchers.issue(
                person,
                budget=d["budget"],
                value_cents=vouchers.parse_yuan(d["value"]),
                valid_days=d["valid_days"],
                services=d["services"],
                actor=request.user,
            )
        except services.BookingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("已发放心理服务券 %(code)s（%(value)s元）")
                % {"code": v.code, "value": v.value_yuan},
            )
            return redirect("people:detail", pk=person.pk)
    return render(request, "booking/issue.html", {"person": person, "form": form})
