"""Overdue SMD work reaches a person: each `smd.*.overdue` event becomes an escalation task
(逾期督办) for the admins of the patient's town, on their 我的待办 (with a link to the SMD flag
list, the one SMD page an area admin may open). Idempotent: the task is keyed by the overdue
record and its due time, so a redelivered event changes nothing, and a record overdue again (a
later follow-up missed) escalates again."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.cases.services import add_escalation
from xinan.core.events import Event, consumer
from xinan.smd import topics
from xinan.smd.models import DiagnosisReport, Emergency, Patient

TITLES = {
    "follow_up": lambda: _("严重精神障碍患者随访逾期：%(name)s 应随访 %(date)s"),
    "emergency_record": lambda: _("严重精神障碍应急处置记录单逾期：%(name)s 应于 %(date)s 前完成"),
    "report": lambda: _("严重精神障碍新诊断报告逾期未建档：%(name)s 应于 %(date)s 前建档"),
}


def _person_and_link(o: topics.Overdue):
    """The person the item is about, and the page the admin can open: the SMD flag list (the
    patient and their risk; an area admin sees no clinical record, so not the patient page).
    A pending report is not on that list, and its queue is the doctors': no link."""
    if o.kind == "report":
        report = DiagnosisReport.objects.select_related("person").filter(pk=o.object_id).first()
        return (report.person if report else None), ""
    if o.kind == "follow_up":
        patient = Patient.objects.select_related("person").filter(pk=o.object_id).first()
    else:
        emergency = Emergency.objects.select_related("patient__person").filter(pk=o.object_id)
        patient = getattr(emergency.first(), "patient", None)
    if patient is None:
        return None, ""
    return patient.person, reverse("smd:worklist")


@consumer(topics.FOLLOW_UP_OVERDUE, name="smd.escalate_overdue_follow_up")
@consumer(topics.EMERGENCY_RECORD_OVERDUE, name="smd.escalate_overdue_emergency_record")
@consumer(topics.REPORT_OVERDUE, name="smd.escalate_overdue_report")
def escalate_to_area_admin(event: Event) -> None:
    o = event.data(topics.Overdue)
    if o.kind not in TITLES:
        return
    person, link = _person_and_link(o)
    if person is None:
        return
    due = dt.datetime.fromisoformat(o.due_at)
    if o.kind == "follow_up":
        due -= dt.timedelta(microseconds=1)  # due by the end of the visit date (midnight after)
    title = TITLES[o.kind]() % {
        "name": person.name,
        "date": timezone.localtime(due).strftime(
            "%Y-%m-%d %H:%M" if o.kind == "emergency_record" else "%Y-%m-%d"
        ),
    }
    add_escalation(
        person=person,
        area_code=o.area_code or person.home_area_id,
        title=title,
        source_key=f"smd:{o.kind}:{o.object_id}:{o.due_at}",
        link=link,
    )
