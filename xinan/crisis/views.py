"""Crisis pages: the live alert board, working an alert, rosters, the hotline desk.

Thin views: parse, go through `xinan.crisis.selectors` (the scope gate for crisis rows), call a
service, render. Every view of an alert is audited.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xinan.cases.callbacks import may_work
from xinan.core import audit, scope
from xinan.core.decorators import role_required
from xinan.core.models import Area
from xinan.crisis import forms, reach, routing, selectors, services
from xinan.crisis.models import LEVEL_RANK, EventKind, Status

crisis_only = role_required(selectors.CRISIS_ROLE)
# The board and the alerts also open to area admins: a fallback receives alerts when nobody is
# on duty, and sees exactly the ones it holds.
desk_only = role_required(selectors.CRISIS_ROLE, "area_admin")
FEED_KINDS = [
    EventKind.RAISED,
    EventKind.REPEATED,
    EventKind.ESCALATED,
    EventKind.ACKNOWLEDGED,
    EventKind.CLOSED,
    EventKind.HANDED_OVER,
    EventKind.CALLBACK_OVERDUE,
]
# Event ids read per poll (every kind; the board shows some): a backlog drains at this many per
# poll interval.
FEED_BATCH = 200
RINGING_KINDS = (
    EventKind.RAISED,
    EventKind.ESCALATED,
    EventKind.HANDED_OVER,
    EventKind.CALLBACK_OVERDUE,
)


def _area_names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    return dict(Area.objects.filter(code__in=codes).values_list("code", "name"))


# The board and its live feed ----------------------------------------------------------------


@desk_only
@require_GET
def board(request):
    user = request.user
    now = timezone.now()
    active = list(
        selectors.alerts(user)
        .active()
        .select_related("person", "assigned_to")
        .order_by("status", "-raised_at")[:200]
    )
    for a in active:
        a.overdue = a.is_late(now)
    # Overdue first, then waiting for acknowledgement, then in hand; louder levels first.
    active.sort(key=lambda a: (not a.overdue, a.status != Status.OPEN, -LEVEL_RANK.get(a.level, 0)))
    closed = list(selectors.alerts(user).filter(status=Status.CLOSED).order_by("-closed_at")[:20])
    names = _area_names(a.area_code for a in active + closed)
    for a in active + closed:
        a.area_name = names.get(a.area_code, a.area_code or _("未知地点"))
    last, gaps = selectors.latest_event_id()
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
            "event_gaps": ",".join(map(str, gaps)),
            "unacked": sum(1 for a in active if a.status == Status.OPEN),
            "overdue_count": sum(1 for a in active if a.overdue),
            "now": now,
            "poll_ms": getattr(settings, "CRISIS_BOARD_POLL_MS", 300),
            "on_duty": _on_duty_now(user, now),
            "uncovered": _uncovered_now(user, now),
        },
    )


def _on_duty_now(user, now):
    return list(
        selectors.shifts(user)
        .filter(starts_at__lte=now, ends_at__gt=now)
        .order_by("area__code", "ends_at")[:50]
    )


def _uncovered_now(user, now) -> list[dict]:
    """The user's crisis areas (and their towns) nobody covers right now, with who gets their
    alerts instead: said loudly on the board and the roster."""
    prefixes = selectors.crisis_prefixes(user)
    if not prefixes:
        return []
    areas = list(
        Area.objects.filter(scope.area_q(prefixes, "code"))
        .filter(level__in=["city", "district", "town"])
        .order_by("code")[:40]
    )
    User = get_user_model()
    result = []
    covered: list[str] = []
    for area in areas:
        if any(area.code.startswith(p) for p in covered) or routing.on_duty(area.code, now):
            covered.append(area.prefix)
            continue
        backup = routing.fallback(area.code)
        people = User.objects.in_bulk([d.user_id for d in backup])
        result.append(
            {"area": area, "fallback": [people[d.user_id] for d in backup if d.user_id in people]}
        )
    return result


@desk_only
@require_GET
def feed(request, since: int):
    """Alert events after `since` that this user may see: the board polls it every 300 ms.

    `?gaps=` names ids below `since` the board has not seen yet (selectors.FEED_GAP_SPAN says
    why there are any); events among them that have committed since come with the new ones.
    Carries no names, only what a board row shows, so a poll is not an audited view; opening
    the alert is.
    """
    user = request.user
    asked = _gap_ids(request.GET.get("gaps", ""))
    ids, gaps = selectors.next_event_ids(since, FEED_BATCH)
    last = ids[-1] if ids else since
    filled = selectors.filled_gaps(asked)
    events = []
    if ids or filled:  # most polls find nothing new: they cost two small queries
        events = list(
            selectors.feed_events(user, FEED_KINDS, ids + filled)
            .select_related("alert", "alert__assigned_to")
            .order_by("id")
        )
    names = _area_names(e.alert.area_code for e in events)
    mine = [
        e.alert_id for e in events if e.kind in RINGING_KINDS and e.alert.assigned_to_id == user.pk
    ]
    services.mark_delivered(mine, user=user)
    unacked = selectors.alerts(user).filter(status=Status.OPEN).count()
    now = timezone.now()
    return JsonResponse(
        {
            "last": last,
            "gaps": gaps,
            "filled": filled,
            "unacked": unacked,
            "events": [_feed_row(e, user, names, now) for e in events],
        }
    )


def _gap_ids(raw: str) -> list[int]:
    ids = []
    for part in raw.split(",")[: selectors.FEED_GAP_LIMIT]:
        if part.strip().isdigit():
            ids.append(int(part))
    return ids


def _feed_row(e, user, names, now) -> dict:
    return {
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
            "area": names.get(e.alert.area_code) or e.alert.area_code or str(_("未知地点")),
            "raised_at": timezone.localtime(e.alert.raised_at).strftime("%H:%M:%S"),
            "mine": e.alert.assigned_to_id == user.pk,
            "assignee": str(e.alert.assigned_to or ""),
            "overdue": e.alert.is_late(now),
            "url": reverse("crisis:alert", args=[e.alert_id]),
        },
    }


# One alert ----------------------------------------------------------------------------------


@desk_only
@require_GET
def alert_detail(request, pk):
    alert = selectors.get_alert(request.user, pk)
    audit.record("crisis.alert.view", alert, actor=request.user)
    return _alert_page(request, alert)


def _alert_page(request, alert, *, revealed=None, status=200):
    user = request.user
    holder = reach.holds(alert, user)
    chain = routing.chain(alert.area_code) if holder else []
    others = get_user_model().objects.in_bulk([d.user_id for d in chain if d.user_id != user.pk])
    callbacks = list(alert.callbacks.select_related("task"))
    return render(
        request,
        "crisis/alert_detail.html",
        {
            "alert": alert,
            "events": alert.events.select_related("actor", "target"),
            "area": Area.objects.filter(code=alert.area_code).first(),
            "contact_form": forms.ContactForm(),
            "risk_form": forms.RiskForm(),
            "disposition_form": forms.DispositionForm(),
            "close_form": forms.CloseForm(),
            "done_form": forms.CallbackDoneForm(),
            "overdue": alert.is_overdue(),
            "callbacks": callbacks,
            # Who may record a callback's outcome here: the alert's holder, and whoever holds
            # the callback in 我的待办 (its link leads here, also once the alert is closed).
            "callbacks_mine": {
                cb.pk for cb in callbacks if not cb.done_at and (holder or may_work(user, cb.task))
            },
            "holder": holder,
            "contacts": reach.contacts(alert),
            "revealed": revealed,
            "handover_form": forms.HandoverForm(
                people=[(others[d.user_id], d) for d in chain if d.user_id in others]
            )
            if holder
            else None,
        },
        status=status,
    )


@desk_only
@require_POST
def reveal(request, pk):
    """The holder taps to see the full numbers: audited with the alert as its reason."""
    alert = selectors.get_alert(request.user, pk)
    try:
        revealed = reach.reveal_contacts(alert, actor=request.user)
    except services.CrisisError as exc:
        messages.error(request, exc.message)
        return redirect("crisis:alert", pk=alert.pk)
    return _alert_page(request, alert, revealed=revealed)


@desk_only
@require_POST
def handover(request, pk):
    alert = selectors.get_alert(request.user, pk)
    form = forms.HandoverForm(request.POST, people=[])
    if not form.is_valid():
        messages.error(request, _("请选择转交给谁"))
        return redirect("crisis:alert", pk=alert.pk)
    to_user = get_user_model().objects.filter(pk=form.cleaned_data["to_user"]).first()
    try:
        reach.hand_over(alert, actor=request.user, to_user=to_user, note=form.cleaned_data["note"])
    except services.CrisisError as exc:
        messages.error(request, exc.message)
        return redirect("crisis:alert", pk=alert.pk)
    messages.success(request, _("已转交给 %(who)s") % {"who": to_user})
    return redirect("crisis:board")


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


@desk_only
@require_POST
def acknowledge(request, pk):
    def do(alert, data):
        services.acknowledge_alert(alert, actor=request.user)
        return _("已确认，请立即联系当事人")

    return _act(request, pk, None, do)


@desk_only
@require_POST
def contact(request, pk):
    def do(alert, data):
        services.record_contact(
            alert, actor=request.user, outcome=data["outcome"], note=data["note"]
        )
        return _("已记录联系尝试")

    return _act(request, pk, forms.ContactForm, do)


@desk_only
@require_POST
def risk(request, pk):
    def do(alert, data):
        services.record_risk(alert, actor=request.user, level=data["level"], note=data["note"])
        return _("已记录风险评估")

    return _act(request, pk, forms.RiskForm, do)


@desk_only
@require_POST
def disposition(request, pk):
    def do(alert, data):
        services.record_disposition(
            alert, actor=request.user, disposition=data["disposition"], note=data["note"]
        )
        return _("已记录处置结果")

    return _act(request, pk, forms.DispositionForm, do)


@desk_only
@require_POST
def close(request, pk):
    def do(alert, data):
        services.close_alert(alert, actor=request.user, reason=data["reason"])
        return _("预警已关闭")

    return _act(request, pk, forms.CloseForm, do)


@desk_only
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
    task = None
    if request.method == "POST" and form.is_valid():
        try:
            task = services.request_callback(
                phone=form.cleaned_data["phone"],
                note=form.cleaned_data["note"],
                area_code=area.code if area else "",
                actor=request.user,
            )
        except services.CrisisError as exc:
            form.add_error("phone", exc.message)
    # Tell the resident only what is true now: someone on duty will call, or a fallback has it
    # but may not call at once, or nobody can call back (call the hotline now).
    if task is not None and task.alert_id:
        alert = task.alert
        if alert.assigned_to_id is None:
            who = "nobody"
        else:
            who = "fallback" if alert.via_fallback else "on_duty"
    else:
        now = routing.reachability(area.code if area else "")
        who = "on_duty" if now.on_duty else "fallback" if now.fallback else "nobody"
    return render(
        request,
        "crisis/callback.html",
        {
            "form": form,
            "done": task is not None,
            "who": who,
            "local_hotline": area.local_hotline() if area else "",
        },
        status=200 if task is not None or request.method == "GET" else 400,
    )
