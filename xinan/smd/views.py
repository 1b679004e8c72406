"""SMD pages: the worklist, the registry, follow-ups, exams, emergencies, reports.

Thin views: parse → the registry's gate (`smd.visibility`) → a service → render. Every view of
a patient's record and every change is audited.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinan.core import audit, scope
from xinan.core.lib import areacode, crypto, idnumber
from xinan.core.models import Institution
from xinan.smd import forms, services, visibility
from xinan.smd.models import (
    RISK_DEFINITIONS,
    Classification,
    DiagnosisReport,
    Emergency,
    FollowUp,
    PatientStatus,
    ReportStatus,
)
from xinan.smd.visibility import SmdDetail


def _record_user(view):
    """Only users who may see SMD records in full (精防医生, 精神科医生); others get 404."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if not visibility.can_record(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _apply_error(form, error: services.SmdError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


# Worklist and registry ----------------------------------------------------------------------

FILTERS = {
    "due": _("两周内到期"),
    "overdue": _("已逾期"),
    "unstable": _("病情不稳定"),
    "all": _("全部在册"),
}


@login_required
def worklist(request):
    """The doctor's registry worklist; grid workers and liaison roles see the flag list."""
    user = request.user
    if not visibility.can_flag(user):
        raise Http404
    if not visibility.can_record(user):
        return _flag_list(request)
    now = timezone.now()
    show = request.GET.get("show", "due")
    qs = (
        visibility.patients(user)
        .filter(status=PatientStatus.ACTIVE)
        .select_related("person__home_area")
        .order_by("due_at", "pk")
    )
    counts = {
        "overdue": qs.filter(due_at__lt=now).count(),
        "due": qs.filter(due_at__lt=now + dt.timedelta(days=14)).count(),
        "unstable": qs.filter(current_class=Classification.UNSTABLE).count(),
        "all": qs.count(),
    }
    if show == "overdue":
        qs = qs.filter(due_at__lt=now)
    elif show == "unstable":
        qs = qs.filter(current_class=Classification.UNSTABLE)
    elif show == "due":
        qs = qs.filter(due_at__lt=now + dt.timedelta(days=14))
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(person__name__contains=query)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    audit.record(
        "smd.patient.list",
        actor=user,
        object_type="smd.patient",
        object_id="worklist",
        reason=",".join(str(p.pk) for p in page.object_list)[:1000],
    )
    return render(
        request,
        "smd/worklist.html",
        {
            "page": page,
            "show": show,
            "filters": FILTERS,
            "counts": counts,
            "q": query,
            "now": now,
            "pending_reports": visibility.reports(user).filter(status=ReportStatus.PENDING).count(),
            "open_emergencies": visibility.emergencies(user)
            .filter(completed_at__isnull=True)
            .count(),
        },
    )


def _flag_list(request):
    qs = (
        visibility.patients(request.user, need=SmdDetail.FLAG)
        .filter(status=PatientStatus.ACTIVE)
        .select_related("person__home_area")
        .order_by("-current_risk", "person__home_area_id", "pk")
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    audit.record(
        "smd.patient.flag_list",
        actor=request.user,
        object_type="smd.patient",
        object_id="flags",
        reason=",".join(str(p.pk) for p in page.object_list)[:1000],
    )
    return render(
        request,
        "smd/flag_list.html",
        {"page": page, "high": qs.filter(current_risk__gte=3).count(), "total": qs.count()},
    )


@_record_user
def patient_detail(request, pk):
    patient = visibility.get_patient(request.user, pk)
    audit.record("smd.patient.view", patient, actor=request.user)
    follow_ups = list(patient.follow_ups.prefetch_related("drugs").select_related("doctor")[:20])
    alerts = visibility.alerts_of(patient).active()[:5]
    return render(
        request,
        "smd/patient_detail.html",
        {
            "patient": patient,
            "person": patient.person,
            "follow_ups": follow_ups,
            "exams": patient.exams.all()[:5],
            "emergencies": patient.emergencies.all()[:10],
            "transfers": patient.transfers.select_related("from_area", "to_area")[:5],
            "alerts": alerts,
            "now": timezone.now(),
        },
    )


def _patient_values(form) -> dict:
    return {k: v for k, v in form.cleaned_data.items() if k != "id_number"}


@_record_user
@require_http_methods(["GET", "POST"])
def register(request):
    user = request.user
    report = None
    if request.GET.get("report"):
        report = _get_report(user, request.GET["report"])
    initial = {}
    if report is not None:
        initial = {
            "id_number": report.person.id_number,
            "disorder": report.disorder,
            "icd10_code": report.icd10_code,
            "diagnosis_date": report.diagnosis_date,
            "diagnosis_institution": report.reporting_institution.name,
        }
    form = forms.RegisterForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            number = idnumber.validate(form.cleaned_data["id_number"])
        except idnumber.InvalidIdNumber as exc:
            form.add_error("id_number", str(exc))
        else:
            person = visibility.find_person_to_register(user, number)
            if person is None:
                form.add_error(
                    "id_number",
                    _("您的服务范围内没有该身份证号的居民档案，请先在“居民档案”中建档"),
                )
            else:
                try:
                    patient = services.register_patient(
                        person=person, values=_patient_values(form), actor=user, report=report
                    )
                except services.SmdError as error:
                    _apply_error(form, error)
                else:
                    messages.success(
                        request,
                        _("已登记在册：%(name)s；首次随访请于%(date)s前完成")
                        % {"name": person.name, "date": patient.next_due_on},
                    )
                    return redirect("smd:patient", pk=patient.pk)
    return render(request, "smd/register.html", {"form": form, "report": report})


@_record_user
@require_http_methods(["GET", "POST"])
def patient_edit(request, pk):
    patient = visibility.get_patient(request.user, pk)
    form = forms.PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            # The form already wrote cleaned values onto the instance: compare with the row.
            fresh = type(patient).objects.get(pk=patient.pk)
            changed = services.update_patient(
                fresh, values=dict(form.cleaned_data), actor=request.user
            )
        except services.SmdError as error:
            _apply_error(form, error)
        else:
            messages.success(
                request,
                _("已保存（%(n)s项修改）") % {"n": len(changed)} if changed else _("没有修改"),
            )
            return redirect("smd:patient", pk=patient.pk)
    else:
        audit.record("smd.patient.view", patient, actor=request.user, reason="edit")
    return render(request, "smd/patient_form.html", {"form": form, "patient": patient})


# Follow-ups -----------------------------------------------------------------------------------


def _last_drugs(patient) -> list[dict]:
    last = patient.follow_ups.filter(reached=True).prefetch_related("drugs").first()
    if last is None:
        return []
    return [{"name": d.name, "dose": d.dose, "frequency": d.frequency} for d in last.drugs.all()]


@_record_user
@require_http_methods(["GET", "POST"])
def follow_up_new(request, pk):
    patient = visibility.get_patient(request.user, pk)
    form = forms.FollowUpForm(request.POST or None)
    drugs = forms.DrugFormSet(request.POST or None, initial=_last_drugs(patient), prefix="drug")
    if request.method == "POST" and form.is_valid() and drugs.is_valid():
        values = dict(form.cleaned_data)
        rows = [d for d in drugs.cleaned_data if d]
        try:
            follow_up = services.record_follow_up(
                patient=patient, values=values, drugs=rows, actor=request.user
            )
        except services.SmdError as error:
            if error.field == "drugs":
                form.add_error(None, error.message)
            else:
                _apply_error(form, error)
        else:
            if follow_up.died:
                messages.success(request, _("已登记死亡，患者已移出在册管理"))
            else:
                messages.success(
                    request,
                    _("随访已保存：%(cls)s；下次随访 %(date)s")
                    % {"cls": follow_up.get_classification_display(),
                       "date": follow_up.next_visit_date},
                )  # fmt: skip
            return redirect("smd:follow_up", pk=follow_up.pk)
    else:
        audit.record("smd.patient.view", patient, actor=request.user, reason="follow_up_form")
    return render(
        request,
        "smd/follow_up_form.html",
        {
            "patient": patient,
            "form": form,
            "groups": [
                (legend, [form[n] for n in names]) for legend, names in forms.FOLLOW_UP_GROUPS
            ],
            "drugs": drugs,
            "risk_definitions": RISK_DEFINITIONS,
            "cadences": services.cadences(),
        },
    )


def _get_follow_up(user, pk) -> FollowUp:
    try:
        return visibility.follow_ups(user).get(pk=int(pk))
    except (FollowUp.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


@_record_user
def follow_up_detail(request, pk):
    follow_up = _get_follow_up(request.user, pk)
    audit.record("smd.follow_up.view", follow_up, actor=request.user)
    return render(
        request,
        "smd/follow_up_detail.html",
        {
            "f": follow_up,
            "patient": follow_up.patient,
            "override_form": forms.OverrideForm(),
            "risk_text": RISK_DEFINITIONS.get(follow_up.risk_level, ""),
        },
    )


@_record_user
@require_POST
def follow_up_override(request, pk):
    follow_up = _get_follow_up(request.user, pk)
    form = forms.OverrideForm(request.POST)
    if form.is_valid():
        try:
            services.override_classification(
                follow_up,
                classification=form.cleaned_data["override_class"],
                reason=form.cleaned_data["override_reason"],
                actor=request.user,
            )
        except services.SmdError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("已调整分类并记录理由"))
    else:
        messages.error(request, _("请选择调整后的分类并填写理由"))
    return redirect("smd:follow_up", pk=follow_up.pk)


# Exams, emergencies, transfer -------------------------------------------------------------------


@_record_user
@require_http_methods(["GET", "POST"])
def exam(request, pk):
    patient = visibility.get_patient(request.user, pk)
    form = forms.ExamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_exam(patient=patient, values=form.cleaned_data, actor=request.user)
        except services.SmdError as error:
            _apply_error(form, error)
        else:
            messages.success(request, _("已保存年度体检"))
            return redirect("smd:patient", pk=patient.pk)
    return render(request, "smd/simple_form.html", {
        "patient": patient, "form": form, "title": _("年度健康体检"),
        "hint": _("每年1次，征得监护人与患者本人同意后进行（血常规、血糖、肝功能、心电图等）"),
    })  # fmt: skip


@_record_user
@require_http_methods(["GET", "POST"])
def emergency_new(request, pk):
    patient = visibility.get_patient(request.user, pk)
    alert = None
    alert_id = request.POST.get("alert") or request.GET.get("alert")
    if alert_id:
        # Only an alert about this same patient can be linked.
        alert = visibility.alerts_of(patient).filter(pk=alert_id).first()
        if alert is None:
            raise Http404
    form = forms.EmergencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            emergency = services.record_emergency(
                patient=patient, values=form.cleaned_data, actor=request.user, alert=alert
            )
        except services.SmdError as error:
            _apply_error(form, error)
        else:
            messages.success(
                request,
                _("已登记应急处置；记录单须于%(due)s前完成")
                % {"due": timezone.localtime(emergency.due_at).strftime("%Y-%m-%d %H:%M")},
            )
            return redirect("smd:patient", pk=patient.pk)
    return render(
        request,
        "smd/emergency_form.html",
        {"patient": patient, "form": form, "alert": alert, "risk_definitions": RISK_DEFINITIONS},
    )


@_record_user
@require_POST
def emergency_complete(request, pk):
    try:
        emergency = visibility.emergencies(request.user).get(pk=int(pk))
    except (Emergency.DoesNotExist, ValueError):
        raise Http404 from None
    form = forms.CompleteEmergencyForm(request.POST)
    try:
        if not form.is_valid():
            raise services.SmdError(_("请填写处置经过"))
        services.complete_emergency(
            emergency, description=form.cleaned_data["description"], actor=request.user
        )
    except services.SmdError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("应急处置记录单已完成"))
    return redirect("smd:patient", pk=emergency.patient_id)


@_record_user
@require_http_methods(["GET", "POST"])
def transfer(request, pk):
    patient = visibility.get_patient(request.user, pk)
    form = forms.TransferForm(request.POST or None)
    district = areacode.prefix(patient.person.home_area_id, "district")
    form.fields["to_area"].queryset = form.fields["to_area"].queryset.filter(
        code__startswith=district
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.transfer_patient(
                patient,
                to_area=form.cleaned_data["to_area"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except services.SmdError as error:
            _apply_error(form, error)
        else:
            messages.success(
                request, _("已转移至%(area)s") % {"area": form.cleaned_data["to_area"]}
            )
            if visibility.detail(request.user, patient) >= SmdDetail.RECORD:
                return redirect("smd:patient", pk=patient.pk)
            return redirect("smd:worklist")
    return render(request, "smd/simple_form.html", {
        "patient": patient, "form": form, "title": _("患者迁居转移"),
        "hint": _("同一患者档案随人转移到迁入地的社区卫生服务中心管理，不会重复建档"),
    })  # fmt: skip


# New-diagnosis reports ----------------------------------------------------------------------------


def _get_report(user, pk) -> DiagnosisReport:
    try:
        return (
            visibility.reports(user)
            .select_related("person", "reporting_institution")
            .get(pk=int(pk))
        )
    except (DiagnosisReport.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


@_record_user
def reports(request):
    qs = (
        visibility.reports(request.user)
        .filter(status=ReportStatus.PENDING)
        .select_related("person__home_area", "reporting_institution")
    )
    audit.record("smd.report.list", actor=request.user, object_type="smd.diagnosisreport",
                 object_id="queue")  # fmt: skip
    return render(request, "smd/reports.html", {"reports": qs, "now": timezone.now()})


@_record_user
@require_http_methods(["GET", "POST"])
def report_new(request):
    """A psychiatrist or hospital doctor files a 发病报告 for a resident in their scope."""
    user = request.user
    institutions = Institution.objects.filter(
        pk__in=[m.institution_id for m in user.active_memberships() if m.institution_id]
    ) or Institution.objects.filter(kind__in=["mhc", "hospital"])
    form = forms.ReportForm(request.POST or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        try:
            number = idnumber.validate(form.cleaned_data["id_number"])
        except idnumber.InvalidIdNumber as exc:
            form.add_error("id_number", str(exc))
        else:
            person = scope.find_person(
                user, ("pk", "name", "home_area_id"), id_number_hash=crypto.lookup_hash(number)
            )
            if person is None:
                form.add_error("id_number", _("您的范围内没有该身份证号的居民档案"))
            else:
                try:
                    report = services.report_diagnosis(
                        person=person,
                        institution=form.cleaned_data["institution"],
                        disorder=form.cleaned_data["disorder"],
                        icd10_code=form.cleaned_data["icd10_code"],
                        diagnosis_date=form.cleaned_data["diagnosis_date"],
                        actor=user,
                    )
                except services.SmdError as error:
                    _apply_error(form, error)
                else:
                    late = _("（已超过确诊后10个工作日的报告时限）") if report.reported_late else ""
                    messages.success(request, _("发病报告已提交，待社区建档") + late)
                    return redirect(reverse("smd:report_new"))
    return render(request, "smd/simple_form.html", {
        "form": form, "title": _("严重精神障碍发病报告"),
        "hint": _("确诊后10个工作日内报告；报告后由患者居住地社区卫生服务中心访视建档"),
    })  # fmt: skip
