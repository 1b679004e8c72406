from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import xinan
from xinan.core import scope, services
from xinan.core import workbench as workbench_sections
from xinan.core.decorators import role_required
from xinan.core.forms import AreaImportForm, AuditFilterForm, GrantReviewForm, GrantRevokeForm
from xinan.core.lib import spreadsheet, uploads
from xinan.core.models import Area, AuditEntry, GrantKind


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:  # noqa: BLE001 — report any database failure as unhealthy
        database = "error"
    return JsonResponse(
        {
            "status": "ok" if database == "ok" else "error",
            "database": database,
            "vendor": connection.vendor,
            "version": xinan.__version__,
        },
        status=200 if database == "ok" else 503,
    )


def home(request):
    if not request.user.is_authenticated:
        return redirect("resident_home")
    if request.user.is_staff_member:
        return redirect("workbench")
    return redirect("resident_home")


def resident_home(request):
    person = getattr(request.user, "person", None) if request.user.is_authenticated else None
    home = person.home_area_id if person and person.home_area_id else ""
    help_here = services.nearest_help(home)
    return render(
        request,
        "core/resident_home.html",
        {
            "person": person,
            "local_hotline": help_here["hotline"],
            "sites": services.service_sites(home, limit=5),
            "booking_url": help_here["booking_url"],
        },
    )


@login_required
def workbench(request):
    user = request.user
    if not user.is_staff_member:
        return redirect("resident_home")
    people = scope.persons(user, include_grants=False)
    totals = people.aggregate(total=Count("pk"))
    attention = people.filter(needs_attention=True).count()
    by_tag = (
        people.filter(tags__isnull=False)
        .values("tags__code", "tags__name")
        .annotate(n=Count("pk"))
        .order_by("tags__code")
    )
    pending_reviews = (
        scope.grants_in_admin_areas(user)
        .filter(kind=GrantKind.BREAK_GLASS, reviewed_at__isnull=True)
        .count()
    )
    return render(
        request,
        "core/workbench.html",
        {
            "memberships": user.active_memberships(),
            "person_total": totals["total"],
            "attention": attention,
            "by_tag": by_tag,
            "pending_reviews": pending_reviews,
            "is_area_admin": bool(scope.admin_prefixes(user)),
            "is_sysadmin": "sysadmin" in user.roles(),
            # Each app's worklists and counts for this user (xinan/core/workbench.py).
            "sections": workbench_sections.sections_for(request),
        },
    )


def _audit_queryset(request):
    user = request.user
    if "sysadmin" in user.roles():
        qs = AuditEntry.objects.all()
    elif scope.admin_prefixes(user):
        qs = scope.within_admin_areas(user, AuditEntry.objects.all())
    else:
        raise Http404
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        d = form.cleaned_data
        if d["actor"]:
            qs = qs.filter(actor_label__contains=d["actor"])
        if d["action"]:
            qs = qs.filter(action__contains=d["action"])
        if d["object_id"]:
            qs = qs.filter(object_id=d["object_id"])
        if d["since"]:
            qs = qs.filter(at__date__gte=d["since"])
        if d["until"]:
            qs = qs.filter(at__date__lte=d["until"])
    return qs, form


def _reason_shown(user):
    """An entry's reason as this viewer may read it. Reasons of entries in an area (a grant's
    reason, a review note: person-level, possibly clinical) are for that area's admins; a
    sysadmin reads the reasons of deployment-level entries (tokens, accounts) only."""
    prefixes = scope.admin_prefixes(user)
    hidden = _("（仅所在地区管理员可见）")

    def shown(entry) -> str:
        if not entry.area_code or any(entry.area_code.startswith(p) for p in prefixes):
            return entry.reason_display
        return hidden if entry.reason else ""

    return shown


@login_required
def audit_log(request):
    qs, form = _audit_queryset(request)
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    shown = _reason_shown(request.user)
    # The page's area names in one query, read fresh (an area import may have renamed one).
    names = dict(
        Area.objects.filter(code__in={e.area_code for e in page if e.area_code}).values_list(
            "code", "name"
        )
    )
    for entry in page:
        entry.reason_shown = shown(entry)
        entry.area_shown = names.get(entry.area_code, entry.area_code)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "core/audit_log.html", {"page": page, "form": form, "query": query.urlencode()}
    )


@login_required
def audit_export(request):
    qs, _form = _audit_queryset(request)
    shown = _reason_shown(request.user)
    header = [
        _("时间"),
        _("操作人"),
        _("动作"),
        _("对象类型"),
        _("对象编号"),
        _("区划代码"),
        _("变更字段"),
        _("理由"),
        _("地址"),
    ]

    def rows():
        yield header
        for e in qs.iterator(chunk_size=2000):
            yield [
                timezone.localtime(e.at).isoformat(timespec="seconds"),
                e.actor_display,
                e.action,
                e.object_type,
                e.object_id,
                e.area_code,
                " ".join(e.changed_fields),
                shown(e),
                e.ip_address or "",
            ]

    return spreadsheet.csv_response(rows(), "audit.csv")


@role_required("area_admin")
def break_glass_reviews(request):
    """Break-the-glass grants to review, and every active access grant in the admin's areas
    (break-the-glass, referrals, case assignments) with a way to revoke it."""
    grants = scope.grants_in_admin_areas(request.user)
    glass = grants.filter(kind=GrantKind.BREAK_GLASS)
    return render(
        request,
        "core/break_glass_reviews.html",
        {
            "pending": glass.filter(reviewed_at__isnull=True),
            "reviewed": glass.filter(reviewed_at__isnull=False)[:50],
            "active": grants.active()[:200],
            "form": GrantReviewForm(),
        },
    )


@role_required("area_admin")
@require_POST
def break_glass_review(request, pk):
    form = GrantReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择审核结论"))
    else:
        try:
            scope.review_grant(request.user, pk, **form.cleaned_data)
            messages.success(request, _("已审核"))
        except scope.ScopeError as exc:
            messages.error(request, exc.message)
    return redirect("break_glass_reviews")


@role_required("area_admin")
@require_POST
def access_grant_revoke(request, pk):
    form = GrantRevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写撤销理由"))
    else:
        try:
            scope.admin_revoke(request.user, pk, reason=form.cleaned_data["reason"])
            messages.success(request, _("已撤销该访问授权"))
        except scope.ScopeError as exc:
            messages.error(request, exc.message)
    return redirect("break_glass_reviews")


@role_required("sysadmin", "area_admin")
@require_http_methods(["GET", "POST"])
def area_import(request):
    form = AreaImportForm(request.POST or None, request.FILES or None)
    errors, result = [], None
    if request.method == "POST" and form.is_valid():
        try:
            text = uploads.decode(form.cleaned_data["file"].read())
            result = services.import_areas(text, actor=request.user)
        except uploads.UnreadableFile as exc:
            errors = [exc.message]
        except services.AreaImportError as exc:
            errors = exc.errors
    roots = Area.objects.filter(parent__isnull=True).annotate(n=Count("children"))
    return render(
        request,
        "core/area_import.html",
        {
            "form": form,
            "errors": errors,
            "result": result,
            "roots": roots,
            "area_count": Area.objects.count(),
        },
    )


@login_required
def job_list(request):
    """Background jobs (imports, invitation runs) with their state: the user's own; every
    user's for a sysadmin."""
    from xinan.core import jobs

    everyone = request.user.is_superuser or "sysadmin" in request.user.roles()
    return render(
        request,
        "core/jobs.html",
        {"jobs": jobs.visible_to(request.user)[:100], "all_jobs": everyone},
    )
