"""What every crisis verb shares: the audit actions, the error, the timeline event, the
outbox payload of an alert, the row lock and the refusal of a closed alert."""

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit
from xinan.crisis.models import Alert, AlertEvent, AlertRule, Level, Status, Trigger

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


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert.pk)


def _refuse_if_closed(alert: Alert) -> None:
    if alert.status == Status.CLOSED:
        raise CrisisError(_("该预警已关闭，不能再修改；如有新的风险，请新建预警"))
