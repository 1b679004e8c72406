"""Bulk import pages: upload a file, the template, the job's progress and its rejected rows."""

import uuid
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from xinan.screening import files, importer, services
from xinan.screening.forms import ImportForm
from xinan.screening.models import ImportJob
from xinan.screening.views import instrument_or_404, require_staff


def _save_upload(f) -> Path:
    suffix = ".xlsx" if f.name.lower().endswith(".xlsx") else ".csv"
    path = importer.import_dir() / f"{uuid.uuid4().hex}{suffix}"
    with path.open("wb") as out:
        for chunk in f.chunks():
            out.write(chunk)
    return path


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request):
    require_staff(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        path = _save_upload(d["file"])
        job = ImportJob.objects.create(
            instrument=d["instrument"],
            file_name=d["file"].name[:255],
            path=str(path),
            site=d["site"],
            created_by=request.user,
        )
        importer.start(job)
        return redirect("screening:import_status", pk=job.pk)
    jobs = ImportJob.objects.filter(created_by=request.user)[:20]
    return render(
        request,
        "screening/import.html",
        {"form": form, "jobs": jobs, "instruments": services.instruments()},
    )


@login_required
def import_template(request, code):
    require_staff(request.user)
    inst = instrument_or_404(code)
    response = HttpResponse(
        importer.template_xlsx(inst),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="import-{inst.code}.xlsx"'
    return response


def _job_or_404(request, pk) -> ImportJob:
    job = ImportJob.objects.filter(pk=pk, created_by=request.user).first()
    if job is None:
        raise Http404
    return job


@login_required
def import_status(request, pk):
    require_staff(request.user)
    job = _job_or_404(request, pk)
    template = (
        "screening/_import_progress.html"
        if request.headers.get("HX-Request")
        else ("screening/import_status.html")
    )
    return render(request, template, {"job": job})


@login_required
def import_rejected(request, pk):
    # the uploader, or an area admin above the uploader's areas; each download audited
    job, content = files.rejected_for_download(request.user, pk)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-{job.pk}.csv"'
    return response
