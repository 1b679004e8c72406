"""crisis's part of the walk-every-URL test (xinan/testing/scope_walk.py): an alert, a hotline
call, a callback request and a duty shift of the other district."""

import datetime as dt

from django.utils import timezone

from xinan.crisis import services
from xinan.crisis.models import Alert, CallbackTask, DutyShift, HotlineCall
from xinan.testing.scope_walk import Hidden, Page, World


def build(world: World) -> None:
    now = timezone.now()
    world.add(
        "shift",
        DutyShift.objects.create(
            user=world.crisis_worker,
            area=world.town,
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=8),
        ),
    )
    alert = services.raise_manual_alert(
        world.person, actor=world.staff, level="orange", reason="外区预警理由XH"
    )
    world.add("alert", alert)
    call = services.record_call(
        actor=world.crisis_worker,
        topic="emotion",
        risk="low",
        received_at=now,
        person=world.person,
        phone="13822223333",
        notes="外区来电记录XH",
    )
    world.add("call", call)
    callback = services.request_callback(
        phone="13833334444", note="外区回电留言XH", area_code=world.village.code
    )
    world.add("callback", callback)
    world.secret("外区预警理由XH", "外区来电记录XH", "13822223333", "13833334444", "外区回电留言XH")
    world.watch("its alerts", Alert.objects.filter(person=world.person))
    world.watch("alerts there", Alert.objects.filter(area_code__startswith="310104"))
    world.watch("its calls", HotlineCall.objects.filter(person=world.person))
    world.watch("callbacks there", CallbackTask.objects.filter(area_code__startswith="310104"))
    # Its loop task (cases.Task, no person): in nobody's worklist here, done by no walker.
    world.add("callback_task", callback.task)
    world.secret(callback.task.title)
    world.watch("shifts there", DutyShift.objects.filter(area__code__startswith="310104"))


def _alert(w: World) -> dict:
    return {"pk": w.alert.pk}


def _work(w: World) -> dict:
    # every field any of the alert's forms takes, valid
    return {
        "outcome": "reached",
        "note": "越权",
        "level": "red",
        "disposition": "safe_with_plan",
        "reason": "越权关闭",
    }


URLS = {
    "crisis:board": Page(),
    "crisis:feed": Page(lambda w: {"since": 0}),
    "crisis:alert": Hidden(_alert),
    "crisis:acknowledge": Hidden(_alert),
    "crisis:contact": Hidden(_alert, data=_work),
    "crisis:risk": Hidden(_alert, data=_work),
    "crisis:disposition": Hidden(_alert, data=_work),
    "crisis:close": Hidden(_alert, data=_work),
    "crisis:reopen": Hidden(_alert),
    "crisis:reveal": Hidden(_alert),
    "crisis:handover": Hidden(
        _alert, data=lambda w: {"to_user": str(w.crisis_worker.pk), "note": "越权转交"}
    ),
    "crisis:manual_alert": Hidden(
        lambda w: {"person_id": w.person.pk}, data=lambda w: {"level": "red", "reason": "越权预警"}
    ),
    "crisis:roster": Page(
        data=lambda w: {
            "user": str(w.crisis_worker.pk),
            "area": w.town.code,
            "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        }
    ),
    "crisis:shift_delete": Hidden(lambda w: {"pk": w.shift.pk}),
    "crisis:hotline": Page(
        data=lambda w: {
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "wait_seconds": "0",
            "duration_seconds": "60",
            "topic": "emotion",
            "risk": "high",
            "person_query": w.person.name,
            "notes": "越权来电",
        }
    ),
    "crisis:call": Hidden(lambda w: {"pk": w.call.pk}),
    "crisis:callback_done": Hidden(
        lambda w: {"pk": w.callback.pk}, data=lambda w: {"outcome": "reached"}
    ),
    "crisis:callback": Page(),
}
