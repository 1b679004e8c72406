"""Crisis pages: the live alert board, working an alert, rosters, the hotline desk.

Thin views: parse, go through `xinan.crisis.selectors` (the scope gate for crisis rows), call a
service, render. Every view of an alert is audited.
"""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count
from django.db.models.functions import ExtractHour
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xinan.core import audit, scope
from xinan.core.decorators import role_required
from xinan.core.models import Area
from xinan.crisis import forms, routing, selectors, services
from xinan.crisis.models import EventKind, Status

crisis_only = role_required(selectors.CRISIS_ROLE)
FEED_KINDS = [
    EventKind.RAISED,
    EventKind.REPEATED,
    EventKind.ESCALATED,
    EventKind.ACKNOWLEDGED,
    EventKind.CLOSED,
]


def _area_names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    return dict(Area.objects.filter(code__in=codes).values_list("code", "name"))


# The board and its live feed ----------------------------------------------------------------


@crisis_only
@require_GET
def board(request):
    user = request.user
    active = list(
        selectors.alerts(user)
        .active()
        .select_related("person", "assigned_to")
        .order_by("status", "-raised_at")[:200]
    )
    closed = list(selectors.alerts(user).filter(status=Status.CLOSED).order_by("-closed_at")[:20])
    names = _area_names(a.area_code for a in active + closed)
    for a in active + closed:
        a.area_name = names.get(a.area_code, a.area_code or _("未知地点"))
    last = selectors.latest_event_id()
    audit.record(
        "crisis.alert.list",
        actor=user,
        object_type="crisis.alert",
        object_id="board",
        reason=",".join(str(a.pk) for a in active)[:1000],
    )
    return render(
        request,
        "crisis/board.html",
        {
            "active": active,
            "closed": closed,
            "last_event": last,
            "unacked": sum(1 for a in active if a.status == Status.OPEN),
            "now": timezone.now(),
            "poll_ms": getattr(settings, "CRISIS_BOARD_POLL_MS", 300),
        },
    )


@crisis_only
@require_GET
def feed(request, since: int):
    """Alert events after `since` that this user may see: the board polls it every 300 ms.

    Carries no names, only what a board row shows, so a poll is not an audited view; opening
    the alert is.
    """
    user = request.user
    events = list(
        selectors.feed_events(user, since, FEED_KINDS).select_related("alert").order_by("id")[:100]
    )
    last = events[-1].id if events else since
    if not events and since == 0:
        last = selectors.latest_event_id()
    names = _area_names(e.alert.area_code for e in events)
    mine = [
        e.alert_id
        for e in events
        if e.kind in (EventKind.RAISED, EventKind.ESCALATED) and e.alert.assigned_to_id == user.pk
    ]
    services.mark_delivered(mine, user=user)
    unacked = selectors.alerts(user).filter(status=Status.OPEN).count()
    return JsonResponse(
        {
            "last": last,
            "unacked": unacked,
            "events": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "kind_label": e.get_kind_display(),
                    "alert": {
                        "id": e.alert_id,
                        "level": e.alert.level,
                        "level_label": e.alert.get_level_display(),
                        "status": e.alert.status,
                        "status_label": e.alert.get_status_display(),
                        "summary": e.alert.summary,
                        "area": names.get(e.alert.area_code, e.alert.area_code),
                        "raised_at": timezone.localtime(e.alert.raised_at).strftime("%H:%M:%S"),
                        "mine": e.alert.assigned_to_id == user.pk,
                        "url": reverse("crisis:alert", args=[e.alert_id]),
                    },
                }
                for e in events
            ],
        }
    )


# One alert ----------------------------------------------------------------------------------


@crisis_only
@require_GET
def alert_detail(request, pk):
    alert = selectors.get_alert(request.user, pk)
    audit.record("crisis.alert.view", alert, actor=request.user)
    events = alert.events.select_related("actor", "target")
    return render(
        request,
        "crisis/alert_detail.html",
        {
            "alert": alert,
            "events": events,
            "area": Area.objects.filter(code=alert.area_code).first(),
            "contact_form": forms.ContactForm(),
            "risk_form": forms.RiskForm(),
            "disposition_form": forms.DispositionForm(),
            "close_form": forms.CloseForm(),
            "overdue": alert.is_overdue(),
            "callbacks": alert.callbacks.all(),
        },
    )


def _act(request, pk, form_class, do):
    alert = selectors.get_alert(request.user, pk)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        messages.error(request, _("请完整填写表单"))
        return redirect("crisis:alert", pk=alert.pk)
    try:
        message = do(alert, form.cleaned_data if form else {})
    except services.CrisisError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect("crisis:alert", pk=alert.pk)


@crisis_only
@require_POST
def acknowledge(request, pk):
    def do(alert, data):
        services.acknowledge_alert(alert, actor=request.user)
        return _("已确认，请立即联系当事人")

    return _act(request, pk, None, do)


@crisis_only
@require_POST
def contact(request, pk):
    def do(alert, data):
        services.record_contact(
            alert, actor=request.user, outcome=data["outcome"], note=data["note"]
        )
        return _("已记录联系尝试")

    return _act(request, pk, forms.ContactForm, do)


@crisis_only
@require_POST
def risk(request, pk):
    def do(alert, data):
        services.record_risk(alert, actor=request.user, level=data["level"], note=data["note"])
        return _("已记录风险评估")

    return _act(request, pk, forms.RiskForm, do)


@crisis_only
@require_POST
def disposition(request, pk):
    def do(alert, data):
        services.record_disposition(
            alert, actor=request.user, disposition=data["disposition"], note=data["note"]
        )
        return _("已记录处置结果")

    return _act(request, pk, forms.DispositionForm, do)


@crisis_only
@require_POST
def close(request, pk):
    def do(alert, data):
        services.close_alert(alert, actor=request.user, reason=data["reason"])
        return _("预警已关闭")

    return _act(request, pk, forms.CloseForm, do)


@crisis_only
@require_POST
def reopen(request, pk):
    def do(alert, data):
        services.reopen_alert(alert, actor=request.user)
        return ""

    return _act(request, pk, None, do)


@role_required(*scope.ROLE_DETAIL.keys())
@require_http_methods(["GET", "POST"])
def manual_alert(request, person_id):
    """Any staff member who can open a person may raise an alert for them by hand."""
    person = scope.get_person(request.user, person_id)
    form = forms.ManualAlertForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.raise_manual_alert(
                person,
                actor=request.user,
                level=form.cleaned_data["level"],
                reason=form.cleaned_data["reason"],
            )
        except services.CrisisError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已上报危机预警，值班人员将立即处理"))
            return redirect("people:detail", pk=person.pk)
    return render(request, "crisis/manual_alert.html", {"person": person, "form": form})


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
    return list(workers), list(areas[:500])


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
                area=next(a for a in areas if a.code == d["area"]),
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
        },
    )


@crisis_only
@require_POST
def shift_delete(request, pk):
    shift = selectors.get_shift(request.user, pk)
    services.delete_shift(shift, actor=request.user)
    messages.success(request, _("已删除班次"))
    return redirect("crisis:roster")


# Hotline desk -------------------------------------------------------------------------------


@crisis_only
@require_http_methods(["GET", "POST"])
def hotline(request):
    user = request.user
    form = forms.CallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        person = scope.get_person(user, d["person_id"]) if d["person_id"] else None
        try:
            call = services.record_call(
                actor=user,
                topic=d["topic"],
                risk=d["risk"],
                received_at=d["received_at"],
                wait_seconds=d["wait_seconds"],
                duration_seconds=d["duration_seconds"],
                person=person,
                area_code=_call_area(user, d["area_code"]),
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
    pending = selectors.callbacks(user).pending().order_by("due_at")
    return render(
        request,
        "crisis/hotline.html",
        {
            "form": form,
            "calls": calls[:50],
            "hours": hours,
            "due": [c for c in pending[:200] if c.due_at >= now],
            "missed": [c for c in pending[:200] if c.due_at < now],
            "done_form": forms.CallbackDoneForm(),
        },
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


@crisis_only
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
    return redirect("crisis:hotline")


# The resident's side ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def callback_request(request):
    """The crisis screen: hotlines first, then an optional callback request."""
    person = getattr(request.user, "person", None) if request.user.is_authenticated else None
    area_code = request.POST.get("area_code") or request.GET.get("area", "")
    if person is not None:
        area_code = person.home_area_id
    area = Area.objects.filter(code=area_code).first() if area_code else None
    form = forms.CallbackRequestForm(request.POST or None, initial={"area_code": area_code})
    done = False
    if request.method == "POST" and form.is_valid():
        try:
            services.request_callback(
                phone=form.cleaned_data["phone"],
                note=form.cleaned_data["note"],
                area_code=area.code if area else "",
                actor=request.user,
            )
        except services.CrisisError as exc:
            form.add_error("phone", exc.message)
        else:
            done = True
    return render(
        request,
        "crisis/callback.html",
        {"form": form, "done": done, "local_hotline": area.local_hotline() if area else ""},
        status=200,
    )
