"""Crisis verbs. Each is one transaction with its audit row (and outbox row where others care).

Services run with system authority (the consumer has no user); views pass only objects they
obtained through the scope gate (`xinan.crisis.selectors`).
"""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, outbox
from xinan.core.lib import crypto
from xinan.core.lib import phone as phone_lib
from xinan.core.models import Area, OutboxEvent
from xinan.crisis import routing, rules
from xinan.crisis.models import (
    LEVEL_RANK,
    Alert,
    AlertEvent,
    AlertRule,
    CallbackTask,
    CallRisk,
    ContactOutcome,
    Disposition,
    EventKind,
    HotlineCall,
    Level,
    Source,
    Status,
    Trigger,
    ack_minutes,
)
from xinan.people.models import Person

ACTIONS = {
    "crisis.alert.raise": gettext_lazy("触发危机预警"),
    "crisis.alert.repeat": gettext_lazy("危机预警再次触发"),
    "crisis.alert.view": gettext_lazy("查看危机预警"),
    "crisis.alert.list": gettext_lazy("查看危机预警列表"),
    "crisis.alert.acknowledge": gettext_lazy("确认危机预警"),
    "crisis.alert.escalate": gettext_lazy("危机预警超时升级"),
    "crisis.alert.contact": gettext_lazy("记录联系尝试"),
    "crisis.alert.risk": gettext_lazy("记录风险评估"),
    "crisis.alert.disposition": gettext_lazy("记录处置结果"),
    "crisis.alert.close": gettext_lazy("关闭危机预警"),
    "crisis.alert.reopen_refused": gettext_lazy("拒绝重新打开危机预警"),
    "crisis.shift.create": gettext_lazy("新增值班班次"),
    "crisis.shift.delete": gettext_lazy("删除值班班次"),
    "crisis.call.create": gettext_lazy("记录热线来电"),
    "crisis.call.view": gettext_lazy("查看热线来电"),
    "crisis.callback.request": gettext_lazy("居民请求回电"),
    "crisis.callback.done": gettext_lazy("完成回电"),
    "crisis.callback.escalate": gettext_lazy("回电逾期升级"),
    "crisis.alert.reveal_phone": gettext_lazy("查看当事人完整号码"),
    "crisis.alert.handover": gettext_lazy("转交危机预警"),
}
for _code, _label in ACTIONS.items():
    audit.register_action(_code, _label)

# Defaults for triggers that do not come from a rule matched on an assessment.
DEFAULT_TRIGGER_LEVEL = {
    Trigger.HOTLINE_HIGH_RISK: Level.RED,
    Trigger.CALLBACK_REQUEST: Level.ORANGE,
}


class CrisisError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _event(alert: Alert, kind: str, *, actor=None, target=None, note="", data=None, source=""):
    return AlertEvent.objects.create(
        alert=alert,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        target_id=getattr(target, "pk", target),
        note=note,
        data=data or {},
        source=source,
        at=timezone.now(),
    )


def _alert_payload(alert: Alert, **extra: Any) -> dict[str, Any]:
    return {
        "alert_id": alert.pk,
        "level": alert.level,
        "trigger": alert.trigger,
        "area_code": alert.area_code,
        "person_id": alert.person_id,
        "assigned_to": alert.assigned_to_id,
        **extra,
    }


def rule_level(trigger: str) -> str:
    rule = AlertRule.objects.filter(trigger=trigger, active=True).exclude(level="").first()
    return rule.level if rule else DEFAULT_TRIGGER_LEVEL.get(trigger, Level.ORANGE)


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
        person = Person.objects.filter(pk=payload["person_id"]).first()
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


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert.pk)


def _refuse_if_closed(alert: Alert) -> None:
    if alert.status == Status.CLOSED:
        raise CrisisError(_("该预警已关闭，不能再修改；如有新的风险，请新建预警"))


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
        for task in locked.callbacks.pending().select_for_update():
            task.assigned_to = actor
            task.due_at = max(task.due_at, due)
            task.save(update_fields=["assigned_to", "due_at"])
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
            for task in locked.callbacks.pending().select_for_update():
                _complete(task, actor=actor, outcome=outcome)
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


# Escalation ---------------------------------------------------------------------------------


ESCALATE_BATCH = 100  # alerts per transaction: short, so new alerts' writes never wait long


def escalate_overdue(
    now: dt.datetime | None = None, *, budget_seconds: float = 50.0
) -> list[Alert]:
    """Hand each alert whose acknowledgement deadline passed to the next person on duty, a
    batch per transaction (claimed with SELECT … FOR UPDATE SKIP LOCKED, re-checked by the
    overdue filter itself) until none is left or the budget is spent (the next sweep goes on).
    An alert with nobody left is marked exhausted once (one event, audit row and outbox row)
    and waits for `reoffer_exhausted`, not for its next deadline."""
    import time

    now = _now(now)
    started = time.monotonic()
    escalated: list[Alert] = []
    chains: dict[str, list] = {}  # area code -> who is on duty there now, for this sweep
    while time.monotonic() - started < budget_seconds:
        with transaction.atomic():
            batch = list(
                Alert.objects.overdue(now)
                .order_by("ack_deadline")
                .defer("summary", "close_reason")
                .select_for_update(skip_locked=True)[:ESCALATE_BATCH]
            )
            if not batch:
                break
            _escalate_many(batch, now, chains)
        escalated += batch
    return escalated


def reoffer_exhausted(now: dt.datetime | None = None) -> list[Alert]:
    """Offer each open alert that nobody on duty holds — exhausted, or held by the fallback
    because nobody was on duty — to someone on duty now who has not had it yet: as soon as a
    shift begins, not at a deadline. Who is on duty is read once per area code."""
    now = _now(now)
    offered: list[Alert] = []
    chains: dict[str, list] = {}
    candidates = Alert.objects.waiting_for_duty()
    rows = candidates.values_list("pk", "area_code", "tried_user_ids", "via_fallback")
    for pk, code, tried, via_fallback in rows:
        chain = _chain(chains, code, now)
        untried = [d for d in chain if d.user_id not in set(tried or [])]
        # A fallback keeps what it holds until a person on shift can take it over.
        if not untried or (via_fallback and all(d.fallback for d in untried)):
            continue
        with transaction.atomic():
            alert = Alert.objects.select_for_update().filter(pk=pk).first()
            if alert is None or not alert.waiting_for_duty:
                continue
            _escalate(alert, now, chains)
            offered.append(alert)
    return offered


def _chain(chains: dict[str, list], area_code: str, now: dt.datetime) -> list:
    if area_code not in chains:
        chains[area_code] = routing.chain(area_code, now)  # on duty, then the fallback
    return chains[area_code]


def _escalate(alert: Alert, now: dt.datetime, chains: dict[str, list] | None = None) -> None:
    _escalate_many([alert], now, {} if chains is None else chains)


def _escalate_many(alerts: list[Alert], now: dt.datetime, chains: dict[str, list]) -> None:
    """Each alert to the next person on duty it has not had (or exhausted), written for the
    whole batch at once: one UPDATE, one INSERT of timeline events, one of audit rows, one of
    `alert.escalated` events (in their consumers' own lanes)."""
    steps, audits, payloads = [], [], []
    for alert in alerts:
        tried = set(alert.tried_user_ids)
        nxt = next(
            (d for d in _chain(chains, alert.area_code, now) if d.user_id not in tried), None
        )
        alert.ack_deadline = now + dt.timedelta(minutes=ack_minutes(alert.level))
        previous = alert.assigned_to_id
        if nxt is not None:
            alert.assigned_to_id = nxt.user_id
            alert.tried_user_ids = [*alert.tried_user_ids, nxt.user_id]
            alert.escalations += 1
            alert.exhausted = False
            alert.via_fallback = nxt.fallback
            note = _("无人值班，已转交后备负责人") if nxt.fallback else ""
        else:
            alert.exhausted = True
            note = _("已无更上级值班人员可升级，请值班负责人立即处理")
        steps.append(
            AlertEvent(
                alert=alert,
                kind=EventKind.ESCALATED,
                target_id=nxt.user_id if nxt else None,
                note=note,
                data={"from": previous, "area": nxt.area_code if nxt else ""},
                at=timezone.now(),
            )
        )
        audits.append(
            {
                "action": "crisis.alert.escalate",
                "object_type": alert._meta.label_lower,
                "object_id": alert.pk,
                "area_code": alert.audit_area_code or "",
                "reason": note,
            }
        )
        payloads.append(_alert_payload(alert, previous=previous))
    Alert.objects.bulk_update(
        alerts,
        [
            "ack_deadline",
            "assigned_to",
            "tried_user_ids",
            "escalations",
            "exhausted",
            "via_fallback",
        ],
    )
    AlertEvent.objects.bulk_create(steps)
    audit.record_many(audits, actor=None)
    outbox.emit_many("alert.escalated", payloads, bulk=False)


def reassign_unassigned(alert: Alert, now: dt.datetime | None = None) -> Alert:
    """An open alert nobody holds goes to the first person on the chain now (for alerts
    raised while nobody was on duty, when a roster appears)."""
    now = _now(now)
    with transaction.atomic():
        locked = _locked(alert)
        if locked.assigned_to_id or locked.status == Status.CLOSED:
            return locked
        _escalate(locked, now)
    return locked


# Rosters ------------------------------------------------------------------------------------


def create_shift(*, actor, user, area: Area, starts_at: dt.datetime, ends_at: dt.datetime):
    from xinan.crisis.models import DutyShift

    if ends_at <= starts_at:
        raise CrisisError(_("结束时间必须晚于开始时间"))
    if "crisis_worker" not in user.roles():
        raise CrisisError(_("只能为危机干预员排班"))
    with transaction.atomic():
        clash = routing.overlapping(user, starts_at, ends_at).select_for_update().first()
        if clash is not None:
            raise CrisisError(
                _("%(who)s 在该时段已有班次（%(start)s–%(end)s），班次不能重叠")
                % {
                    "who": user,
                    "start": timezone.localtime(clash.starts_at).strftime("%m-%d %H:%M"),
                    "end": timezone.localtime(clash.ends_at).strftime("%m-%d %H:%M"),
                }
            )
        shift = DutyShift.objects.create(user=user, area=area, starts_at=starts_at, ends_at=ends_at)
        audit.record("crisis.shift.create", shift, actor=actor, area_code=area.code)
        if starts_at <= timezone.now() < ends_at:
            # on duty now: alerts nobody was left to take go to them at once
            reoffer_exhausted()
    return shift


def delete_shift(shift, *, actor) -> None:
    with transaction.atomic():
        audit.record("crisis.shift.delete", shift, actor=actor, area_code=shift.area_id)
        shift.delete()


# Hotline and callbacks ----------------------------------------------------------------------


def record_call(
    *,
    actor,
    topic: str,
    risk: str,
    received_at: dt.datetime,
    wait_seconds: int = 0,
    duration_seconds: int = 0,
    person: Person | None = None,
    area_code: str = "",
    phone: str = "",
    notes: str = "",
) -> HotlineCall:
    """Save one hotline call; a high-risk call raises an alert and a callback task."""
    if phone:
        try:
            phone = phone_lib.validate(phone)
        except phone_lib.InvalidPhone as exc:
            raise CrisisError(str(exc)) from None
    if person is not None:
        area_code = person.home_area_id
    with transaction.atomic():
        call = HotlineCall.objects.create(
            person=person,
            area_code=area_code,
            caller_phone=phone,
            caller_phone_masked=phone_lib.mask(phone) if phone else "",
            received_at=received_at,
            wait_seconds=wait_seconds,
            duration_seconds=duration_seconds,
            topic=topic,
            risk=risk,
            notes=notes,
            counsellor=actor,
        )
        audit.record("crisis.call.create", call, actor=actor)
        if risk == CallRisk.HIGH:
            alert, _created = raise_alert(
                actor=actor,
                subject_key=f"person:{person.pk}" if person else f"call:{call.pk}",
                trigger_key="hotline-high-risk",
                trigger=Trigger.HOTLINE_HIGH_RISK,
                source=Source.HOTLINE,
                level=rule_level(Trigger.HOTLINE_HIGH_RISK),
                summary=_("热线高危来电：%(topic)s") % {"topic": call.get_topic_display()},
                area_code=area_code,
                person=person,
                source_key=f"call:{call.pk}",
            )
            call.alert = alert
            call.save(update_fields=["alert"])
            # A high-risk caller is called back within the alert level's acknowledgement
            # deadline (red: minutes), not the routine callback window.
            CallbackTask.objects.create(
                area_code=area_code,
                phone=phone,
                phone_masked=call.caller_phone_masked,
                call=call,
                alert=alert,
                assigned_to_id=alert.assigned_to_id,
                due_at=timezone.now() + dt.timedelta(minutes=ack_minutes(alert.level)),
            )
        outbox.emit(
            "call.logged",
            {
                "call_id": call.pk,
                "person_id": call.person_id,
                "risk": risk,
                "topic": topic,
                "area_code": area_code,
                "alert_id": call.alert_id,
            },
        )
    return call


def request_callback(*, phone: str, note: str = "", area_code: str = "", actor=None):
    """An anonymous resident asks to be called back from the crisis screen.

    Repeats from the same number while its alert is open add to that alert (a replayed or
    double-tapped form does not page the team twice).
    """
    try:
        number = phone_lib.validate(phone)
    except phone_lib.InvalidPhone as exc:
        raise CrisisError(str(exc)) from None
    note = (note or "").strip()[:500]
    area_code = area_code if Area.objects.filter(code=area_code).exists() else ""
    now = timezone.now()
    with transaction.atomic():
        alert, created = raise_alert(
            actor=actor,
            subject_key=f"phone:{crypto.lookup_hash(number)[:32]}",
            trigger_key="callback-request",
            trigger=Trigger.CALLBACK_REQUEST,
            source=Source.CALLBACK,
            level=rule_level(Trigger.CALLBACK_REQUEST),
            summary=_("居民请求回电 %(phone)s") % {"phone": phone_lib.mask(number)},
            area_code=area_code,
        )
        if created:
            task = CallbackTask.objects.create(
                area_code=area_code,
                phone=number,
                phone_masked=phone_lib.mask(number),
                note=note,
                alert=alert,
                assigned_to_id=alert.assigned_to_id,
                due_at=now + dt.timedelta(minutes=ack_minutes(alert.level)),
            )
            audit.record("crisis.callback.request", task, actor=actor)
        else:
            task = alert.callbacks.order_by("-id").first()
    return task


def complete_callback(task: CallbackTask, *, actor, outcome: str) -> CallbackTask:
    if outcome not in ContactOutcome.values:
        raise CrisisError(_("请选择回电结果"))
    with transaction.atomic():
        locked = CallbackTask.objects.select_for_update().get(pk=task.pk)
        if locked.done_at:
            raise CrisisError(_("该回电任务已完成"))
        _complete(locked, actor=actor, outcome=outcome)
    return locked


def _complete(task: CallbackTask, *, actor, outcome: str) -> None:
    task.done_at = timezone.now()
    task.done_by = actor
    task.outcome = outcome
    task.save(update_fields=["done_at", "done_by", "outcome"])
    audit.record("crisis.callback.done", task, actor=actor, changed_fields=["outcome"])
