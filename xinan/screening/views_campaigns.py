"""Campaign pages: the area admin's list, form, report and invitations; the personal
invitation link a resident opens (no login).

Thin views: parse, ask the scope gate, call a service, render (see views.py).
"""

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from xinan.core import scope
from xinan.core import services as core_services
from xinan.core.lib import spreadsheet
from xinan.screening import campaign_report, campaigns, invitation_link, services
from xinan.screening.forms import CampaignForm
from xinan.screening.views import instrument_or_404, question_page, remember_result


def _admin(user) -> list[str]:
    prefixes = scope.admin_prefixes(user) if user.is_authenticated else []
    if not prefixes:
        raise Http404
    return prefixes


@login_required
def campaign_list(request):
    _admin(request.user)
    campaigns_ = campaigns.campaigns_for(request.user).select_related("area")
    return render(request, "screening/campaign_list.html", {"campaigns": campaigns_})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    prefixes = _admin(request.user)
    form = CampaignForm(request.POST or None, prefixes=prefixes)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaigns.create_campaign(form.to_data(), actor=request.user)
        except services.ScreeningError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("screening:campaign", pk=campaign.pk)
    return render(request, "screening/campaign_form.html", {"form": form})


@login_required
def campaign_detail(request, pk):
    _admin(request.user)
    campaign = campaigns.get_campaign(request.user, pk)
    root = campaigns.root_for(campaign, request.user)
    node = campaigns.area_in_view(campaign, request.user, request.GET.get("area", ""))
    link = request.build_absolute_uri(reverse("screening:campaign_landing", args=[campaign.token]))
    return render(
        request,
        "screening/campaign_detail.html",
        {
            "campaign": campaign,
            "root": root,
            "node": node,
            "trail": [a for a in node.ancestors() if a.code.startswith(root.prefix)],
            "report": campaign_report.report(campaign, root, node),
            "targets": campaigns.targets(campaign, request.user).count(),
            "issued": campaigns.invitations_for(campaign, request.user).count(),
            "run": campaigns.latest_run(campaign, request.user),
            "link": link,
            "qr": segno.make(link, error="m").svg_inline(scale=4),
            "threshold": settings.SMALL_CELL_THRESHOLD,
        },
    )


@login_required
@require_http_methods(["POST"])
def campaign_invitations_issue(request, pk):
    _admin(request.user)
    campaign = campaigns.get_campaign(request.user, pk)
    try:
        run = campaigns.start_issuing(campaign, actor=request.user)
    except services.ScreeningError as exc:
        messages.error(request, exc.message)
    else:
        if not run.finished:
            messages.info(request, _("正在发出邀请，进度见下方"))
        elif run.error:
            messages.error(request, run.error)
        elif run.issued:
            messages.success(request, _("已发出 %(n)s 份新的邀请") % {"n": run.issued})
        else:
            messages.info(request, _("目标人群都已邀请过，没有新的邀请"))
    return redirect("screening:campaign", pk=campaign.pk)


@login_required
def campaign_invitations_progress(request, pk):
    """The progress card of the admin's latest issuing run, polled while it runs."""
    _admin(request.user)
    campaign = campaigns.get_campaign(request.user, pk)
    run = campaigns.latest_run(campaign, request.user)
    return render(
        request, "screening/_invitation_progress.html", {"campaign": campaign, "run": run}
    )


@login_required
def campaign_invitations_print(request, pk):
    """Printable slips, one per invited person: masked name, area and a QR code of the link."""
    _admin(request.user)
    campaign = campaigns.get_campaign(request.user, pk)
    node = campaigns.area_in_view(campaign, request.user, request.GET.get("area", ""))
    include_completed = request.GET.get("all") == "1"
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    sheet = campaigns.print_sheet(
        campaign, request.user, node, include_completed=include_completed, page=page
    )
    base = request.build_absolute_uri(reverse("screening:campaign_invitation", args=["x"]))[:-2]
    slips = [
        {
            "invitation": i,
            "name": campaigns.mask_name(i.person.name),
            "area": sheet.area_names.get(i.area_code, i.area_code),
            "link": f"{base}{i.token}/",
            "qr": segno.make(f"{base}{i.token}/", error="m").svg_inline(scale=3),
        }
        for i in sheet.invitations
    ]
    return render(
        request,
        "screening/invitation_sheet.html",
        {
            "campaign": campaign,
            "node": node,
            "sheet": sheet,
            "slips": slips,
            "limit": campaigns.PRINT_LIMIT,
            "page_numbers": range(1, sheet.pages + 1),
            "children": node.children.current().order_by("code") if sheet.pages > 1 else [],
            "include_completed": include_completed,
        },
    )


@login_required
@require_http_methods(["POST"])
def campaign_invitation_reissue(request, pk, invitation):
    _admin(request.user)
    campaign = campaigns.get_campaign(request.user, pk)
    try:
        renewed = campaigns.reissue_invitation(campaign, request.user, invitation)
    except services.ScreeningError as exc:
        messages.error(request, exc.message)
        return redirect("screening:campaign", pk=campaign.pk)
    messages.success(
        request,
        _("已为 %(name)s 生成新的链接，旧链接已失效，请打印新的邀请单")
        % {"name": campaigns.mask_name(renewed.person.name)},
    )
    url = reverse("screening:campaign_invitations_print", args=[campaign.pk])
    return redirect(f"{url}?area={renewed.area_code}")


@login_required
def campaign_invitations_download(request, pk):
    _admin(request.user)
    campaign = campaigns.get_campaign(request.user, pk)
    base = request.build_absolute_uri(reverse("screening:campaign_invitation", args=["x"]))
    rows = campaigns.export_invitations(campaign, actor=request.user, link_base=base[:-2])
    return spreadsheet.csv_response(rows, f"invitations-{campaign.pk}.csv")


# ---------------------------------------------------------------- a personal invitation link
# A bearer link: no login, a masked name only. The steps are those of the resident flow (consent,
# one item per screen, the result page), with the draft cookie scoped to the link's path.

INVITE_COOKIE = "screening_invite_{code}"


def _invitation_or_page(request, token):
    """(invitation, None) when the link works, else (None, a page saying why in plain Chinese)."""
    invitation = invitation_link.get_invitation(token)
    if invitation is None:
        return None, render(request, "screening/invitation_unknown.html", status=404)
    if not invitation.campaign.is_open():
        page = render(request, "screening/campaign_closed.html", {"campaign": invitation.campaign})
        return None, page
    return invitation, None


@require_http_methods(["GET", "POST"])
def campaign_invitation(request, token):
    invitation, page = _invitation_or_page(request, token)
    if page is not None:
        return page
    done = invitation_link.answered(invitation)
    path = reverse("screening:campaign_invitation", args=[token])
    if request.method == "POST" and request.POST.get("agree"):
        inst = instrument_or_404(request.POST.get("code", ""))
        try:
            draft = invitation_link.start_invitation_draft(invitation, inst)
        except services.ScreeningError as exc:
            messages.error(request, exc.message)
            return redirect(path)
        response = redirect("screening:campaign_invitation_question", token=token, code=inst.code)
        response.set_cookie(
            INVITE_COOKIE.format(code=inst.code),
            draft.token,
            max_age=7 * 24 * 3600,
            path=path,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
        return response
    items = []
    for code in invitation.campaign.instruments:
        try:
            inst = services.instrument(code)
        except services.ScreeningError:
            continue
        cookie = request.COOKIES.get(INVITE_COOKIE.format(code=code))
        resumable = invitation_link.draft_for(invitation, cookie, code) is not None
        items.append((inst, code in done, resumable))
    return render(
        request,
        "screening/invitation.html",
        {
            "invitation": invitation,
            "campaign": invitation.campaign,
            "masked_name": campaigns.mask_name(invitation.person.name),
            "items": items,
            "all_done": bool(done) and not invitation_link.left_to_answer(invitation),
            "declined": request.method == "POST",
            "local_hotline": core_services.local_hotline(invitation.area_code),
        },
    )


@require_http_methods(["GET", "POST"])
def campaign_invitation_question(request, token, code):
    invitation, page = _invitation_or_page(request, token)
    if page is not None:
        return page
    inst = instrument_or_404(code)
    cookie = INVITE_COOKIE.format(code=inst.code)
    draft = invitation_link.draft_for(invitation, request.COOKIES.get(cookie), inst.code)
    if draft is None:
        return redirect("screening:campaign_invitation", token=token)
    inst = services.instrument(draft.instrument, draft.version)
    items = list(inst.items)
    error = ""
    if request.method == "POST":
        here = reverse("screening:campaign_invitation_question", args=[token, inst.code])
        if request.POST.get("back"):
            services.step_back(draft)
            return redirect(here)
        try:
            services.answer_item(draft, inst, request.POST.get("answer", ""))
        except services.ScreeningError as exc:
            error = exc.message
        else:
            if draft.current_item < len(items):
                return redirect(here)
            try:
                assessment = invitation_link.finish_invitation_draft(invitation, draft, inst)
            except services.ScreeningError as exc:
                messages.error(request, exc.message)
                return redirect("screening:campaign_invitation", token=token)
            remember_result(request, assessment)
            left = len(invitation_link.left_to_answer(invitation))
            if left:
                messages.info(
                    request,
                    _("本次筛查还有 %(n)s 份量表：请再次打开您的邀请链接继续作答。") % {"n": left},
                )
            response = redirect("screening:result", pk=assessment.pk)
            response.delete_cookie(
                cookie, path=reverse("screening:campaign_invitation", args=[token])
            )
            return response
    return question_page(request, inst, draft, items, error)
