"""Trainings: sessions, enrolment, QR check-in with a signed link, hours per person, course
certificates, and person-times by area, role and period."""

import datetime as dt
from collections import Counter
from decimal import Decimal

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit
from xinan.core.lib import areacode
from xinan.network.models import (
    Enrolment,
    Professional,
    TrainingCertificate,
    TrainingSession,
)
from xinan.network.services import NetworkError

SALT = "network.training.checkin"
CHECKIN_EARLY = dt.timedelta(hours=1)
CHECKIN_LATE = dt.timedelta(hours=2)


def save_session(session: TrainingSession, *, actor) -> TrainingSession:
    if session.ends_at <= session.starts_at:
        raise NetworkError(_("结束时间应晚于开始时间"), "ends_at")
    if session.hours is None or session.hours <= 0 or session.hours > 24:
        raise NetworkError(_("学时应在0到24之间"), "hours")
    if session.site_id is None and not session.online_url:
        raise NetworkError(_("请选择培训地点，或填写线上链接"), "site")
    with transaction.atomic():
        created = session.pk is None
        session.save()
        audit.record(
            "network.training.session.create" if created else "network.training.session.update",
            session.course,
            actor=actor,
            changed_fields=["sessions"],
        )
    return session


def enrol(session: TrainingSession, professional: Professional, *, actor) -> Enrolment:
    enrolment, _created = Enrolment.objects.get_or_create(
        session=session, professional=professional
    )
    return enrolment


def checkin_token(session: TrainingSession) -> str:
    return signing.dumps({"s": session.pk}, salt=SALT, compress=True)


def session_for_token(token: str) -> TrainingSession | None:
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    return TrainingSession.objects.filter(pk=data.get("s")).select_related("course").first()


def check_in(
    session: TrainingSession,
    professional: Professional,
    *,
    actor,
    method: str = "qr",
    now: dt.datetime | None = None,
) -> Enrolment:
    """Record attendance (enrolling on the spot if needed); a QR check-in only from an hour
    before the session until two hours after it ends."""
    now = now or timezone.now()
    if method == "qr" and not (
        session.starts_at - CHECKIN_EARLY <= now <= session.ends_at + CHECKIN_LATE
    ):
        raise NetworkError(_("不在签到时间内（开课前1小时至结束后2小时）"))
    with transaction.atomic():
        enrolment, _created = Enrolment.objects.select_for_update().get_or_create(
            session=session, professional=professional
        )
        if enrolment.attended_at is None:
            enrolment.attended_at, enrolment.method = now, method
            enrolment.save(update_fields=["attended_at", "method"])
            audit.record(
                "network.training.checkin", professional, actor=actor, changed_fields=["attended"]
            )
            _certify(session.course, professional, now)
    return enrolment


def _certify(course, professional, now) -> TrainingCertificate | None:
    total = course.sessions.count()
    attended = Enrolment.objects.filter(
        session__course=course, professional=professional, attended_at__isnull=False
    ).count()
    if total == 0 or attended < total:
        return None
    number = f"PX{course.pk:05d}-{professional.pk:06d}"
    try:
        with transaction.atomic():
            return TrainingCertificate.objects.create(
                course=course, professional=professional, number=number, issued_at=now
            )
    except IntegrityError:
        return None  # already certified


def hours_of(professional: Professional) -> Decimal:
    total = Decimal(0)
    for e in professional.enrolments.filter(attended_at__isnull=False).select_related("session"):
        total += e.session.hours
    return total


def person_times(prefix: str, *, start: dt.date, end: dt.date) -> dict:
    """Attendances (人次) and hours between two local dates, by town, by role and by month,
    for professionals of areas under `prefix`."""
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    until = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    rows = Enrolment.objects.filter(
        attended_at__isnull=False,
        session__starts_at__gte=since,
        session__starts_at__lt=until,
        professional__area__code__startswith=prefix,
    ).values_list(
        "professional__area_id", "professional__kind", "session__starts_at", "session__hours"
    )
    by_town, by_kind, by_month = Counter(), Counter(), Counter()
    hours = Decimal(0)
    for area_code, kind, starts_at, h in rows:
        by_town[areacode.prefix(area_code, "town")] += 1
        by_kind[kind] += 1
        by_month[timezone.localtime(starts_at).strftime("%Y-%m")] += 1
        hours += h
    return {
        "total": sum(by_kind.values()),
        "hours": hours,
        "by_town": by_town,
        "by_kind": by_kind,
        "by_month": dict(sorted(by_month.items())),
    }
