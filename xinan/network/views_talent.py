"""Area admins' talent database (professionals, certificates, search, export) and trainings
(courses, sessions, QR check-in, person-times); professionals check themselves in."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinan.core import audit
from xinan.core.decorators import role_required
from xinan.core.lib import areacode
from xinan.network import access, talent, trainings
from xinan.network.forms import CertificateForm, CourseForm, ProfessionalForm, SessionForm
from xinan.network.models import (
    Course,
    Professional,
    ProfessionalKind,
    ServiceSite,
    TrainingSession,
)
from xinan.network.services import NetworkError


def _managed_professionals(user):
    return access.managed(user, Professional.objects.select_related("area"), "area__code")


@role_required("area_admin")
def professionals(request):
    prefixes = access.admin_prefixes_or_404(request.user)
    query, kind = request.GET.get("q", "").strip(), request.GET.get("kind", "")
    qs = talent.search(prefixes, query=query, kind=kind)
    if request.GET.get("format") == "xlsx":
        audit.record(
            "network.professional.export",
            actor=request.user,
            object_type="network.professional",
            object_id=str(qs.count()),
        )
        response = HttpResponse(
            talent.export_xlsx(qs),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="talent.xlsx"'
        return response
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "network/professionals.html",
        {"page": page, "query": query, "kind": kind, "kinds": ProfessionalKind.choices},
    )


@role_required("area_admin")
def professional_detail(request, pk):
    p = get_object_or_404(_managed_professionals(request.user), pk=pk)
    return render(
        request,
        "network/professional_detail.html",
        {
            "p": p,
            "record": talent.record_of(p),
            "certificates": p.certificates.all(),
            "teams": p.teams.all(),
            "training_certificates": p.training_certificates.select_related("course"),
            "cert_form": CertificateForm(),
            "today": timezone.localdate(),
        },
    )


@role_required("area_admin")
def professional_edit(request, pk=None):
    areas = access.managed_areas(request.user)
    p = get_object_or_404(_managed_professionals(request.user), pk=pk) if pk else Professional()
    form = ProfessionalForm(request.POST or None, instance=p, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            p = talent.save_professional(
                form.save(commit=False),
                actor=request.user,
                sites=form.cleaned_data["sites"],
                populations=form.cleaned_data["populations"],
            )
        except NetworkError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("已保存"))
            return redirect("network:professional", pk=p.pk)
    return render(request, "network/professional_edit.html", {"form": form, "p": p})


@role_required("area_admin")
@require_POST
def certificate_add(request, pk):
    p = get_object_or_404(_managed_professionals(request.user), pk=pk)
    form = CertificateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写证书名称、编号、发证机构，日期格式为年-月-日"))
    else:
        try:
            talent.add_certificate(p, actor=request.user, **form.cleaned_data)
        except NetworkError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("证书已登记"))
    return redirect("network:professional", pk=p.pk)


# ---------------------------------------------------------------- trainings


@role_required("area_admin")
def training_list(request):
    prefixes = access.admin_prefixes_or_404(request.user)
    courses = access.managed(request.user, Course.objects.select_related("area"), "area__code")
    form = CourseForm(request.POST or None, areas=access.managed_areas(request.user))
    if request.method == "POST" and form.is_valid():
        course = form.save()
        audit.record("network.training.course.create", course, actor=request.user)
        return redirect("network:course", pk=course.pk)
    today = timezone.localdate()
    start = today.replace(month=1, day=1)
    figures = [trainings.person_times(p, start=start, end=today) for p in prefixes]
    kinds = dict(ProfessionalKind.choices)
    by_kind: dict[str, int] = {}
    for f in figures:
        for k, n in f["by_kind"].items():
            by_kind[str(kinds.get(k, k))] = by_kind.get(str(kinds.get(k, k)), 0) + n
    return render(
        request,
        "network/trainings.html",
        {
            "courses": courses[:100],
            "form": form,
            "total": sum(f["total"] for f in figures),
            "hours": sum(f["hours"] for f in figures),
            "by_kind": sorted(by_kind.items(), key=lambda kv: -kv[1]),
            "since": start,
        },
    )


@role_required("area_admin")
def course_detail(request, pk):
    course = get_object_or_404(
        access.managed(request.user, Course.objects.all(), "area__code"), pk=pk
    )
    sites = ServiceSite.objects.active().filter(
        area__code__startswith=areacode.ancestor_prefix(course.area.code, "district")
    )
    form = SessionForm(request.POST or None, instance=TrainingSession(course=course), sites=sites)
    if request.method == "POST" and form.is_valid():
        try:
            trainings.save_session(form.save(commit=False), actor=request.user)
        except NetworkError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("培训场次已添加"))
            return redirect("network:course", pk=course.pk)
    return render(
        request,
        "network/course.html",
        {"course": course, "sessions": course.sessions.select_related("site"), "form": form},
    )


@role_required("area_admin")
def session_detail(request, pk):
    session = get_object_or_404(
        TrainingSession.objects.select_related("course", "site"),
        pk=pk,
        course__in=access.managed(request.user, Course.objects.all(), "area__code"),
    )
    if request.method == "POST":
        professional = (
            _managed_professionals(request.user)
            .filter(pk=request.POST.get("professional") or 0)
            .first()
        )
        if professional is None:
            messages.error(request, _("请选择人员"))
        else:
            trainings.check_in(session, professional, actor=request.user, method="manual")
            messages.success(request, _("已签到"))
        return redirect("network:session", pk=session.pk)
    link = request.build_absolute_uri(
        reverse("network:checkin", args=[trainings.checkin_token(session)])
    )
    return render(
        request,
        "network/session.html",
        {
            "session": session,
            "link": link,
            "qr": segno.make(link, error="m").svg_inline(scale=4),
            "enrolments": session.enrolments.select_related("professional"),
            "candidates": _managed_professionals(request.user).filter(active=True)[:500],
        },
    )


@login_required
def checkin(request, token):
    session = trainings.session_for_token(token)
    professional = getattr(request.user, "professional", None)
    done = error = None
    if session is None:
        error = _("签到链接无效，请重新扫描现场的二维码")
    elif professional is None:
        error = _("您的账号尚未登记在人才库中，请联系培训负责人现场签到")
    elif request.method == "POST":
        try:
            done = trainings.check_in(session, professional, actor=request.user)
        except NetworkError as exc:
            error = exc.message
    return render(
        request,
        "network/checkin.html",
        {"session": session, "done": done, "error": error, "professional": professional},
    )


# ---------------------------------------------------------------- register imports


@role_required("area_admin")
def import_page(request):
    from xinan.network import importer
    from xinan.network.models import ImportKind, NetworkImport

    access.admin_prefixes_or_404(request.user)
    error = None
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        upload = request.FILES.get("file")
        if kind not in ImportKind.values or upload is None:
            error = _("请选择导入类型和文件")
        else:
            try:
                job = importer.import_file(upload, kind=kind, actor=request.user)
            except NetworkError as exc:
                error = exc.message
            else:
                return redirect("network:import_job", pk=job.pk)
    return render(
        request,
        "network/import.html",
        {
            "kinds": ImportKind.choices,
            "error": error,
            "jobs": NetworkImport.objects.filter(created_by=request.user)[:20],
        },
    )


@role_required("area_admin")
def import_job(request, pk):
    from xinan.network.models import NetworkImport

    job = get_object_or_404(NetworkImport, pk=pk, created_by=request.user)
    return render(request, "network/import_job.html", {"job": job})


@role_required("area_admin")
def import_rejected(request, pk):
    from xinan.network import importer
    from xinan.network.models import NetworkImport

    job = get_object_or_404(NetworkImport, pk=pk, created_by=request.user)
    if not job.rejected_path:
        raise Http404
    audit.record("network.import.rejected_download", job, actor=request.user)
    response = HttpResponse(importer.read_rejected(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-{job.pk}.csv"'
    return response


@role_required("area_admin")
def import_template(request, kind):
    from xinan.network import importer
    from xinan.network.models import ImportKind

    if kind not in ImportKind.values:
        raise Http404
    response = HttpResponse(
        importer.template_xlsx(kind),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.xlsx"'
    return response


# ---------------------------------------------------------------- teams


@role_required("area_admin")
def teams(request):
    from xinan.network.models import Team, TeamKind

    areas = access.managed_areas(request.user)
    mine = access.managed(request.user, Team.objects.select_related("area"), "area__code")
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        kind = request.POST.get("kind", "")
        area = areas.filter(code=request.POST.get("area", "")).first()
        if not name or kind not in TeamKind.values or area is None:
            messages.error(request, _("请填写队伍名称，并选择类型和区划"))
        else:
            team, created = Team.objects.get_or_create(
                area=area, name=name, defaults={"kind": kind}
            )
            audit.record("network.team.create", team, actor=request.user, area_code=area.code)
            messages.success(request, _("队伍已创建") if created else _("该区划已有同名队伍"))
        return redirect("network:teams")
    return render(
        request,
        "network/teams.html",
        {
            "teams": mine.prefetch_related("members"),
            "areas": areas,
            "kinds": TeamKind.choices,
            "candidates": _managed_professionals(request.user).filter(active=True)[:500],
        },
    )


@role_required("area_admin")
@require_POST
def team_member(request, pk):
    from xinan.network.models import Team

    team = get_object_or_404(access.managed(request.user, Team.objects.all(), "area__code"), pk=pk)
    professional = get_object_or_404(
        _managed_professionals(request.user), pk=request.POST.get("professional") or 0
    )
    if request.POST.get("remove"):
        team.members.remove(professional)
        messages.success(request, _("已移出队伍"))
    else:
        team.members.add(professional)
        messages.success(request, _("已加入队伍"))
    audit.record("network.team.members", team, actor=request.user, changed_fields=["members"])
    return redirect("network:teams")
