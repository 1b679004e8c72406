"""个人信息导出与删除 (PIPL): one page per person for the area admins of the person's home."""

import json

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from xinan.core import scope
from xinan.core.decorators import role_required
from xinan.people import services_privacy as privacy
from xinan.people.services import PersonError


class PrivacyRequestForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("export", _("导出")), ("erase", _("删除"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        label=_("申请依据"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("例如：本人书面申请，2026-12-01受理")}),
    )
    confirm = forms.BooleanField(
        label=_("我已核实申请人身份，确认删除，此操作不可撤销"), required=False
    )


@role_required("area_admin")
@require_http_methods(["GET", "POST"])
def person_privacy(request, pk):
    person = scope.get_person(request.user, pk)
    if not privacy.may_handle(request.user, person):
        raise Http404  # a grant or an institution brought them into view: not this admin's
    form = PrivacyRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["action"] == "export":
                document = privacy.export_person(person, actor=request.user, reason=d["reason"])
                response = HttpResponse(
                    json.dumps(document, ensure_ascii=False, indent=2),
                    content_type="application/json; charset=utf-8",
                )
                response["Content-Disposition"] = (
                    f'attachment; filename="person-{person.pk}-data.json"'
                )
                return response
            if not d["confirm"]:
                form.add_error("confirm", _("请勾选确认后再删除"))
            else:
                privacy.erase_person(person, actor=request.user, reason=d["reason"])
                messages.success(request, _("已删除该居民的个人信息，统计数据与审计记录保留"))
                return redirect("people:privacy", pk=person.pk)
        except PersonError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
    return render(
        request,
        "people/privacy.html",
        {
            "person": person,
            "form": form,
            "blocks": [] if person.erased_at else privacy.blocks(person),
            "action": request.POST.get("action", ""),
        },
    )
