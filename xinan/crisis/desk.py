"""Crisis desk pages: the duty roster and the hotline desk.

Thin views like `views`: parse, go through the scope gate (`selectors`, `scope`), call a
service, render.
"""

import datetime as dt
import re

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count
from django.db.models.functions import ExtractHour
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xinan.core import audit, scope
from xinan.core.models import Area
from xinan.crisis import forms, routing, selectors, services
from xinan.crisis.views import _uncovered_now, crisis_only, desk_only
from xinan.people import services as people_services

# Rosters ------------------------------------------------------------------------------------


def _roster_choices(user):
    prefixes = selectors.crisis_prefixes(user)
    areas = Area.objects.filter(scope.area_q(prefixes, "code")).exclude(level="grid")
    User = get_user_model()
    workers = (
        User.objects.filter(
            memberships__role=selectors.CRISIS_ROLE,
            memberships__active=True,
        )
        .filter(scope.area_q(prefixes, "memberships__area__code"))
        .distinct()
        .order_by("username")
    )
    return list(workers), list(areas[:1000])


@crisis_only
@require_http_methods(["GET", "POST"])
def roster(request):
    user = request.user
    workers, areas = _roster_choices(user)
    form = forms.ShiftForm(request.POST or None, users=workers, areas=areas)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.create_shift(
                actor=user,
                user=next(w for w in workers if str(w.pk) == d["user"]),
                area=d["area"],
                starts_at=d["starts_at"],
                ends_at=d["ends_at"],
            )
        except services.CrisisError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已新增班次"))
            return redirect("crisis:roster")
    now = timezone.now()
    start = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    covered = [a for a in areas if a.level in ("district", "town", "city")][:30]
    rows = [routing.coverage(a, start) for a in covered]
    days = [start + dt.timedelta(days=d) for d in range(7)]
    upcoming = selectors.shifts(user).filter(ends_at__gt=now).order_by("starts_at")[:200]
    return render(
        request,
        "crisis/roster.html",
        {
            "form": form,
            "rows": rows,
            "days": days,
            "hours": range(24),
            "shifts": upcoming,
            "start": start,
            "uncovered": _uncovered_now(user, now),
            "total_gaps": sum(r.gaps for r in rows),
        },
        status=200 if request.method == "GET" or form.is_valid() else 400,
    )


@crisis_only
@require_POST
def shift_delete(request, pk):
    shift = selectors.get_shift(request.user, pk)
    services.delete_shift(shift, actor=request.user)
    messages.success(request, _("已删除班次"))
    return redirect("crisis:roster")


# Hotline desk -------------------------------------------------------------------------------


def _desk_areas(user) -> list[Area]:
    prefixes = selectors.crisis_prefixes(user)
    return list(Area.objects.filter(scope.area_q(prefixes, "code")).exclude(level="grid")[:1000])


def _find_caller(user, form, pick: str = ""):
    """The person a hotline call is about, found through the gate by name, phone or ID
    number; None for an anonymous call. A miss or an ambiguous name is a form error (the typed
    form stays); several matches are offered to pick from."""
    d = form.cleaned_data
    if pick:
        person = scope.persons(user).filter(pk=int(pick)).first() if pick.isdigit() else None
        if person is None:
            form.add_error("person_query", _("没有找到该居民（或不在您的职责范围内）"))
        return person, []
    query = (d.get("person_query") or "").strip()
    if not query:
        return None, []
    compact = re.sub(r"[\s-]", "", query)
    if compact[:-1].isdigit():  # a phone or ID number typed with spaces or dashes
        query = compact
    matches = list(people_services.search(user, query).order_by("name", "pk")[:20])
    exact = [p for p in matches if p.name == query]
    if len(matches) == 1 or len(exact) == 1:
        return (exact or matches)[0], []
    if not matches:
        form.add_error(
            "person_query",
            _("在您的职责范围内没有找到“%(q)s”；请核对姓名、手机号或身份证号，或留空按匿名记录")
            % {"q": query},
        )
        return None, []
    form.add_error("person_query", _("找到 %(n)s 位居民，请在下方选择一位") % {"n": len(matches)})
    return None, matches


@crisis_only
@require_http_methods(["GET", "POST"])
def hotline(request):
    user = request.user
    form = forms.CallForm(request.POST or None, areas=_desk_areas(user))
    candidates = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        person, candidates = _find_caller(user, form, request.POST.get("person_pick", ""))
        area = d["area_code"]
        if not form.errors:
            try:
                call = services.record_call(
                    actor=user,
                    topic=d["topic"],
                    risk=d["risk"],
                    received_at=d["received_at"],
                    wait_seconds=d["wait_seconds"],
                    duration_seconds=d["duration_seconds"],
                    person=person,
                    area_code=_call_area(user, area.code if area else ""),
                    phone=d["phone"],
                    notes=d["notes"],
                )
            except services.CrisisError as exc:
                form.add_error(None, exc.message)
            else:
                if call.alert_id:
                    messages.warning(request, _("高危来电：已触发危机预警并生成回电任务"))
                else:
                    messages.success(request, _("来电已记录"))
                return redirect("crisis:hotline")
    now = timezone.now()
    calls = selectors.calls(user).select_related("counsellor")
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    per_hour = {
        row["hour"]: row
        for row in calls.filter(received_at__gte=today)
        .annotate(hour=ExtractHour("received_at"))
        .values("hour")
        .annotate(n=Count("id"), wait=Avg("wait_seconds"), talk=Avg("duration_seconds"))
    }
    hours = [(h, per_hour.get(h)) for h in range(24)]
    pending = list(
        selectors.callbacks(user).pending().select_related("alert", "task__assignee")[:200]
    )
    return render(
        request,
        "crisis/hotline.html",
        {
            "form": form,
            "candidates": candidates,
            "calls": calls[:50],
            "hours": hours,
            "due": [c for c in pending if c.due_at >= now],
            "missed": [c for c in pending if c.due_at < now],
            "done_form": forms.CallbackDoneForm(),
        },
        status=400 if form.errors else 200,
    )


def _call_area(user, code: str) -> str:
    """An anonymous call may name where the caller is, inside the desk's own areas."""
    code = (code or "").strip()
    if code and any(code.startswith(p) for p in selectors.crisis_prefixes(user)):
        return code
    areas = selectors.crisis_areas(user)
    return min(areas, key=lambda a: len(a.prefix)).code if areas else ""


@crisis_only
@require_GET
def call_detail(request, pk):
    call = selectors.get_call(request.user, pk)
    audit.record("crisis.call.view", call, actor=request.user)
    return render(request, "crisis/call_detail.html", {"call": call})


@desk_only
@require_POST
def callback_done(request, pk):
    task = selectors.get_callback(request.user, pk)
    form = forms.CallbackDoneForm(request.POST)
    if form.is_valid():
        try:
            services.complete_callback(
                task, actor=request.user, outcome=form.cleaned_data["outcome"]
            )
        except services.CrisisError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("回电已完成"))
    else:
        messages.error(request, _("请选择回电结果"))
    if request.POST.get("back") == "alert" and task.alert_id:
        return redirect("crisis:alert", pk=task.alert_id)
    return redirect("crisis:hotline")
