"""The hotline desk's verbs: a call record (a high-risk one raises an alert and a callback),
a resident's callback request from the crisis screen, a callback done."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, outbox
from xinan.core.lib import crypto
from xinan.core.lib import phone as phone_lib
from xinan.core.models import Area
from xinan.crisis.models import (
    CallbackTask,
    CallRisk,
    ContactOutcome,
    HotlineCall,
    Source,
    Trigger,
    ack_minutes,
)
from xinan.crisis.services import callbacks
from xinan.crisis.services.alerts import raise_alert
from xinan.crisis.services.common import CrisisError, rule_level
from xinan.people.models import Person


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
            callbacks.create(
                title=_("热线高危来电回电"),
                alert=alert,
                area_code=area_code,
                due_at=timezone.now() + dt.timedelta(minutes=ack_minutes(alert.level)),
                phone=phone,
                phone_masked=call.caller_phone_masked,
                call=call,
                person_id=call.person_id,
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
            task = callbacks.create(
                title=_("居民请求回电"),
                alert=alert,
                area_code=area_code,
                due_at=now + dt.timedelta(minutes=ack_minutes(alert.level)),
                phone=number,
                phone_masked=phone_lib.mask(number),
                note=note,
            )
            audit.record("crisis.callback.request", task, actor=actor)
        else:
            task = alert.callbacks.order_by("-id").first()
    return task


def complete_callback(task: CallbackTask, *, actor, outcome: str) -> CallbackTask:
    """Done from the desk or the alert page; done from 我的待办 first, it is refused here."""
    if outcome not in ContactOutcome.values:
        raise CrisisError(_("请选择回电结果"))
    with transaction.atomic():
        locked = CallbackTask.objects.select_for_update().select_related("task").get(pk=task.pk)
        callbacks.complete(locked, actor=actor, outcome=outcome)
    return locked
