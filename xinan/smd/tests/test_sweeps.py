import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.core.models import OutboxEvent
from xinan.smd import services, sweeps
from xinan.smd.tests.conftest import late_report, visit

pytestmark = pytest.mark.django_db


def test_it_escalates_an_overdue_follow_up_once(doctor, patient_a):
    visit(patient_a, doctor, dt.date(2026, 1, 5), risk_level=3)  # due 2026-01-19: long past
    now = timezone.now()
    assert sweeps.escalate_overdue_follow_ups(now) == 1
    assert sweeps.escalate_overdue_follow_ups(now) == 0
    event = OutboxEvent.objects.get(topic="smd.follow_up.overdue")
    assert event.payload["patient_id"] == patient_a.pk and event.payload["kind"] == "follow_up"
    # The next follow-up clears the escalation; the new due date is not yet overdue.
    visit(patient_a, doctor, timezone.localdate())
    assert sweeps.escalate_overdue_follow_ups(timezone.now()) == 0


def test_it_escalates_an_emergency_record_not_completed_in_24_hours(client, doctor, patient_a):
    occurred = timezone.now() - dt.timedelta(hours=30)
    e = services.record_emergency(
        patient=patient_a,
        values={"occurred_at": occurred, "triggers": ["relapse"], "risk_level": 2,
                "involved": ["family"], "disposals": ["onsite"]},
        actor=doctor,
    )  # fmt: skip
    assert sweeps.escalate_emergency_records(timezone.now()) == 1
    assert OutboxEvent.objects.filter(topic="smd.emergency.record_overdue").count() == 1
    client.force_login(doctor)
    client.post(reverse("smd:emergency_complete", args=[e.pk]), {"description": "劝说后服药"})
    e.refresh_from_db()
    assert e.completed_at is not None and e.completed_late
    page = client.get(reverse("smd:patient", args=[patient_a.pk])).content.decode()
    assert "（超过24小时）" in page


def test_it_escalates_a_report_not_registered_in_time(psychiatrist, person_a, areas):
    late_report(person_a, psychiatrist, areas)
    assert sweeps.escalate_unregistered_reports(timezone.now()) == 1
    assert sweeps.escalate_unregistered_reports(timezone.now()) == 0
