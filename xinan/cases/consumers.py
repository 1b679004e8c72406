"""Events that open or update a person's case. Each is idempotent: the cause's key (an
assessment, alert or call id) is kept on the case event it wrote, and seen twice changes nothing."""

import datetime as dt

from django.utils.translation import gettext as _

from xinan.cases.models import CaseSource, InterventionKind, Priority, Trigger
from xinan.cases.services import care
from xinan.cases.services.cases import open_case
from xinan.core.events import Event, consumer

ALERT_LEVELS = {"red", "orange"}
SAFE_WITH_PLAN = "safe_with_plan"


def _person(person_id):
    from xinan.people.models import Person

    if not person_id:
        return None
    # scope: a consumer acts for the system on the person the event names, not for a user.
    # Only what opening a case reads (the line from age and tags, the home area): the
    # encrypted fields are not decrypted for it.
    return Person.objects.filter(pk=person_id).only("id", "birth_date", "home_area_id").first()


@consumer("assessment.scored", name="cases.open_from_positive_screen")
def open_from_positive_screen(event: Event) -> None:
    p = event.payload
    if not p.get("positive") or not p.get("person_id"):
        return
    person = _person(p["person_id"])
    if person is None:
        return
    open_case(
        person,
        actor=None,
        source=CaseSource.POSITIVE_SCREEN,
        note=_("筛查阳性：%(instrument)s %(total)s分")
        % {"instrument": str(p.get("instrument", "")).upper(), "total": p.get("total")},
        source_key=f"assessment:{p['assessment_id']}",
        trigger=Trigger.POSITIVE_SCREEN,
    )


@consumer("assessment.scored", name="cases.complete_follow_up")
def complete_follow_up(event: Event) -> None:
    care.record_assessment(event.payload)


@consumer("alert.raised", name="cases.open_from_alert", lane="critical")
def open_from_alert(event: Event) -> None:
    p = event.payload
    if p.get("level") not in ALERT_LEVELS or not p.get("person_id"):
        return
    if p.get("trigger") == "hotline_high_risk":
        return  # the call.logged consumer opens it, with the call's rule
    person = _person(p["person_id"])
    if person is None:
        return
    open_case(
        person,
        actor=None,
        source=CaseSource.ALERT,
        priority=Priority.HIGH,
        note=_("危机预警（%(level)s）") % {"level": _level_label(p["level"])},
        source_key=f"alert:{p['alert_id']}",
        trigger=Trigger.ALERT_RAISED,
    )


@consumer("call.logged", name="cases.open_from_high_risk_call", lane="critical")
def open_from_high_risk_call(event: Event) -> None:
    p = event.payload
    if p.get("risk") != "high" or not p.get("person_id"):
        return
    person = _person(p["person_id"])
    if person is None:
        return
    open_case(
        person,
        actor=None,
        source=CaseSource.HOTLINE,
        priority=Priority.HIGH,
        note=_("热线高危来电"),
        source_key=f"call:{p['call_id']}",
        trigger=Trigger.HIGH_RISK_CALL,
    )


@consumer("alert.closed", name="cases.follow_up_closed_alert")
def follow_up_closed_alert(event: Event) -> None:
    """A red alert closed, or any alert closed with a safety plan: the case owes a follow-up
    contact (24 hours after a red one, by the default rules)."""
    p = event.payload
    red = p.get("level") == "red"
    if not p.get("person_id") or not (red or p.get("disposition") == SAFE_WITH_PLAN):
        return
    person = _person(p["person_id"])
    if person is None:
        return
    open_case(
        person,
        actor=None,
        source=CaseSource.ALERT_PLAN,
        priority=Priority.HIGH if red else Priority.NORMAL,
        # The close reason may be clinical: it stays encrypted on the alert, not copied here.
        note=_("预警 #%(alert)s 已关闭，需跟进") % {"alert": p["alert_id"]},
        source_key=f"alert-closed:{p['alert_id']}",
        trigger=Trigger.RED_ALERT_CLOSED if red else Trigger.ALERT_CLOSED_WITH_PLAN,
    )


@consumer("booking.session_completed", name="cases.record_booked_session")
def record_booked_session(event: Event) -> None:
    """A counselling session held through booking is an intervention in the person's case."""
    from django.contrib.auth import get_user_model

    from xinan.cases.models import Case, Intervention

    p = event.payload
    if not p.get("person_id") or not p.get("appointment_id"):
        return
    if Intervention.objects.filter(appointment_id=p["appointment_id"]).exists():
        return
    person = _person(p["person_id"])
    counsellor = get_user_model().objects.filter(pk=p.get("counsellor_user_id")).first()
    if person is None or counsellor is None:
        return
    case = Case.objects.filter(person=person).open().order_by("-opened_at").first()
    if case is None:
        case, _created = open_case(
            person,
            actor=counsellor,
            source=CaseSource.BOOKING,
            responsible=counsellor,
            note=_("预约咨询"),
            source_key=f"appointment:{p['appointment_id']}",
        )
    started = dt.datetime.fromisoformat(p["started_at"])
    ended = dt.datetime.fromisoformat(p["ended_at"]) if p.get("ended_at") else started
    from xinan.network.models import ServiceSite

    # The payload names a service site (network.ServiceSite), recorded with the institution
    # that runs it, if any. No site means the session was online (phone or video).
    service_site = (
        ServiceSite.objects.select_related("institution").filter(pk=p["site_id"]).first()
        if p.get("site_id")
        else None
    )
    care.record_intervention(
        case,
        actor=counsellor,
        kind=InterventionKind.INDIVIDUAL,
        started_at=started,
        minutes=max(1, int((ended - started).total_seconds() // 60)),
        site=service_site.institution if service_site else None,
        service_site=service_site,
        online=service_site is None,
        appointment_id=p["appointment_id"],
        from_event=True,
    )


def _level_label(level: str) -> str:
    return {"red": _("红色"), "orange": _("橙色")}.get(level, level)
