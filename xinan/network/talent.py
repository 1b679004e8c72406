"""The talent database: professionals, their certificates and teams; what the platform's own
records say they did; search and export."""

import datetime as dt
import io

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit
from xinan.core.lib.spreadsheet import safe_cell
from xinan.network.models import Certificate, Professional, ProfessionalKind
from xinan.network.services import NetworkError

WARN_BEFORE = dt.timedelta(days=30)


def save_professional(p: Professional, *, actor, sites=None, populations=None) -> Professional:
    if not p.area_id:
        raise NetworkError(_("请选择所属区划"), "area")
    if p.kind not in ProfessionalKind.values:
        raise NetworkError(_("请选择人员类别"), "kind")
    created = p.pk is None
    with transaction.atomic():
        p.save()
        if sites is not None:
            p.sites.set(sites)
        if populations is not None:
            p.populations.set(populations)
        audit.record(
            "network.professional.create" if created else "network.professional.update",
            p,
            actor=actor,
            changed_fields=["name", "kind", "area", "sites"],
        )
    return p


def add_certificate(
    p: Professional, *, actor, today: dt.date | None = None, **fields
) -> Certificate:
    today = today or timezone.localdate()
    for name in ("name", "number", "issuer"):
        if not (fields.get(name) or "").strip():
            raise NetworkError(_("证书名称、编号和发证机构都要填写"), name)
    expires = fields.get("expires_on")
    if expires is not None and expires < today:
        raise NetworkError(
            _("证书已于%(date)s过期，不能登记为有效资质；请登记换发后的新证书")
            % {"date": expires.isoformat()},
            "expires_on",
        )
    issued = fields.get("issued_on")
    if issued and expires and expires <= issued:
        raise NetworkError(_("有效期应晚于发证日期"), "expires_on")
    try:
        with transaction.atomic():
            cert = Certificate.objects.create(professional=p, **fields)
            audit.record("network.certificate.add", p, actor=actor, changed_fields=["certificates"])
    except IntegrityError:
        raise NetworkError(_("该发证机构的这个证书编号已登记过"), "number") from None
    return cert


def search(prefixes: list[str], *, query: str = "", kind: str = "", specialty: str = ""):
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(area__code__startswith=prefix)
    qs = Professional.objects.filter(q).select_related("area")
    if query:
        qs = qs.filter(Q(name__contains=query) | Q(specialties__contains=query))
    if kind:
        qs = qs.filter(kind=kind)
    if specialty:
        qs = qs.filter(specialties__contains=specialty)
    return qs.order_by("area_id", "name")


def record_of(p: Professional) -> dict:
    """What the platform itself recorded: trainings attended (and hours), sessions delivered,
    hotline calls answered."""
    attended = p.enrolments.filter(attended_at__isnull=False).select_related("session__course")
    hours = attended.aggregate(h=Sum("session__hours"))["h"] or 0
    sessions = calls = 0
    recent_sessions = []
    if p.user_id:
        appointment = apps.get_model("booking", "Appointment")
        done = appointment.objects.filter(counsellor_id=p.user_id, status="completed")
        sessions = done.count()
        recent_sessions = list(done.select_related("site").order_by("-starts_at")[:10])
        if apps.is_installed("xinan.crisis"):
            calls = (
                apps.get_model("crisis", "HotlineCall")
                .objects.filter(counsellor_id=p.user_id)
                .count()
            )
    return {
        "attended": list(attended.order_by("-session__starts_at")[:50]),
        "hours": hours,
        "sessions": sessions,
        "recent_sessions": recent_sessions,
        "calls": calls,
    }


EXPORT_HEADER = [
    "姓名",
    "类别",
    "区划",
    "工作单位",
    "擅长领域",
    "语言",
    "服务站点",
    "证书",
    "证书有效期",
]


def export_xlsx(qs) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("人才库"))
    ws.append(EXPORT_HEADER)
    for p in qs.prefetch_related("sites", "certificates").select_related("institution"):
        certs = list(p.certificates.all())
        ws.append(
            [
                safe_cell(v)
                for v in (
                    p.name,
                    p.get_kind_display(),
                    p.area.name,
                    p.institution.name if p.institution else "",
                    p.specialties,
                    p.languages,
                    "、".join(s.name for s in p.sites.all()),
                    "；".join(f"{c.name} {c.number}" for c in certs),
                    "；".join(c.expires_on.isoformat() for c in certs if c.expires_on),
                )
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def warn_expiring(today: dt.date, *, emit) -> int:
    """Claim certificates lapsing within 30 days that were not yet warned about (a
    conditional UPDATE per row) and announce each through `emit`."""
    warned = 0
    due = Certificate.objects.filter(
        warned_at__isnull=True, expires_on__isnull=False, expires_on__lte=today + WARN_BEFORE
    ).select_related("professional")[:500]
    now = timezone.now()
    for cert in due:
        with transaction.atomic():
            if Certificate.objects.filter(pk=cert.pk, warned_at__isnull=True).update(warned_at=now):
                emit(cert)
                warned += 1
    return warned
