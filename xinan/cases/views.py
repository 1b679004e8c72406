"""The loop's staff pages: worklist, cases, a case and its actions. Thin: parse, scope gate,
service, render. Referral pages are in views_referrals.py, figures in views_figures.py."""

import datetime as dt

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from xinan.accounts.models import User
from xinan.cases import forms, services
from xinan.cases.models import (
    Case,
    FollowUp,
    Intervention,
    ServiceLine,
    Stage,
    Task,
    TaskKind,
    TaskStatus,
)
from xinan.cases.services.cases import CASE_ROLES
from xinan.cases.tables import table
from xinan.core import audit, scope
from xinan.core.decorators import role_required
from xinan.core.lib import areacode

audit.register_action("cases.person.reveal", gettext_lazy("查看完整联系方式"))

staff_only = role_required(*CASE_ROLES, "area_admin")


def _when(task: services.TaskRow, now: dt.datetime) -> str:
    if task.due_at < now:
        return "overdue"
    if timezone.localtime(task.due_at).date() == timezone.localdate(now):
        return "today"
    return "upcoming"


@staff_only
@require_GET
def worklist(request):
    """我的待办: overdue first, then due today, then upcoming; filter by kind and when."""
    now = timezone.now()
    kind, when = request.GET.get("kind", ""), request.GET.get("when", "")
    narrow = Q()
    if kind in TaskKind.values:
        narrow &= Q(kind=kind)
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    if when == "overdue":
        narrow &= Q(due_at__lt=now)
    elif when == "today":
        narrow &= Q(due_at__gte=now, due_at__lte=end_of_today)
    elif when == "upcoming":
        narrow &= Q(due_at__gt=end_of_today)
    tasks = services.worklist(request.user).filter(narrow)
    t = table(
        request,
        tasks,
        columns=[
            ("due", _("截止时间"), "due_at"),
            ("kind", _("类型"), "kind"),
            ("title", _("事项"), None),
            ("person", _("居民"), None),
            ("action", _("操作"), None),
        ],
        default="due",
        filters=("kind", "when"),
        count=False,  # the workbench shows the counts that matter (overdue, today)
        ids=lambda order, start, stop: services.worklist_ids(
            request.user, narrow, order, start, stop
        ),
        rows=services.task_rows,
    )
    for task in t.page:
        task.when = _when(task, now)
    return render(
        request,
        "cases/worklist.html",
        {"table": t, "kinds": TaskKind.choices, "kind": kind, "when": when, "now": now},
    )


@staff_only
@require_GET
def case_list(request):
    cases = services.cases_for(request.user).select_related("person", "responsible")
    stage, line = request.GET.get("stage", ""), request.GET.get("line", "")
    if stage in Stage.values:
        cases = cases.filter(stage=stage)
    elif stage != "all":
        cases = cases.open()
    if line in ServiceLine.values:
        cases = cases.filter(line=line)
    if request.GET.get("mine"):
        cases = cases.filter(responsible=request.user)
    if request.GET.get("lost"):
        cases = cases.filter(lost_to_follow_up=True)
    if request.GET.get("source"):
        cases = cases.filter(source=request.GET["source"])
    t = table(
        request,
        cases,
        columns=[
            ("opened", _("建档时间"), "opened_at"),
            ("person", _("居民"), "person__name"),
            ("line", _("服务条线"), "line"),
            ("stage", _("阶段"), "stage"),
            ("responsible", _("责任人"), None),
            ("flags", _("标记"), None),
        ],
        default="-opened",
        filters=("stage", "line", "mine", "lost", "source"),
    )
    return render(
        request,
        "cases/case_list.html",
        {
            "table": t,
            "stages": Stage.choices,
            "lines": ServiceLine.choices,
            "stage": stage,
            "line": line,
            "mine": request.GET.get("mine", ""),
            "lost": request.GET.get("lost", ""),
        },
    )


@staff_only
def case_open(request, person_pk):
    person = scope.get_person(request.user, person_pk)
    form = forms.OpenCaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.open_case_by_hand(
                person,
                actor=request.user,
                line=form.cleaned_data["line"],
                note=form.cleaned_data["note"],
            )
        except services.CaseError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(request, _("个案已建立"))
            return redirect("cases:detail", case.pk)
    return render(request, "cases/case_open.html", {"person": person, "form": form})


def _candidates(case: Case) -> list[User]:
    """Workers whose scope reaches the person: those a case may be given to."""
    from xinan.accounts.models import Membership

    codes = areacode.ancestors(case.person.home_area_id)
    ids = (
        Membership.objects.filter(active=True, role__in=CASE_ROLES, area_id__in=codes)
        .values_list("user_id", flat=True)
        .distinct()
    )
    return list(User.objects.filter(pk__in=ids).exclude(pk=case.responsible_id).order_by("pk"))


def _case_page(request, case: Case, **form_overrides):
    from xinan.screening.models import Assessment

    user = request.user
    detail = scope.detail_for(user, case.person)
    assessments = (
        list(
            scope.filter_related(user, Assessment.objects.filter(person=case.person)).order_by(
                "-submitted_at"
            )[:20]
        )
        if detail >= scope.Detail.SCORES
        else []
    )
    instrument = next((a.instrument for a in assessments if a.positive), "phq9")
    series = services.score_series(user, case.person, instrument)
    flags = services.outcome_flags(instrument, [total for _at, total in series])
    order = [
        Stage.ASSESS,
        Stage.IDENTIFY,
        Stage.INTERVENE,
        Stage.REFER,
        Stage.FOLLOW_UP,
        Stage.CLOSED,
    ]
    reached = {e.to_stage for e in case.events.all()} | {Stage.ASSESS}
    strip = [
        ((s, "current" if s == case.stage else "done" if s in reached else ""), Stage(s).label)
        for s in order
    ]
    ctx = {
        "case": case,
        "stage_strip": strip,
        "now": timezone.now(),
        "instrument_label": services.care.instrument_label(instrument),
        "chart": {
            "instrument": services.care.instrument_label(instrument),
            "series": [[at.isoformat(), total] for at, total in series],
            "baseline": flags.baseline,
            "remission": services.care.REMISSION_BELOW.get(services.care.normalise(instrument)),
            "labels": {"response": _("应答线"), "remission": _("缓解线")},
        },
        "person": case.person,
        "detail": detail,
        "show_scores": detail >= scope.Detail.SCORES,
        "show_notes": services.may_read_notes(user, case.person),
        "may_act": case.is_open and services.may_work_on(user, case),
        "events": case.events.select_related("actor"),
        "tasks": case.tasks.select_related("assignee", "assignee_institution").order_by(
            "status", "due_at"
        ),
        # scope: rows of a case the caller opened through services.get_case (the gate)
        "interventions": Intervention.objects.filter(case=case).select_related(
            "by", "site", "service_site"
        ),
        "referrals": case.referrals.select_related("to_institution", "from_institution"),
        # scope: rows of a case the caller opened through services.get_case (the gate)
        "follow_ups": FollowUp.objects.filter(case=case),
        "assessments": assessments,
        "instrument": instrument,
        "series": [[at.isoformat(), total] for at, total in series],
        "flags": flags,
        "move_form": forms.MoveForm(case=case),
        "assign_form": forms.AssignForm(candidates=_candidates(case)),
        "task_form": forms.TaskForm(),
        "intervention_form": forms.InterventionForm(),
        "follow_up_form": forms.FollowUpForm(),
        "referral_form": forms.ReferralForm(assessments=assessments),
        "has_consent": services.consent_for_sharing(case.person) is not None,
    }
    ctx.update(form_overrides)
    return render(request, "cases/case_detail.html", ctx, status=400 if form_overrides else 200)


@staff_only
@require_GET
def case_detail(request, pk):
    case = services.get_case(request.user, pk, audit_view=True)
    return _case_page(request, case)


def _act(request, pk, form_class, form_name, do, *, form_kwargs=None):
    """POST an action on a case: the form validates, the service decides, errors re-render."""
    case = services.get_case(request.user, pk)
    form = form_class(request.POST, **(form_kwargs(case) if form_kwargs else {}))
    if form.is_valid():
        try:
            message = do(case, form.cleaned_data)
        except services.CaseError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, message)
            return redirect("cases:detail", case.pk)
    messages.error(request, _("未保存：请按提示修改后重试"))
    return _case_page(request, case, **{form_name: form})


@staff_only
@require_POST
def case_move(request, pk):
    def do(case, d):
        services.move_case(
            case,
            to=d["to"],
            actor=request.user,
            judgement=d["judgement"],
            basis=d["basis"],
            reason=d["reason"],
            outcome=d["outcome"],
            note=d["note"],
        )
        return _("个案已转入“%(stage)s”") % {"stage": Stage(d["to"]).label}

    return _act(request, pk, forms.MoveForm, "move_form", do, form_kwargs=lambda c: {"case": c})


@staff_only
@require_POST
def case_assign(request, pk):
    def do(case, d):
        to_user = User.objects.filter(pk=d["to_user"]).first()
        services.reassign(case, to_user=to_user, actor=request.user, reason=d["reason"])
        return _("已指派给 %(user)s") % {"user": to_user}

    def kwargs(case):
        # Any user may be named; the service refuses those out of scope (and audits it).
        return {"candidates": User.objects.filter(pk=request.POST.get("to_user") or 0)}

    return _act(request, pk, forms.AssignForm, "assign_form", do, form_kwargs=kwargs)


@staff_only
@require_POST
def case_task(request, pk):
    def do(case, d):
        services.add_task(
            case, actor=request.user, kind=d["kind"], title=d["title"], due_at=d["due_at"]
        )
        return _("任务已添加")

    return _act(request, pk, forms.TaskForm, "task_form", do)


@staff_only
@require_POST
def case_intervention(request, pk):
    def do(case, d):
        attendees = list(scope.persons(request.user).filter(pk__in=d["attendee_ids"]))
        if len(attendees) != len(set(d["attendee_ids"])):
            raise services.CaseError(_("参加者中有您无权查看的居民"), field="attendee_ids")
        services.record_intervention(
            case,
            actor=request.user,
            kind=d["kind"],
            started_at=d["started_at"],
            minutes=d["minutes"],
            site=d["site"],
            online=d["online"],
            notes=d["notes"],
            attendees=attendees,
        )
        return _("干预记录已保存")

    return _act(request, pk, forms.InterventionForm, "intervention_form", do)


@staff_only
@require_POST
def case_follow_up(request, pk):
    def do(case, d):
        services.schedule_follow_up(
            case, actor=request.user, instrument=d["instrument"], due_at=d["due_at"], mode=d["mode"]
        )
        return _("随访复评已安排")

    return _act(request, pk, forms.FollowUpForm, "follow_up_form", do)


@staff_only
@require_POST
def case_refer(request, pk):
    from xinan.screening.models import Assessment

    def do(case, d):
        services.create_referral(
            case,
            actor=request.user,
            to_institution=d["to_institution"],
            direction=d["direction"],
            urgency=d["urgency"],
            reason=d["reason"],
            notes=d["notes"],
            assessment_ids=[int(a) for a in d["assessment_ids"]],
            legal_basis=d["legal_basis"],
        )
        return _("转介已发出，等待%(name)s答复") % {"name": d["to_institution"].name}

    def kwargs(case):
        mine = scope.filter_related(request.user, Assessment.objects.filter(person=case.person))
        return {"assessments": mine.order_by("-submitted_at")[:20]}

    return _act(request, pk, forms.ReferralForm, "referral_form", do, form_kwargs=kwargs)


@staff_only
@require_POST
def task_done(request, pk):
    # scope: may_work_task below decides, 404 otherwise
    task = Task.objects.filter(pk=pk, status=TaskStatus.OPEN).select_related("case").first()
    if task is None or not services.tasks.may_work_task(request.user, task):
        raise Http404
    form = forms.DoneForm(request.POST)
    form.is_valid()
    try:
        services.complete_task(task, actor=request.user, result=form.cleaned_data.get("result", ""))
    except services.CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已完成：%(title)s") % {"title": task.title})
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/cases/") else "cases:worklist")


@staff_only
@require_POST
def reveal_phone(request, pk):
    """The full phone number of a case's person, for a call: audited, shown in place."""
    case = services.get_case(request.user, pk)
    from django.db import transaction

    with transaction.atomic():
        audit.record(
            "cases.person.reveal", case.person, actor=request.user, changed_fields=["phone"]
        )
    phone = case.person.phone or _("未登记")
    return HttpResponse(f'<span class="revealed">{escape(phone)}</span>')


# ---------------------------------------------------------------- the resident's personal link
# A bearer link, no login: a masked name, the instrument's items on one page, consent, submit.


def follow_up_link(request, token):
    from xinan.screening import services as screening
    from xinan.screening.campaigns import mask_name

    follow_up = services.care.follow_up_by_token(token)
    if follow_up is None:
        raise Http404
    inst = screening.instrument(follow_up.instrument)
    error, chosen = "", {}
    if request.method == "POST":
        chosen = {str(item.id): request.POST.get(f"q{item.id}", "") for item in inst.items}
        missing = [item.number for item in inst.items if not chosen[str(item.id)]]
        if missing:
            error = _("还有 %(n)s 题未作答") % {"n": len(missing)}
        elif not request.POST.get("agree"):
            error = _("请勾选同意后提交")
        else:
            answers = [int(chosen[str(item.id)]) for item in inst.items]
            try:
                services.care.answer_by_link(follow_up, answers)
            except (services.CaseError, screening.ScreeningError) as exc:
                error = exc.message
            else:
                return render(request, "cases/follow_up_done.html", {"follow_up": follow_up})
    items = [
        {
            "id": item.id,
            "text": screening.item_text(item),
            "options": [
                (o.code, screening.option_label(o), str(o.code) == chosen.get(str(item.id)))
                for o in item.options
            ],
        }
        for item in inst.items
    ]
    return render(
        request,
        "cases/follow_up_link.html",
        {
            "follow_up": follow_up,
            "name": mask_name(follow_up.person.name),
            "instrument": inst,
            "items": items,
            "error": error,
            "closed": follow_up.status != "scheduled",
        },
        status=400 if error else 200,
    )
