"""Screening pages: resident self-assessment and staff entry; campaigns and invitation links
are in views_campaigns.py, bulk import in views_import.py.

Thin views: parse, ask the scope gate, call a service, render. Person-level data comes only
through xinan.core.scope (directly or via services.assessments_for).
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from xinan.core import audit, scope
from xinan.core import services as core_services
from xinan.core.lib import crypto, idnumber
from xinan.people import services as people_services
from xinan.people.models import ConsentKind
from xinan.screening import advice, services
from xinan.screening.forms import InterviewForm, PaperForm
from xinan.screening.models import Campaign, Mode

DRAFT_COOKIE = "screening_draft_{code}"
RESULTS_SESSION_KEY = "screening_results"


def _own_person(request):
    user = request.user
    return getattr(user, "person", None) if user.is_authenticated else None


def require_staff(user) -> None:
    if not scope.reaches(user):
        raise Http404


def instrument_or_404(code: str):
    try:
        return services.instrument(code)
    except services.ScreeningError:
        raise Http404 from None


def remember_result(request, assessment) -> None:
    """The session may show this result page again (the last 20 a visitor finished)."""
    seen = request.session.get(RESULTS_SESSION_KEY, [])
    request.session[RESULTS_SESSION_KEY] = [*seen[-19:], assessment.pk]


def _open_campaign(token: str | None) -> Campaign | None:
    if not token:
        return None
    campaign = Campaign.objects.select_related("area").filter(token=token).first()
    return campaign if campaign and campaign.is_open() else None


# ---------------------------------------------------------------- resident self-assessment


def pick(request):
    campaign = _open_campaign(request.GET.get("c"))
    wanted = set(campaign.instruments) if campaign else None
    available, staff_only = [], []
    for inst in services.instruments():
        if wanted is not None and inst.code not in wanted:
            continue
        (available if inst.text_installed else staff_only).append(inst)
    resumable = [
        inst
        for inst in available
        if services.get_draft(request.COOKIES.get(DRAFT_COOKIE.format(code=inst.code)), inst.code)
    ]
    return render(
        request,
        "screening/pick.html",
        {
            "available": available,
            "staff_only": staff_only,
            "resumable": resumable,
            "campaign": campaign,
        },
    )


def campaign_landing(request, token):
    campaign = Campaign.objects.filter(token=token).first()
    if campaign is None:
        raise Http404
    if not campaign.is_open():
        return render(request, "screening/campaign_closed.html", {"campaign": campaign})
    return redirect(f"{reverse('screening:pick')}?c={token}")


@require_http_methods(["GET", "POST"])
def consent(request, code):
    inst = instrument_or_404(code)
    campaign = _open_campaign(request.POST.get("c") or request.GET.get("c"))
    person = _own_person(request)
    if not inst.text_installed:
        return render(request, "screening/not_installed.html", {"instrument": inst}, status=200)
    if request.method == "POST" and request.POST.get("agree"):
        link = person if person and request.POST.get("link") else None
        if link is not None:
            people_services.record_consent(
                link, kind=ConsentKind.ASSESSMENT, granted=True, actor=request.user
            )
        draft = services.start_draft(inst, person=link, campaign=campaign)
        response = redirect("screening:question", code=inst.code)
        response.set_cookie(
            DRAFT_COOKIE.format(code=inst.code),
            draft.token,
            max_age=7 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
        return response
    return render(
        request,
        "screening/consent.html",
        {
            "instrument": inst,
            "campaign": campaign,
            "person": person,
            "declined": request.method == "POST",
        },
    )


def _draft_for(request, code):
    draft = services.get_draft(request.COOKIES.get(DRAFT_COOKIE.format(code=code)), code)
    if draft is None or draft.person_id is None:
        return draft
    person = _own_person(request)
    return draft if person and person.pk == draft.person_id else None


def question_page(request, inst, draft, items, error: str):
    """One item of a draft, with its options and progress (the resident's and the invited's)."""
    index = min(draft.current_item, len(items) - 1)
    item = items[index]
    chosen = draft.answers.get(str(item.id))
    return render(
        request,
        "screening/question.html",
        {
            "instrument": inst,
            "item": item,
            "text": services.item_text(item),
            "options": [
                (
                    str(o[0]),
                    services.option_label(o),
                    chosen is not None and str(o[0]) == str(chosen),
                )
                for o in item.options
            ],
            "number": index + 1,
            "count": len(items),
            "percent": round(100 * index / len(items)),
            "error": error,
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def question(request, code):
    inst = instrument_or_404(code)
    draft = _draft_for(request, inst.code)
    if draft is None:
        return redirect("screening:consent", code=inst.code)
    inst = services.instrument(draft.instrument, draft.version)
    items = list(inst.items)
    error = ""
    if request.method == "POST":
        if request.POST.get("back"):
            services.step_back(draft)
            return redirect("screening:question", code=inst.code)
        try:
            services.answer_item(draft, inst, request.POST.get("answer", ""))
        except services.ScreeningError as exc:
            error = exc.message
        else:
            if draft.current_item >= len(items):
                assessment = services.finish_draft(draft, inst, actor=request.user)
                remember_result(request, assessment)
                response = redirect("screening:result", pk=assessment.pk)
                response.delete_cookie(DRAFT_COOKIE.format(code=inst.code))
                return response
            return redirect("screening:question", code=inst.code)
    return question_page(request, inst, draft, items, error)


def _result_or_404(request, pk):
    from xinan.screening.models import Assessment

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    person = _own_person(request)
    if pk in request.session.get(RESULTS_SESSION_KEY, []):
        a = Assessment.objects.filter(pk=pk).first()  # scope: a result this session submitted
    elif person is not None:
        a = Assessment.objects.filter(pk=pk, person=person).first()  # scope: the resident's own
    else:
        a = None
    if a is None:
        raise Http404
    return a


def result(request, pk):
    a = _result_or_404(request, pk)
    inst = services.instrument(a.instrument, a.version)
    help_here = core_services.nearest_help(a.area_code)
    context = {"a": a, "instrument": inst, "local_hotline": help_here["hotline"]}
    if a.critical and request.GET.get("show") != "result":
        return render(request, "screening/crisis.html", context)
    band = next((b for b in getattr(inst, "bands", ()) if b.code == a.band), None)
    sites = core_services.service_sites(a.area_code)
    context.update(
        band_advice=getattr(band, "advice_zh", "") if band else "",
        advice=advice.for_result(a),
        sites=sites,
        sites_by_phone=any(s.phone for s in sites),
        sites_online=any(s.booking_url for s in sites),
        bookable_site=next((s for s in sites if s.bookable), None),
        booking_url=help_here["booking_url"],
    )
    return render(request, "screening/result.html", context)


@login_required
def mine(request):
    person = _own_person(request)
    history = list(services.resident_history(person)[:200]) if person else []
    series: dict[str, list] = {}
    for a in reversed(history):
        series.setdefault(a.instrument, []).append(
            [timezone.localtime(a.submitted_at).strftime("%Y-%m-%d"), a.total]
        )
    return render(
        request,
        "screening/mine.html",
        {"person": person, "history": history, "series": series},
    )


# ---------------------------------------------------------------- staff entry


@login_required
def person_assessments(request, pk):
    person = scope.get_person(request.user, pk)
    scores = services.shows_scores(request.user, person)
    rows = services.assessments_for(request.user).filter(person=person).select_related("entered_by")
    audit.record("screening.assessment.view", person, actor=request.user)
    return render(
        request,
        "screening/person_assessments.html",
        {
            "person": person,
            "rows": rows[:100],
            "scores": scores,
            "instruments": services.instruments(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def interview(request, pk, code):
    person = scope.get_person(request.user, pk)
    inst = instrument_or_404(code)
    form = InterviewForm(request.POST or None, instrument=inst)
    if not inst.text_installed:
        messages.warning(request, _("该量表条目文本未安装：请对照纸质量表逐题询问并选择答案。"))
    if request.method == "POST" and form.is_valid():
        try:
            services.submit_assessment(
                instrument_code=inst.code,
                answers=form.answers(),
                mode=Mode.INTERVIEW,
                actor=request.user,
                person=person,
                site=form.cleaned_data["site"],
                submitted_at=form.submitted_at(),
                idempotency_key=form.idempotency_key(request.user),
            )
        except services.ScreeningError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("测评已保存"))
            return redirect("screening:person", pk=person.pk)
    return render(
        request, "screening/interview.html", {"person": person, "instrument": inst, "form": form}
    )


def normalise_codes(text: str) -> str:
    """ "0123" → "0,1,2,3" (codes are single digits on paper forms); "0 1 2", "0，1，2" and
    "0、1、2" → "0,1,2"; "-" or an empty place marks an unanswered item. A wrong count is
    then reported by the parser, e.g. "收到 4 个答案"."""
    compact = "".join(text.split())
    if compact.isdigit():
        return ",".join(compact)
    return compact.replace("，", ",").replace("、", ",")


@login_required
@require_http_methods(["GET", "POST"])
def paper(request):
    require_staff(request.user)
    initial = {k: request.GET[k] for k in ("instrument", "site", "assessed_on") if k in request.GET}
    form = PaperForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        inst = instrument_or_404(d["instrument"])
        person = None
        try:
            number = idnumber.validate(d["id_number"])
        except idnumber.InvalidIdNumber as exc:
            form.add_error("id_number", str(exc))
        else:
            person = scope.find_person(request.user, id_number_hash=crypto.lookup_hash(number))
            if person is None:
                form.add_error("id_number", _("查无此人或不在您的管辖范围内，请先建档"))
        answers = None
        try:
            answers = services.parse_codes(inst, normalise_codes(d["answers"]))
        except services.ScreeningError as exc:
            form.add_error("answers", exc.message)
        if person is not None and answers is not None:
            try:
                a = services.submit_assessment(
                    instrument_code=inst.code,
                    answers=answers,
                    mode=Mode.PAPER,
                    actor=request.user,
                    person=person,
                    site=d["site"],
                    submitted_at=form.submitted_at(),
                    idempotency_key=form.idempotency_key(request.user),
                )
            except services.ScreeningError as exc:
                form.add_error("answers", exc.message)
            else:
                messages.success(
                    request,
                    _("已保存：%(name)s 的 %(code)s（第 %(id)s 号）")
                    % {"name": person.name, "code": inst.code, "id": a.pk},
                )
                query = urlencode(
                    {"instrument": inst.code, "assessed_on": d["assessed_on"], "site": d["site"]}
                )
                return redirect(f"{reverse('screening:paper')}?{query}")
    return render(
        request, "screening/paper.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def assessment_detail(request, pk):
    a = services.get_assessment(request.user, pk)
    scores = services.shows_scores(request.user, a.person)
    audit.record("screening.assessment.view", a, actor=request.user)
    inst = services.instrument(a.instrument, a.version)
    items = []
    if scores:
        for n, item in enumerate(inst.items, start=1):
            items.append((n, services.item_text(item), a.answers.get(str(item.id))))
    return render(
        request,
        "screening/assessment_detail.html",
        {"a": a, "scores": scores, "instrument": inst, "items": items},
    )
