"""Booking pages for residents (book, my appointments, reschedule, cancel, rate) and for
counsellors (today's sessions and their outcome, the record of sessions delivered)."""

import datetime as dt
from itertools import groupby

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinan.booking import selectors, services, slots, vouchers
from xinan.booking.forms import BookForm, CancelForm, RateForm
from xinan.booking.models import Status
from xinan.core import audit, scope
from xinan.core.decorators import role_required
from xinan.network.models import ServiceSite


def _person(request):
    person = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    return person


def _counsellor_or_404(pk):
    users = get_user_model().objects.filter(availability__active=True).distinct()
    return get_object_or_404(users, pk=pk)


def _by_day(slot_list):
    return [(day, list(group)) for day, group in groupby(slot_list, key=lambda s: s.local.date())]


def book_site(request, pk):
    """A site's counsellors and their next free slots."""
    site = get_object_or_404(ServiceSite.objects.active(), pk=pk)
    rows = [(c, _by_day(slots.slots_for(c, site=site)[:24])) for c in slots.counsellors_at(site)]
    return render(request, "booking/book_site.html", {"site": site, "rows": rows})


def counsellor(request, pk):
    """A counsellor's page: who they are, where they serve, their free slots."""
    user = _counsellor_or_404(pk)
    site = None
    if request.GET.get("site", "").isdigit():
        site = ServiceSite.objects.active().filter(pk=request.GET["site"]).first()
    professional = getattr(user, "professional", None)
    return render(
        request,
        "booking/counsellor.html",
        {
            "counsellor": user,
            "professional": professional,
            "site": site,
            "days": _by_day(slots.slots_for(user, site=site)),
        },
    )


@login_required
def book(request, pk):
    """Confirm a slot (GET ?slot=…), then book it (POST), with a voucher if the resident
    has one that fits."""
    counsellor_user = _counsellor_or_404(pk)
    person = _person(request)
    key = request.POST.get("slot") or request.GET.get("slot", "")
    starts_at = slots.parse_key(key)
    slot = slots.find_slot(counsellor_user, starts_at) if starts_at else None
    site = ServiceSite.objects.filter(pk=slot.site_id).first() if slot else None
    usable = vouchers.usable_for(person, site=site) if slot else []
    form = BookForm(request.POST or None, vouchers=usable, initial={"slot": key})
    if request.method == "POST" and form.is_valid():
        voucher = next((v for v in usable if str(v.pk) == form.cleaned_data["voucher"]), None)
        try:
            appointment = services.book(
                person,
                counsellor=counsellor_user,
                starts_at=starts_at,
                site=site,
                service=form.cleaned_data["service"],
                voucher=voucher,
                actor=request.user,
            )
        except services.BookingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("预约成功"))
            return redirect("booking:appointment", pk=appointment.pk)
    elif request.method == "POST" and starts_at is None:
        form.add_error(None, _("请选择一个时段"))
    return render(
        request,
        "booking/book.html",
        {"counsellor": counsellor_user, "slot": slot, "site": site, "form": form, "key": key},
    )


@login_required
def mine(request):
    now = timezone.now()
    appointments = selectors.own_appointments(request.user)
    return render(
        request,
        "booking/mine.html",
        {
            "person": getattr(request.user, "person", None),
            "upcoming": appointments.filter(starts_at__gte=now - dt.timedelta(hours=2))
            .exclude(status=Status.CANCELLED)
            .order_by("starts_at"),
            "past": appointments.filter(starts_at__lt=now - dt.timedelta(hours=2)).order_by(
                "-starts_at"
            )[:20],
            "vouchers": selectors.own_usable_vouchers(request.user, now),
            "reminders": selectors.own_sent_reminders(request.user, now),
        },
    )


def _own_appointment(request, pk):
    return selectors.own_appointment(request.user, pk)


@login_required
def appointment(request, pk):
    a = _own_appointment(request, pk)
    new_slots = (
        _by_day(slots.slots_for(a.counsellor, site=a.site, mode=a.mode, ignore=a)[:30])
        if a.status == Status.BOOKED
        else []
    )
    return render(
        request,
        "booking/appointment.html",
        {
            "a": a,
            "voucher": selectors.voucher_of(a),
            "new_slots": new_slots,
            "cancel_form": CancelForm(),
            "rate_form": RateForm() if a.status == Status.COMPLETED and a.rating is None else None,
        },
    )


@login_required
@require_POST
def reschedule(request, pk):
    a = _own_appointment(request, pk)
    starts_at = slots.parse_key(request.POST.get("slot", ""))
    try:
        if starts_at is None:
            raise services.BookingError(_("请选择一个时段"))
        services.reschedule(a, starts_at=starts_at, actor=request.user)
    except services.BookingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已改期，提醒会按新时间发送"))
    return redirect("booking:appointment", pk=a.pk)


@login_required
@require_POST
def cancel(request, pk):
    a = _own_appointment(request, pk)
    form = CancelForm(request.POST)
    form.is_valid()
    try:
        services.cancel(a, actor=request.user, reason=form.cleaned_data.get("reason", ""))
    except services.BookingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("预约已取消"))
    return redirect("booking:appointment", pk=a.pk)


@login_required
@require_POST
def rate(request, pk):
    a = _own_appointment(request, pk)
    form = RateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择1到5星"))
    else:
        try:
            services.rate(a, actor=request.user, **form.cleaned_data)
        except services.BookingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("谢谢您的评价"))
    return redirect("booking:appointment", pk=a.pk)


# ---------------------------------------------------------------- counsellors


@role_required("counsellor", "area_admin")
def sessions(request):
    """The counsellor's appointments: today and coming, and the sessions delivered."""
    now = timezone.now()
    mine_qs = selectors.counsellor_appointments(request.user)
    delivered = mine_qs.filter(status=Status.COMPLETED).order_by("-starts_at")
    return render(
        request,
        "booking/sessions.html",
        {
            "coming": mine_qs.filter(
                status__in=[Status.BOOKED, Status.ARRIVED],
                starts_at__gte=now - dt.timedelta(hours=12),
            ).order_by("starts_at")[:100],
            "delivered": delivered[:50],
            "delivered_total": delivered.count(),
        },
    )


@role_required("counsellor", "area_admin")
@require_POST
def outcome(request, pk):
    a = selectors.appointment_to_record(request.user, pk)
    action = {
        "arrived": services.mark_arrived,
        "completed": services.complete,
        "no_show": services.mark_no_show,
    }.get(request.POST.get("to", ""))
    try:
        if action is None:
            raise services.BookingError(_("请选择要登记的结果"))
        action(a, actor=request.user)
    except services.BookingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已登记"))
    return redirect("booking:sessions")


@login_required
def book_for(request, person_pk):
    """Staff book on a resident's behalf: the person comes from the scope gate."""
    if not request.user.is_staff_member:
        raise Http404
    person = scope.get_person(request.user, person_pk)
    counsellors = get_user_model().objects.filter(availability__active=True).distinct()
    chosen = None
    if request.GET.get("counsellor", "").isdigit():
        chosen = counsellors.filter(pk=request.GET["counsellor"]).first()
    days = _by_day(slots.slots_for(chosen)[:40]) if chosen else []
    if request.method == "POST":
        starts_at = slots.parse_key(request.POST.get("slot", ""))
        target = counsellors.filter(pk=request.POST.get("counsellor") or 0).first()
        try:
            if starts_at is None or target is None:
                raise services.BookingError(_("请选择咨询师和时段"))
            slot = slots.find_slot(target, starts_at)
            site = ServiceSite.objects.filter(pk=slot.site_id).first() if slot else None
            a = services.book(
                person, counsellor=target, starts_at=starts_at, site=site, actor=request.user
            )
        except services.BookingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("已为%(name)s预约 %(when)s")
                % {"name": person.name, "when": f"{timezone.localtime(a.starts_at):%m-%d %H:%M}"},
            )
            return redirect(
                "booking:sessions" if "counsellor" in request.user.roles() else "workbench"
            )
    audit.record("booking.book_for.view", person, actor=request.user)
    return render(
        request,
        "booking/book_for.html",
        {"person": person, "counsellors": counsellors, "chosen": chosen, "days": days},
    )
