"""Escalation and duty: missed acknowledgement deadlines to the next person on duty, alerts
nobody holds to whoever comes on shift, and the roster's shifts."""

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, outbox
from xinan.core.models import Area
from xinan.crisis import routing
from xinan.crisis.models import Alert, AlertEvent, EventKind, Status, ack_minutes
from xinan.crisis.services import callbacks
from xinan.crisis.services.common import CrisisError, _alert_payload, _locked, _now

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
    moved: dict[int, int] = {}  # alert -> its new holder, whose worklist gets its callbacks
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
            moved[alert.pk] = nxt.user_id
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
    # The callbacks of an alert still waiting for acknowledgement ride on its escalation.
    callbacks.follow_holder(moved)
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
