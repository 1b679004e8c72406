"""Referral pages: the receiving institution's inbox, what was sent, one referral's answer."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from xinan.cases import forms, services
from xinan.cases.models import Referral, ReferralStatus
from xinan.cases.services.referrals import institutions_of
from xinan.cases.tables import table
from xinan.cases.views import staff_only
from xinan.core import audit, scope

audit.register_action("cases.referral.view", gettext_lazy("查看转介"))

COLUMNS = [
    ("sent", _("转出时间"), "sent_at"),
    ("person", _("居民"), "person__name"),
    ("direction", _("方向"), "direction"),
    ("urgency", _("紧急程度"), "urgency"),
    ("status", _("状态"), "status"),
    ("due", _("答复时限"), "answer_due_at"),
]


@staff_only
@require_GET
def referral_list(request):
    """Two tables: referrals in (the user's institutions) and referrals out (sent)."""
    box = request.GET.get("box", "in")
    qs = services.inbox(request.user) if box == "in" else services.sent(request.user)
    status = request.GET.get("status", "")
    if status in ReferralStatus.values:
        qs = qs.filter(status=status)
    t = table(request, qs, columns=COLUMNS, default="-sent", filters=("box", "status"))
    return render(
        request,
        "cases/referral_list.html",
        {
            "table": t,
            "box": box,
            "status": status,
            "statuses": ReferralStatus.choices,
            "has_inbox": bool(institutions_of(request.user)),
            "now": timezone.now(),
        },
    )


def _get_referral(user, pk) -> Referral:
    """A referral the user sent or may see the person of, or one addressed to the user's
    institution; anything else is 404."""
    visible = Q(to_institution_id__in=institutions_of(user)) | Q(
        person__in=scope.persons(user).values("pk")
    )
    try:
        return (
            # scope: `visible` is the gate's persons(user), or addressed to the user's institution
            Referral.objects.filter(visible)
            .select_related("case", "person", "to_institution", "from_institution", "sent_by")
            .get(pk=int(pk))
        )
    except (Referral.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


@staff_only
@require_GET
def referral_detail(request, pk, **overrides):
    from xinan.screening.models import Assessment

    referral = _get_referral(request.user, pk)
    with transaction.atomic():
        audit.record("cases.referral.view", referral, actor=request.user)
    receiver = referral.to_institution_id in institutions_of(request.user)
    ctx = {
        "referral": referral,
        "receiver": receiver,
        # The receiver reads what was sent with the referral: its reason, notes, assessments.
        # scope: the assessments sent with a referral the user may open (_get_referral)
        "assessments": Assessment.objects.filter(
            pk__in=referral.assessment_ids, person_id=referral.person_id
        ).order_by("submitted_at"),
        "decline_form": forms.DeclineForm(),
        "outcome_form": forms.OutcomeForm(),
        "down_form": None,
        **overrides,
    }
    return render(request, "cases/referral_detail.html", ctx, status=400 if overrides else 200)


def _answer(request, pk, form_class, form_name, do):
    referral = _get_referral(request.user, pk)
    form = form_class(request.POST) if form_class else None
    if form is None or form.is_valid():
        try:
            message = do(referral, form.cleaned_data if form else {})
        except services.CaseError as exc:
            if form is None:
                messages.error(request, exc.message)
                return redirect("cases:referral", referral.pk)
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, message)
            return redirect("cases:referral", referral.pk)
    request.method = "GET"
    return referral_detail(request, pk, **{form_name: form})


@staff_only
@require_POST
def referral_accept(request, pk):
    def do(referral, d):
        services.accept_referral(referral, actor=request.user)
        return _("已接收转介，本机构人员可查看该居民档案")

    return _answer(request, pk, None, "", do)


@staff_only
@require_POST
def referral_decline(request, pk):
    def do(referral, d):
        services.decline_referral(referral, actor=request.user, reason=d["reason"])
        return _("已拒收，转出方会看到理由")

    return _answer(request, pk, forms.DeclineForm, "decline_form", do)


@staff_only
@require_POST
def referral_complete(request, pk):
    def do(referral, d):
        services.complete_referral(referral, actor=request.user, **d)
        return _("结果已反馈给转出方")

    return _answer(request, pk, forms.OutcomeForm, "outcome_form", do)
