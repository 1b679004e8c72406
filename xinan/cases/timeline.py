"""One timeline of a person: everything the viewer may see, newest first, each item linked."""

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from xinan.cases.services.care import instrument_label
from xinan.core import scope

LIMIT = 500


@dataclass
class Item:
    at: dt.datetime
    kind: (
        str  # a CSS hook: assessment, alert, call, case, task, session, referral, follow_up, grant
    )
    label: str
    text: str
    url: str = ""


def _assessments(user, person, detail) -> list[Item]:
    from xinan.screening.models import Assessment

    rows = scope.filter_related(user, Assessment.objects.filter(person=person)).values_list(
        "pk", "submitted_at", "instrument", "total", "band_label", "positive"
    )[:LIMIT]
    items = []
    for pk, at, instrument, total, band, positive in rows:
        if detail >= scope.Detail.SCORES:
            text = f"{instrument.upper()} {total:g}{_('分')} {band}" if total is not None else band
            if positive:
                text += " · " + _("阳性")
        else:
            text = instrument.upper()
        items.append(
            Item(at, "assessment", _("测评"), text, reverse("screening:assessment", args=[pk]))
        )
    return items


def _crisis(user, person, detail) -> list[Item]:
    from xinan.crisis.models import Alert, HotlineCall

    items = []
    crisis_staff = "crisis_worker" in user.roles()
    for a in Alert.objects.filter(person=person)[:LIMIT]:
        url = reverse("crisis:alert", args=[a.pk]) if crisis_staff else ""
        items.append(
            Item(
                a.raised_at,
                "alert",
                _("危机预警"),
                f"{a.get_level_display()} · {a.get_status_display()}",
                url,
            )
        )
    for c in HotlineCall.objects.filter(person=person)[:LIMIT]:
        items.append(
            Item(
                c.received_at,
                "call",
                _("热线来电"),
                f"{c.get_topic_display()} · {_('风险')}{c.get_risk_display()}",
            )
        )
    return items


def _loop(person, detail) -> list[Item]:
    from xinan.cases.models import CaseEvent, FollowUp, Intervention, Referral, Task

    items = []
    for e in CaseEvent.objects.filter(case__person=person).select_related("case")[:LIMIT]:
        text = e.get_kind_display()
        if e.to_stage:
            text = _("转入“%(stage)s”") % {"stage": e.get_to_stage_display()}
        if e.note:
            text += f"：{e.note}"
        url = reverse("cases:detail", args=[e.case_id])
        items.append(Item(e.at, "case", e.case.get_line_display(), text, url))
    for t in Task.objects.filter(person=person)[:LIMIT]:
        state = t.get_status_display()
        items.append(
            Item(
                t.done_at or t.created_at,
                "task",
                _("任务"),
                f"{t.title} · {state}",
                reverse("cases:detail", args=[t.case_id]) if t.case_id else "",
            )
        )
    for i in Intervention.objects.filter(case__person=person)[:LIMIT]:
        items.append(
            Item(
                i.started_at,
                "session",
                _("干预"),
                f"{i.get_kind_display()} {i.minutes}{_('分钟')}",
                reverse("cases:detail", args=[i.case_id]),
            )
        )
    for r in Referral.objects.filter(person=person).select_related("to_institution")[:LIMIT]:
        items.append(
            Item(
                r.sent_at,
                "referral",
                _("转介"),
                f"{r.get_direction_display()} → {r.to_institution.name} · {r.get_status_display()}",
                reverse("cases:referral", args=[r.pk]),
            )
        )
    for f in FollowUp.objects.filter(person=person).exclude(status="scheduled")[:LIMIT]:
        items.append(
            Item(
                f.done_at or f.due_at,
                "follow_up",
                _("随访复评"),
                f"{instrument_label(f.instrument)} · {f.get_status_display()}",
            )
        )
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
