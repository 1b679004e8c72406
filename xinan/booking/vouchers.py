"""嘉心券: vouchers drawn from an area's budget, redeemed at booking, released on cancellation,
expired by a sweep. Money is integer cents; every change of a voucher's state is a conditional
UPDATE, so two requests never both redeem one voucher, and the budget moves by F()
expressions in the same transaction."""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.booking.errors import BookingError
from xinan.booking.models import Appointment, Voucher, VoucherBudget, VoucherStatus
from xinan.core import audit
from xinan.network.models import codes_text, text_codes

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_code() -> str:
    return "JX" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def yuan(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def parse_yuan(text: str) -> int:
    """ "50" or "49.90" → cents, exactly (no float)."""
    text = (text or "").strip().replace("元", "").replace("¥", "")
    whole, _sep, frac = text.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise BookingError(_("金额格式不对，例如 50 或 49.90"), "value")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)


def issue(
    person,
    *,
    budget: VoucherBudget,
    value_cents: int,
    valid_days: int,
    services: list[str] | str,
    actor,
    rule=None,
    source_event_id: int | None = None,
    now: dt.datetime | None = None,
) -> Voucher:
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if value_cents <= 0:
        raise BookingError(_("面值应大于0"), "value")
    if not (budget.period_start <= today <= budget.period_end):
        raise BookingError(_("该预算不在有效期内"), "budget")
    if not person.home_area_id.startswith(budget.area.prefix):
        raise BookingError(_("居民不住在该预算所属区划，不能发放本区划的券"), "budget")
    if valid_days <= 0:
        raise BookingError(_("有效天数应大于0"), "valid_days")
    expires = min(
        now + dt.timedelta(days=valid_days),
        timezone.make_aware(dt.datetime.combine(budget.period_end, dt.time(23, 59, 59))),
    )
    codes = codes_text(services.split(",") if isinstance(services, str) else services)
    with transaction.atomic():
        drawn = VoucherBudget.objects.filter(
            pk=budget.pk, issued_cents__lte=F("total_cents") - value_cents
        ).update(issued_cents=F("issued_cents") + value_cents)
        if not drawn:
            raise BookingError(_("预算余额不足，无法发券"), "budget")
        voucher = Voucher.objects.create(
            code=new_code(),
            person=person,
            budget=budget,
            area=budget.area,
            value_cents=value_cents,
            services=codes,
            issued_at=now,
            expires_at=expires,
            rule=rule,
            source_event_id=source_event_id,
            issued_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit.record(
            "booking.voucher.issue",
            voucher,
            actor=actor,
            changed_fields=["status", "value_cents"],
            reason="rule" if rule else "manual",
        )
    return voucher


def usable_for(person, *, site=None, service: str = "counselling", now=None):
    """The person's vouchers that could pay for a booking at `site` (None: online)."""
    now = now or timezone.now()
    place = site.area_id if site is not None else person.home_area_id
    return [
        v
        for v in Voucher.objects.filter(
            person=person, status=VoucherStatus.ISSUED, expires_at__gt=now
        ).select_related("area")
        if place.startswith(v.area.prefix) and service in text_codes(v.services)
    ]


def redeem(voucher: Voucher, *, appointment: Appointment, now=None) -> None:
    """Inside the booking's transaction: the voucher pays for `appointment` or the booking
    fails with a reason."""
    now = now or timezone.now()
    if voucher.person_id != appointment.person_id:
        raise BookingError(_("这张券不属于该居民"), "voucher")
    place = appointment.site.area_id if appointment.site_id else appointment.area_code
    if not place.startswith(voucher.area.prefix):
        raise BookingError(
            _("这张券只能在%(area)s使用，不能用于其他区划的服务点") % {"area": voucher.area.name},
            "voucher",
        )
    if appointment.service not in text_codes(voucher.services):
        raise BookingError(_("这张券不能用于该服务"), "voucher")
    won = Voucher.objects.filter(
        pk=voucher.pk, status=VoucherStatus.ISSUED, expires_at__gt=now
    ).update(status=VoucherStatus.REDEEMED, appointment=appointment, redeemed_at=now)
    if not won:
        raise BookingError(_("这张券已使用或已过期"), "voucher")
    VoucherBudget.objects.filter(pk=voucher.budget_id).update(
        redeemed_cents=F("redeemed_cents") + voucher.value_cents
    )
    audit.record("booking.voucher.redeem", voucher, actor=None, changed_fields=["status"])


def release(appointment: Appointment, *, now=None) -> bool:
    """On cancellation: the voucher goes back to the resident (or expires if its time has
    passed) and the budget gets the money back."""
    now = now or timezone.now()
    voucher = Voucher.objects.filter(appointment=appointment).first()
    if voucher is None:
        return False
    expired = voucher.expires_at <= now
    won = Voucher.objects.filter(
        pk=voucher.pk, status=VoucherStatus.REDEEMED, appointment=appointment
    ).update(
        status=VoucherStatus.EXPIRED if expired else VoucherStatus.ISSUED,
        appointment=None,
        redeemed_at=None,
    )
    if won:
        VoucherBudget.objects.filter(pk=voucher.budget_id).update(
            redeemed_cents=F("redeemed_cents") - voucher.value_cents,
            **({"issued_cents": F("issued_cents") - voucher.value_cents} if expired else {}),
        )
        audit.record("booking.voucher.release", voucher, actor=None, changed_fields=["status"])
    return bool(won)


def expire_due(now: dt.datetime, batch: int = 500) -> int:
    """Expire unused vouchers past their date; their value returns to the budget."""
    done = 0
    due = list(
        Voucher.objects.filter(status=VoucherStatus.ISSUED, expires_at__lte=now).values_list(
            "pk", "budget_id", "value_cents"
        )[:batch]
    )
    with transaction.atomic():
        for pk, budget_id, cents in due:
            if Voucher.objects.filter(pk=pk, status=VoucherStatus.ISSUED).update(
                status=VoucherStatus.EXPIRED
            ):
                VoucherBudget.objects.filter(pk=budget_id).update(
                    issued_cents=F("issued_cents") - cents
                )
                done += 1
        if done:
            audit.record(
                "booking.voucher.expire",
                actor=None,
                object_type="booking.voucher",
                object_id=f"{done}",
                changed_fields=["status"],
            )
    return done


@dataclass
class ReconRow:
    month: dt.date
    site: str
    counsellor: str
    sessions: int
    cents: int

    @property
    def yuan(self) -> str:
        return yuan(self.cents)


def reconciliation(prefix: str, *, start: dt.date, end: dt.date) -> list[ReconRow]:
    """Redeemed vouchers by month, site and counsellor, in cents, for vouchers of areas under
    `prefix` redeemed between `start` and `end` (local dates, inclusive)."""
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    until = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    rows = (
        Voucher.objects.filter(
            area__code__startswith=prefix,
            status=VoucherStatus.REDEEMED,
            redeemed_at__gte=since,
            redeemed_at__lt=until,
        )
        .annotate(month=TruncMonth("redeemed_at"))
        .values(
            "month",
            "appointment__site__name",
            "appointment__counsellor__display_name",
            "appointment__counsellor__username",
        )
        .annotate(n=Count("pk"), cents=Sum("value_cents"))
        .order_by("month", "appointment__site__name", "appointment__counsellor__username")
    )
    return [
        ReconRow(
            month=r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"],
            site=r["appointment__site__name"] or _("线上"),
            counsellor=r["appointment__counsellor__display_name"]
            or r["appointment__counsellor__username"],
            sessions=r["n"],
            cents=r["cents"] or 0,
        )
        for r in rows
    ]


def budgets_within(prefixes: list[str]):
    q = Q(pk__in=[])
    for p in prefixes:
        q |= Q(area__code__startswith=p)
    return VoucherBudget.objects.filter(q).select_related("area")
