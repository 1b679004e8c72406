"""One timeline of a person: everything the viewer may see, newest first, each item linked."""

import datetime as dt
import functools
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.cases.services.care import instrument_label
from xinan.cases.tables import pk_url
from xinan.core import scope

LIMIT = 500


@functools.cache
def case_url(case_id: int) -> str:
    return reverse("cases:detail", args=[case_id])


def _labels(choices) -> dict[str, str]:
    """Choice labels translated once per timeline, not once per item."""
    return {value: str(label) for value, label in choices}


@dataclass
class Item:
    at: dt.datetime
    kind: (
        str  # a CSS hook: assessment, alert, call, case, task, session, referral, follow_up, grant
    )
    label: str
    text: str
    url: str = ""

    @property
    def when(self) -> str:
        return timezone.localtime(self.at).strftime("%Y-%m-%d %H:%M")


def _assessments(user, person, detail) -> list[Item]:
    from xinan.screening.models import Assessment

    rows = scope.filter_related(user, Assessment.objects.filter(person=person)).values_list(
        "pk", "submitted_at", "instrument", "total", "band_label", "positive"
    )[:LIMIT]
    items = []
    label, points, positive_text = _("测评"), _("分"), " · " + _("阳性")
    url = pk_url("screening:assessment")
    for pk, at, instrument, total, band, positive in rows:
        if detail >= scope.Detail.SCORES:
            text = f"{instrument.upper()} {total:g}{points} {band}" if total is not None else band
            if positive:
                text += positive_text
        else:
            text = instrument.upper()
        items.append(Item(at, "assessment", label, text, url(pk)))
    return items


def _crisis(user, person, detail) -> list[Item]:
    from xinan.crisis.models import Alert, CallRisk, CallTopic, HotlineCall, Level, Status

    items = []
    crisis_staff = "crisis_worker" in user.roles()
    levels, states = _labels(Level.choices), _labels(Status.choices)
    alert_url, alert_label = pk_url("crisis:alert"), _("危机预警")
    alerts = Alert.objects.filter(person=person).values_list("pk", "raised_at", "level", "status")
    for pk, raised, level, state in alerts[:LIMIT]:
        url = alert_url(pk) if crisis_staff else ""
        items.append(Item(raised, "alert", alert_label, f"{levels[level]} · {states[state]}", url))
    topics, risks = _labels(CallTopic.choices), _labels(CallRisk.choices)
    calls = HotlineCall.objects.filter(person=person).values_list("received_at", "topic", "risk")
    # What a call was about (自杀自伤, say) is for those who see crisis details, as on the
    # person's crisis section (crisis_tags.person_crisis); others see that it happened and its risk.
    topic_shown = scope.detail_for(user, person, domain="crisis") >= scope.Detail.SCORES
    for received, topic, risk in calls[:LIMIT]:
        risk_text = f"{_('风险')}{risks[risk]}"
        text = f"{topics[topic]} · {risk_text}" if topic_shown else risk_text
        items.append(Item(received, "call", _("热线来电"), text))
    return items


def _loop(person, detail) -> list[Item]:
    from xinan.cases.models import (
        CaseEvent,
        CaseEventKind,
        Direction,
        FollowUp,
        FollowUpStatus,
        Intervention,
        InterventionKind,
        Referral,
        ReferralStatus,
        ServiceLine,
        Stage,
        Task,
        TaskStatus,
    )

    items = []
    events = CaseEvent.objects.filter(case__person=person).values_list(
        "case_id", "at", "kind", "to_stage", "note", "case__line"
    )[:LIMIT]
    event_kinds, lines = _labels(CaseEventKind.choices), _labels(ServiceLine.choices)
    moved = {stage: _("转入“%(stage)s”") % {"stage": label} for stage, label in Stage.choices}
    for case_id, at, kind, to_stage, note, line in events:
        text = event_kinds[kind]
        if to_stage:
            text = moved[to_stage]
        if note:
            text += f"：{note}"
        items.append(Item(at, "case", lines[line], text, case_url(case_id)))
    tasks = Task.objects.filter(person=person).values_list(
        "case_id", "title", "status", "created_at", "done_at"
    )[:LIMIT]
    status, task_label = _labels(TaskStatus.choices), _("任务")
    for case_id, title, state, created, done in tasks:
        url = case_url(case_id) if case_id else ""
        items.append(Item(done or created, "task", task_label, f"{title} · {status[state]}", url))
    # Values, not instances: the encrypted notes and reasons are not decrypted for a list.
    kinds, minutes_text, session_label = _labels(InterventionKind.choices), _("分钟"), _("干预")
    sessions = Intervention.objects.filter(case__person=person).values_list(
        "case_id", "started_at", "kind", "minutes"
    )[:LIMIT]
    for case_id, started, kind, minutes in sessions:
        url = case_url(case_id)
        text = f"{kinds[kind]} {minutes}{minutes_text}"
        items.append(Item(started, "session", session_label, text, url))
    directions, states = _labels(Direction.choices), _labels(ReferralStatus.choices)
    referral_label, referral_url = _("转介"), pk_url("cases:referral")
    referrals = Referral.objects.filter(person=person).values_list(
        "pk", "sent_at", "direction", "to_institution__name", "status"
    )[:LIMIT]
    for pk, sent, direction, to, state in referrals:
        text = f"{directions[direction]} → {to} · {states[state]}"
        items.append(Item(sent, "referral", referral_label, text, referral_url(pk)))
    follow_states, follow_label = _labels(FollowUpStatus.choices), _("随访复评")
    follow_ups = (
        FollowUp.objects.filter(person=person)
        .exclude(status="scheduled")
        .values_list("done_at", "due_at", "instrument", "status")[:LIMIT]
    )
    for done, due, instrument, state in follow_ups:
        text = f"{instrument_label(instrument)} · {follow_states[state]}"
        items.append(Item(done or due, "follow_up", follow_label, text))
    return items


def _grants(person) -> list[Item]:
    from xinan.core.models import AccessGrant

    return [
        Item(g.created_at, "grant", g.get_kind_display(), f"{g.grantee} · {g.reason[:40]}")
        for g in AccessGrant.objects.filter(person=person).select_related(
            "to_user", "to_institution"
        )[:LIMIT]
    ]


def for_person(user, person, *, limit: int = LIMIT) -> list[Item]:
    detail = scope.detail_for(user, person)
    if detail == scope.Detail.NONE:
        return []
    items = [
        *_assessments(user, person, detail),
        *_crisis(user, person, detail),
        *_loop(person, detail),
        *_grants(person),
    ]
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]
