"""Resident record pages. Every person comes from the scope gate (xinan.core.scope)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinan.core import scope
from xinan.people import services, services_privacy
from xinan.people.forms import BreakGlassForm, ConsentForm, PersonForm
from xinan.people.models import PopulationTag


def _staff_only(user):
    if not scope.reaches(user):
        raise Http404


@login_required
def person_list(request):
    _staff_only(request.user)
    query = request.GET.get("q", "")
    tag = request.GET.get("tag", "")
    attention = request.GET.get("attention") == "1"
    people = services.search(request.user, query, tag=tag, attention=attention).prefetch_related(
        "tags"
    )
    page = Paginator(people.order_by("home_area_id", "name", "id"), 50).get_page(
        request.GET.get("page")
    )
    services.record_list_viewed(request.user, query=query, tag=tag, page=page, attention=attention)
    token = services.outside_scope_match(request.user, query) if query and not page else None
    return render(
        request,
        "people/person_list.html",
        {
            "page": page,
            "query": query,
            "tag": tag,
            "attention": attention,
            "tags": PopulationTag.objects.all(),
            "break_glass_form": BreakGlassForm(initial={"token": token}) if token else None,
        },
    )


@login_required
def person_detail(request, pk):
    person, detail = services.open_person(request.user, pk)
    return render(
        request,
        "people/person_detail.html",
        {
            "person": person,
            "detail": detail,
            "show_scores": detail >= scope.Detail.SCORES,
            "show_notes": detail >= scope.Detail.FULL,
            "consents": person.consents.all()[:20],
            "consent_form": ConsentForm(),
            "grant": scope.active_grant(request.user, person),
            "may_handle_privacy": services_privacy.may_handle(request.user, person),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_create(request):
    _staff_only(request.user)
    # Clinical notes are for roles that may read them (the edit form and detail page agree).
    may_write_notes = max(r.detail for r in scope.reaches(request.user)) >= scope.Detail.FULL
    form = PersonForm(request.POST or None, user=request.user, show_notes=may_write_notes)
    existing = None
    if request.method == "POST" and form.is_valid():
        try:
            person = services.create_person(form.to_data(), actor=request.user)
        except services.PersonError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            existing = exc.existing
        else:
            messages.success(request, _("已建档：%(name)s") % {"name": person.name})
            return redirect("people:detail", pk=person.pk)
    return render(request, "people/person_form.html", {"form": form, "existing": existing})


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk):
    person = scope.get_person(request.user, pk)
    detail = scope.detail_for(request.user, person)
    show_notes = detail >= scope.Detail.FULL
    form = PersonForm(
        request.POST or None,
        user=request.user,
        initial=PersonForm.initial_from(person),
        show_notes=show_notes,
        person=person,
    )
    if request.method == "GET":
        services.record_edit_opened(request.user, person)
    # The person's current home stays selectable even if a grant brought them into view.
    form.fields["home_area"].queryset |= type(person.home_area).objects.filter(
        pk=person.home_area_id
    )
    existing = None
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.update_person(
                person, form.to_data(keep_notes=person.notes), actor=request.user
            )
        except services.PersonError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            existing = exc.existing
        else:
            if changed:
                messages.success(request, _("已保存"))
            return redirect("people:detail", pk=person.pk)
    return render(
        request, "people/person_form.html", {"form": form, "person": person, "existing": existing}
    )


@login_required
@require_POST
def consent_add(request, pk):
    person = scope.get_person(request.user, pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.record_consent(
            person,
            kind=form.cleaned_data["kind"],
            granted=form.cleaned_data["granted"],
            actor=request.user,
        )
        messages.success(request, _("已记录知情同意"))
    else:
        messages.error(request, _("请选择同意类型"))
    return redirect("people:detail", pk=person.pk)


@login_required
@require_POST
def break_glass(request):
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        try:
            grant = services.break_glass(
                request.user, form.cleaned_data["token"], reason=form.cleaned_data["reason"]
            )
        except services.PersonError as exc:
            messages.error(request, exc.message)
            return redirect("people:list")
        messages.warning(request, _("紧急授权已开启，将由区域管理员审核"))
        return redirect("people:detail", pk=grant.person_id)
    messages.error(request, _("请填写紧急理由"))
    return redirect("people:list")
