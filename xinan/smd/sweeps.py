"""Escalation of overdue SMD work: follow-ups, emergency record forms, new-diagnosis reports.

Each sweep claims an overdue row with a conditional UPDATE (`escalated_at IS NULL`), so two
workers never both escalate it, and emits one `smd.*.overdue` event per claim.
"""

import datetime as dt
from dataclasses import asdict

from django.db import transaction

from xinan.core import outbox
from xinan.core.schedule import periodic
from xinan.smd import topics
from xinan.smd.models import DiagnosisReport, Emergency, Patient, PatientStatus, ReportStatus

BATCH = 500


def _claim(overdue, now, topic: str, payload) -> int:
    done = 0
    for row in list(overdue.order_by("due_at")[:BATCH]):
        with transaction.atomic():
            won = (
                type(row)
                .objects.filter(pk=row.pk, escalated_at__isnull=True)
                .update(escalated_at=now)
            )
            if won:
                outbox.emit(topic, asdict(payload(row)))
                done += 1
    return done


@periodic("smd.escalate_overdue_follow_ups", every=dt.timedelta(minutes=15))
def escalate_overdue_follow_ups(now: dt.datetime) -> int:
    overdue = Patient.objects.filter(
        status=PatientStatus.ACTIVE, due_at__lt=now, escalated_at__isnull=True
    ).select_related("person")
    return _claim(
        overdue, now, topics.FOLLOW_UP_OVERDUE,
        lambda p: topics.Overdue(
            "follow_up", p.pk, p.pk, p.person.home_area_id, p.due_at.isoformat()),
    )  # fmt: skip


@periodic("smd.escalate_emergency_records", every=dt.timedelta(minutes=5))
def escalate_emergency_records(now: dt.datetime) -> int:
    overdue = Emergency.objects.filter(
        completed_at__isnull=True, due_at__lt=now, escalated_at__isnull=True
    ).select_related("patient__person")
    return _claim(
        overdue, now, topics.EMERGENCY_RECORD_OVERDUE,
        lambda e: topics.Overdue(
            "emergency_record", e.pk, e.patient_id, e.patient.person.home_area_id,
            e.due_at.isoformat()),
    )  # fmt: skip


@periodic("smd.escalate_unregistered_reports", every=dt.timedelta(hours=1))
def escalate_unregistered_reports(now: dt.datetime) -> int:
    overdue = DiagnosisReport.objects.filter(
        status=ReportStatus.PENDING, due_at__lt=now, escalated_at__isnull=True
    ).select_related("person")
    return _claim(
        overdue, now, topics.REPORT_OVERDUE,
        lambda r: topics.Overdue("report", r.pk, None, r.person.home_area_id, r.due_at.isoformat()),
    )  # fmt: skip
