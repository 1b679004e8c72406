"""Service-site pages: the resident finder and a site's page; area admins' site register,
editing and coverage."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinan.core.decorators import role_required
from xinan.core.lib import areacode
from xinan.network import access, services
from xinan.network.forms import ClosureForm, FinderForm, SiteForm
from xinan.network.models import ServiceSite


def _home_code(request) -> str:
    person = getattr(request.user, "person", None) if request.user.is_authenticated else None
    return person.home_area_id if person else ""


def finder(request):
    form = FinderForm(request.GET or None)
    hits, located = [], False
    home = _home_code(request)
    if form.is_valid():
        d = form.cleaned_data
        located = d["lat"] is not None and d["lon"] is not None
        hits = services.find_sites(
            prefix=d["area"],
            site_type=d["site_type"],
            service=d["service"],
            open_now=d["open_now"],
            lat=d["lat"],
            lon=d["lon"],
            home=home,
            limit=30,
        )
    elif not request.GET:
        hits = services.find_sites(home=home, prefix=areacode.prefix(home, "district"), limit=30)
    return render(request, "network/finder.html", {"form": form, "hits": hits, "located": located})


def site_detail(request, pk):
    site = get_object_or_404(
        ServiceSite.objects.active().select_related("area", "institution"), pk=pk
    )
    from xinan.booking import slots

    return render(
        request,
        "network/site_detail.html",
        {
            "site": site,
            "hours": services.hours_text(site),
            "open_now": services.is_open(site, None),
            "closures": site.closures.filter(date__gte=services.local_now().date())[:5],
            "staff": site.staff.filter(active=True)[:20],
            "counsellors": slots.counsellors_at(site),
        },
    )


def site_photo(request, pk):
    site = get_object_or_404(ServiceSite.objects.active(), pk=pk)
    if not site.photo:
        raise Http404
    handle = site.photo.open("rb")
    kind = services.photo_type(handle.read(16))
    handle.seek(0)
    if kind is None:
        raise Http404
    return FileResponse(handle, content_type=kind)


@role_required("area_admin")
def site_list(request):
    sites = access.managed(request.user, ServiceSite.objects.select_related("area"))
    query = request.GET.get("q", "").strip()
    if query:
        sites = sites.filter(name__contains=query)
    page = Paginator(sites, 50).get_page(request.GET.get("page"))
    return render(request, "network/site_list.html", {"page": page, "query": query})


@role_required("area_admin")
def site_edit(request, pk=None):
    areas = access.managed_areas(request.user)
    site = (
        get_object_or_404(access.managed(request.user, ServiceSite.objects.all()), pk=pk)
        if pk
        else ServiceSite()
    )
    initial = {"hours": "；".join(services.hours_text(site))} if pk else {}
    form = SiteForm(
        request.POST or None, request.FILES or None, instance=site, areas=areas, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            site = services.save_site(
                form.save(commit=False),
                actor=request.user,
                hours=form.cleaned_data["hours"],
                services=form.cleaned_data["service_list"],
                populations=form.cleaned_data["populations"],
                photo=form.cleaned_data.get("photo"),
            )
        except services.NetworkError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("服务点已保存"))
            return redirect("network:site_edit", pk=site.pk)
    closure_form = ClosureForm() if site.pk else None
    return render(
        request,
        "network/site_edit.html",
        {"form": form, "site": site, "closure_form": closure_form},
    )


@role_required("area_admin")
@require_POST
def site_closure(request, pk):
    site = get_object_or_404(access.managed(request.user, ServiceSite.objects.all()), pk=pk)
    form = ClosureForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的日期和时间"))
    else:
        try:
            services.add_closure(site, actor=request.user, **form.cleaned_data)
        except services.NetworkError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("节假日安排已保存"))
    return redirect("network:site_edit", pk=site.pk)


@role_required("area_admin")
def coverage(request):
    prefixes = access.admin_prefixes_or_404(request.user)
    rows = [row for prefix in prefixes for row in services.coverage(prefix)]
    chart = {
        "towns": [r.area.name for r in rows],
        "rates": [round(r.rate * 100, 1) for r in rows],
        "target": round(rows[0].target * 100, 1) if rows else 100,
    }
    total = sum(r.villages for r in rows)
    covered = sum(r.covered for r in rows)
    return render(
        request,
        "network/coverage.html",
        {
            "rows": rows,
            "chart": chart,
            "total": total,
            "covered": covered,
            "rate": covered / total if total else 0,
        },
    )
