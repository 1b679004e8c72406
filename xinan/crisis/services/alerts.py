"""Alerts: raising one (or adding to the open one), and working it — acknowledge, contact,
risk, disposition, close, never reopen."""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, outbox
from xinan.core.models import OutboxEvent
from xinan.crisis import routing, rules
from xinan.crisis.models import (
    LEVEL_RANK,
    Alert,
    AlertEvent,
    AlertRule,
    ContactOutcome,
    Disposition,
    EventKind,
    Level,
    Source,
    Status,
    Trigger,
    ack_minutes,
)
from xinan.crisis.services import callbacks
from xinan.crisis.services.common import (
    CrisisError,
    _alert_payload,
    _event,
    _locked,
    _now,
    _refuse_if_closed,
)
from xinan.people.models import Person

# Raising ------------------------------------------------------------------------------------


def raise_alert(
    *,
    actor,
    subject_key: str,
    trigger_key: str,
    trigger: str,
    source: str,
    level: str,
    summary: str,
    area_code: str = "",
    person: Person | None = None,
    assessment_id: int | None = None,
    source_key: str = "",
    data: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> tuple[Alert, bool]:
    """Open an alert, or add to the open one for the same subject and trigger.

    Returns (alert, created). Processing the same input twice (same `source_key`) changes
    nothing the second time.
    """
    if level not in LEVEL_RANK:
        raise CrisisError(_("预警级别无效"))
    now = _now(now)
    # No savepoint of its own: every caller lets an error roll back its whole transaction, and
    # under a flood the two round trips per alert add up. The inner block keeps its savepoint.
    with transaction.atomic(savepoint=False):
        if source_key:
            seen = AlertEvent.objects.filter(source=source_key).select_related("alert").first()
            if seen is not None:
                return seen.alert, False
        existing = (
            Alert.objects.select_for_update()
            .filter(subject_key=subject_key, trigger_key=trigger_key)
            .active()
            .first()
        )
        if existing is None:
            try:
                with transaction.atomic():
                    alert = _create_alert(
                        actor=actor,
                        subject_key=subject_key,
                        trigger_key=trigger_key,
                        trigger=trigger,
                        source=source,
                        level=level,
                        summary=summary,
                        area_code=area_code,
                        person=person,
                        assessment_id=assessment_id,
                        source_key=source_key,
                        data=data,
                        now=now,
                    )
                return alert, True
            except IntegrityError:
                # Another worker opened it a moment ago (PostgreSQL): add to theirs.
                existing = (
                    Alert.objects.select_for_update()
                    .filter(subject_key=subject_key, trigger_key=trigger_key)
                    .active()
                    .get()
                )
        _repeat(
            existing,
            actor=actor,
            level=level,
            summary=summary,
            source_key=source_key,
            data=data,
            now=now,
        )
        return existing, False


def _create_alert(
    *,
    actor,
    subject_key,
    trigger_key,
    trigger,
    source,
    level,
    summary,
    area_code,
    person,
    assessment_id,
    source_key,
    data,
    now,
) -> Alert:
    chain = routing.chain(area_code, now)
    first = chain[0] if chain else None
    alert = Alert.objects.create(
        subject_key=subject_key,
        trigger_key=trigger_key,
        trigger=trigger,
        source=source,
        person=person,
        assessment_id=assessment_id,
        area_code=area_code,
        level=level,
        summary=summary[:300],
        raised_at=now,
        ack_deadline=now + dt.timedelta(minutes=ack_minutes(level)),
        assigned_to_id=first.user_id if first else None,
        tried_user_ids=[first.user_id] if first else [],
        via_fallback=bool(first and first.fallback),
        # nobody to offer it to: the sweep hands it to the first person who comes on duty
        exhausted=first is None,
    )
    if first is None:
        note = _("当前无人值班，也没有后备负责人；有人上班后立即转交")
    elif first.fallback:
        note = _("当前无人值班，已转交后备负责人")
    else:
        note = ""
    _event(
        alert,
        EventKind.RAISED,
        actor=actor,
        target=first.user_id if first else None,
        note=note,
        data={
            **(data or {}),
            "routed_area": first.area_code if first else "",
            "fallback": bool(first and first.fallback),
        },
        source=source_key,
    )
    # the audit log (read by sysadmins) names the summary, never its text (encrypted on the alert)
    audit.record("crisis.alert.raise", alert, actor=actor, changed_fields=["summary"])
    outbox.emit("alert.raised", _alert_payload(alert))
    return alert


def _repeat(alert: Alert, *, actor, level, summary, source_key, data, now) -> None:
    alert.repeats += 1
    fields = ["repeats"]
    if LEVEL_RANK[Level(level)] > LEVEL_RANK[Level(alert.level)]:
        alert.level = level
        fields.append("level")
        if alert.status == Status.OPEN:
            alert.ack_deadline = min(
                alert.ack_deadline, now + dt.timedelta(minutes=ack_minutes(level))
            )
            fields.append("ack_deadline")
    alert.save(update_fields=fields)
    _event(alert, EventKind.REPEATED, actor=actor, note=summary, data=data, source=source_key)
    audit.record("crisis.alert.repeat", alert, actor=actor, changed_fields=["summary"])


def process_assessment_event(
    event: OutboxEvent, active_rules: list[AlertRule] | None = None
) -> Alert | None:
    """Apply the rules to one `assessment.scored` payload; idempotent per assessment.

    `active_rules` lets a consumer pass the rules it loaded once for a whole batch.
    """
    payload = event.payload or {}
    if active_rules is None:
        active_rules = list(AlertRule.objects.filter(active=True))
    matches = rules.evaluate(payload, active_rules)
    top = rules.strongest(matches)
    if top is None:
        return None
    person = None
    if payload.get("person_id"):
        # Only what raising reads (the key, the home area): nothing encrypted is decrypted.
        person = Person.objects.filter(pk=payload["person_id"]).only("id", "home_area_id").first()
    assessment_id = payload.get("assessment_id")
    if person is not None:
        subject_key = f"person:{person.pk}"
        area_code = person.home_area_id
    else:
        subject_key = f"assessment:{assessment_id or f'event-{event.pk}'}"
        area_code = _valid_area_code(payload.get("area_code"))
    summary = "；".join(m.reason for m in matches)
    alert, _created = raise_alert(
        actor=None,
        subject_key=subject_key,
        trigger_key=top.rule_key,
        trigger=top.trigger,
        source=Source.ASSESSMENT,
        level=top.level,
        summary=summary,
        area_code=area_code,
        person=person,
        assessment_id=assessment_id,
        source_key=f"assessment:{assessment_id}" if assessment_id else f"outbox:{event.pk}",
        data={
            "assessment_id": assessment_id,
            "instrument": payload.get("instrument"),
            "total": payload.get("total"),
            "band": payload.get("band"),
            "rules": [m.rule_key for m in matches],
            "anonymous": bool(payload.get("anonymous")),
        },
    )
    return alert


def _valid_area_code(raw: Any) -> str:
    code = str(raw or "").strip()
    return code if code.isdigit() and len(code) in (12, 15) else ""


def raise_manual_alert(person: Person, *, actor, level: str, reason: str) -> Alert:
    reason = (reason or "").strip()
    if not reason:
        raise CrisisError(_("请说明发现的风险"))
    if level not in LEVEL_RANK:
        raise CrisisError(_("请选择预警级别"))
    alert, _created = raise_alert(
        actor=actor,
        subject_key=f"person:{person.pk}",
        trigger_key="manual",
        trigger=Trigger.MANUAL,
        source=Source.MANUAL,
        level=level,
        summary=reason,
        area_code=person.home_area_id,
        person=person,
    )
    return alert


# Working an alert ---------------------------------------------------------------------------


def acknowledge_alert(alert: Alert, *, actor, now: dt.datetime | None = None) -> Alert:
    now = _now(now)
    with transaction.atomic():
        locked = _locked(alert)
        _refuse_if_closed(locked)
        if locked.status == Status.ACKNOWLEDGED:
            by = locked.acknowledged_by
            when = timezone.localtime(locked.acknowledged_at).strftime("%H:%M:%S")
            raise CrisisError(
                _("该预警已由 %(who)s 于 %(when)s 确认，无需重复确认") % {"who": by, "when": when}
            )
        locked.status = Status.ACKNOWLEDGED
        locked.acknowledged_at = now
        locked.acknowledged_by = actor
        locked.assigned_to = actor
        locked.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "assigned_to"])
        _event(
            locked,
            EventKind.ACKNOWLEDGED,
            actor=actor,
            data={"seconds": int((now - locked.raised_at).total_seconds())},
        )
        audit.record("crisis.alert.acknowledge", locked, actor=actor)
        # The one who took the alert now holds its callbacks, with one deadline to make them.
        due = now + dt.timedelta(minutes=ack_minutes(locked.level))
        callbacks.follow_holder({locked.pk: actor.pk}, due_at=due)
    return locked


def _require_acknowledged(alert: Alert) -> None:
    _refuse_if_closed(alert)
    if alert.status != Status.ACKNOWLEDGED:
        raise CrisisError(_("请先确认接收该预警"))


def record_contact(alert: Alert, *, actor, outcome: str, note: str = "") -> AlertEvent:
    if outcome not in ContactOutcome.values:
        raise CrisisError(_("请选择联系结果"))
    with transaction.atomic():
        locked = _locked(alert)
        _require_acknowledged(locked)
        event = _event(
            locked,
            EventKind.CONTACT,
            actor=actor,
            note=note,
            data={"outcome": outcome, "label": str(ContactOutcome(outcome).label)},
        )
        audit.record("crisis.alert.contact", locked, actor=actor, changed_fields=["contact"])
        if outcome in (ContactOutcome.REACHED, ContactOutcome.VISITED):
            # Reaching the person answers their callback request too.
            for task in locked.callbacks.pending().select_related("task"):
                callbacks.complete(task, actor=actor, outcome=outcome, on_timeline=False)
    return event


def record_risk(alert: Alert, *, actor, level: str, note: str = "") -> Alert:
    if level not in LEVEL_RANK:
        raise CrisisError(_("请选择评估的风险级别"))
    with transaction.atomic():
        locked = _locked(alert)
        _require_acknowledged(locked)
        locked.risk_level = level
        locked.save(update_fields=["risk_level"])
        _event(
            locked,
            EventKind.RISK,
            actor=actor,
            note=note,
            data={"level": level, "label": str(Level(level).label)},
        )
        audit.record("crisis.alert.risk", locked, actor=actor, changed_fields=["risk_level"])
    return locked


def record_disposition(alert: Alert, *, actor, disposition: str, note: str = "") -> Alert:
    if disposition not in Disposition.values:
        raise CrisisError(_("请选择处置结果"))
    with transaction.atomic():
        locked = _locked(alert)
        _require_acknowledged(locked)
        locked.disposition = disposition
        locked.save(update_fields=["disposition"])
        _event(
            locked,
            EventKind.DISPOSITION,
            actor=actor,
            note=note,
            data={"disposition": disposition, "label": str(Disposition(disposition).label)},
        )
        audit.record(
            "crisis.alert.disposition", locked, actor=actor, changed_fields=["disposition"]
        )
    return locked


def close_alert(alert: Alert, *, actor, reason: str, now: dt.datetime | None = None) -> Alert:
    reason = (reason or "").strip()
    now = _now(now)
    with transaction.atomic():
        locked = _locked(alert)
        if locked.status == Status.CLOSED:
            raise CrisisError(_("该预警已关闭"))
        if not reason:
            raise CrisisError(_("请填写关闭理由"))
        if locked.level == Level.RED and not locked.disposition:
            raise CrisisError(_("红色预警必须先记录处置结果才能关闭"))
        locked.status = Status.CLOSED
        locked.closed_at = now
        locked.closed_by = actor
        locked.close_reason = reason
        locked.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
        _event(locked, EventKind.CLOSED, actor=actor, note=reason)
        audit.record("crisis.alert.close", locked, actor=actor, changed_fields=["close_reason"])
        # No reason in the payload: free text about the person stays encrypted on the alert.
        outbox.emit("alert.closed", _alert_payload(locked, disposition=locked.disposition))
    return locked


def reopen_alert(alert: Alert, *, actor) -> None:
    """Closed alerts stay closed: the attempt is recorded and refused with the way forward."""
    with transaction.atomic():
        locked = _locked(alert)
        if locked.status != Status.CLOSED:
            raise CrisisError(_("该预警尚未关闭"))
        _event(locked, EventKind.REOPEN_REFUSED, actor=actor)
        audit.record("crisis.alert.reopen_refused", locked, actor=actor)
    raise CrisisError(_("已关闭的预警不能重新打开；如有新的风险，请新建人工预警"))


def mark_delivered(alert_ids: list[int], *, user) -> None:
    """The first time an alert reaches its assignee's open page, say so on its timeline."""
    if not alert_ids:
        return
    with transaction.atomic():
        done = set(
            AlertEvent.objects.filter(
                alert_id__in=alert_ids, kind=EventKind.DELIVERED, target=user
            ).values_list("alert_id", flat=True)
        )
        now = timezone.now()
        AlertEvent.objects.bulk_create(
            AlertEvent(alert_id=pk, kind=EventKind.DELIVERED, target=user, at=now)
            for pk in dict.fromkeys(alert_ids)
            if pk not in done
        )
