"""Overdue SMD work reaches the town's admins as an escalation task on their 我的待办."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.cases.models import Task, TaskKind
from xinan.cases.services import worklist
from xinan.core import worker
from xinan.core.events import Event
from xinan.core.models import OutboxEvent
from xinan.smd import consumers, services, sweeps
from xinan.smd.tests.conftest import late_report, visit
from xinan.testing import factories

pytestmark = pytest.mark.django_db


def deliver(topic: str) -> None:
    for row in OutboxEvent.objects.filter(topic=topic):
        consumers.escalate_to_area_admin(Event(id=row.pk, topic=row.topic, payload=row.payload))


def test_it_gives_the_town_admin_one_task_for_an_overdue_follow_up(
    client, doctor, patient_a, town_admin, areas
):
    other_admin = factories.staff("area_admin", area=areas["town_b"], username="admin_b")
    visit(patient_a, doctor, dt.date(2026, 1, 5), risk_level=3)  # due 2026-01-19: long past
    assert sweeps.escalate_overdue_follow_ups(timezone.now()) == 1
    deliver("smd.follow_up.overdue")
    deliver("smd.follow_up.overdue")  # redelivered: still one task

    task = Task.objects.get(kind=TaskKind.ESCALATION, person=patient_a.person)
    assert task.title == "严重精神障碍患者随访逾期：张三 应随访 2026-01-19"
    assert list(worklist(town_admin)) == [task]
    assert list(worklist(other_admin)) == []

    client.force_login(town_admin)
    page = client.get(reverse("workbench")).content.decode()
    assert "严重精神障碍患者随访逾期：张三 应随访 2026-01-19" in page
    assert task.link == reverse("smd:worklist") and f'href="{task.link}"' in page
    # The link opens for the admin, and lists the patient (the flag list: no clinical record).
    assert "张三" in client.get(task.link).content.decode()
    client.force_login(other_admin)
    assert "随访逾期" not in client.get(reverse("workbench")).content.decode()


def test_it_escalates_through_the_worker(doctor, patient_a, town_admin):
    visit(patient_a, doctor, dt.date(2026, 1, 5), risk_level=3)
    worker.run_once("w")  # the sweep claims it and writes the event
    worker.run_once("w")  # the event is delivered
    worker.run_once("w")
    assert [t.title for t in worklist(town_admin)] == [
        "严重精神障碍患者随访逾期：张三 应随访 2026-01-19"
    ]


def test_it_escalates_an_emergency_record_and_a_report(
    psychiatrist, doctor, patient_a, person_b, town_admin, areas
):
    other_admin = factories.staff("area_admin", area=areas["town_b"], username="admin_b")
    services.record_emergency(
        patient=patient_a,
        values={"occurred_at": timezone.now() - dt.timedelta(hours=30), "triggers": ["relapse"],
                "risk_level": 2, "involved": ["family"], "disposals": ["onsite"]},
        actor=doctor,
    )  # fmt: skip
    late_report(person_b, psychiatrist, areas)
    sweeps.escalate_emergency_records(timezone.now())
    sweeps.escalate_unregistered_reports(timezone.now())
    for _ in range(2):
        deliver("smd.emergency.record_overdue")
        deliver("smd.report.overdue")

    [mine] = worklist(town_admin)
    assert mine.title.startswith("严重精神障碍应急处置记录单逾期：张三 应于 ")
    assert mine.link == reverse("smd:worklist")
    [theirs] = worklist(other_admin)
    assert theirs.title.startswith("严重精神障碍新诊断报告逾期未建档：李四 应于 ")
    assert theirs.link == ""  # the report queue is the doctors'; the admin sees no link
