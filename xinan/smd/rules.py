"""The spec's follow-up classification and cadence: pure functions over a follow-up and rule rows.

`classify` takes the follow-up's values (a dict of field → value, as the form or the model gives
them) and the active `ClassificationRule` rows; the most severe class any rule fires wins
(不稳定 > 基本稳定 > 稳定), and every rule that fired for that class is returned so the page can
show why. A follow-up where the patient was not reached is 未访到 whatever else it says.
Nothing here queries the database.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from xinan.smd.models import Cadence, Classification, ClassificationRule

SEVERITY = {
    Classification.UNSTABLE: 3,
    Classification.BASIC: 2,
    Classification.STABLE: 1,
    Classification.NOT_REACHED: 0,
}


@dataclass(frozen=True)
class Result:
    classification: str
    fired: list[dict[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return Classification(self.classification).label


def _norm(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _fires(rule: ClassificationRule, values: Mapping[str, Any]) -> bool:
    names = [f.strip() for f in rule.fields.split(",") if f.strip()]
    wanted = [v.strip() for v in rule.values.split(",") if v.strip()]
    if rule.op == ClassificationRule.Op.GTE:
        threshold = float(wanted[0])
        for name in names:
            raw = values.get(name)
            if raw in (None, ""):
                continue
            try:
                if float(raw) >= threshold:
                    return True
            except (TypeError, ValueError):
                continue
        return False
    if rule.op == ClassificationRule.Op.IN:
        return any(_norm(values.get(name)) in wanted for name in names)
    if rule.op == ClassificationRule.Op.ANY_IN:
        # A multi-valued field (a list) or several single-valued ones: any member matches.
        for name in names:
            raw = values.get(name)
            members = raw if isinstance(raw, list | tuple | set) else [raw]
            if any(_norm(m) in wanted for m in members):
                return True
        return False
    return False


def classify(values: Mapping[str, Any], rules: Iterable[ClassificationRule]) -> Result:
    """The class the spec gives this follow-up, with the rules that fired for it."""
    if not values.get("reached", True):
        return Result(
            Classification.NOT_REACHED,
            [{"key": "not_reached", "definition": gettext_noop("本次随访未能直接访问到患者")}],
        )
    best = Classification.STABLE
    fired: dict[str, list[dict[str, str]]] = {}
    for rule in sorted((r for r in rules if r.active), key=lambda r: (r.sort_order, r.key)):
        if rule.classification == Classification.STABLE or not _fires(rule, values):
            continue
        fired.setdefault(rule.classification, []).append(
            {"key": rule.key, "definition": rule.definition}
        )
        if SEVERITY[Classification(rule.classification)] > SEVERITY[best]:
            best = Classification(rule.classification)
    if best == Classification.STABLE:
        return Result(
            best,
            [
                {
                    "key": "stable",
                    "definition": gettext_noop(
                        "危险性0级，且精神症状基本消失，自知力基本恢复，社会功能一般或良好，"
                        "无严重药物不良反应，躯体疾病稳定，无其他异常"
                    ),
                }
            ],
        )
    return Result(best, fired[best])


@dataclass(frozen=True)
class Plan:
    classification: str
    max_days: int
    latest: dt.date
    actions: list[str]


def plan(
    classification: str, risk_level: int | None, visit_date: dt.date, cadences: Iterable[Cadence]
) -> Plan:
    """The latest next follow-up date and the actions the class calls for."""
    by_class = {c.classification: c for c in cadences}
    cadence = by_class.get(classification)
    if cadence is None:
        return Plan(classification, 14, visit_date + dt.timedelta(days=14), [])
    actions = [line.strip() for line in cadence.actions.splitlines() if line.strip()]
    if (risk_level or 0) >= 3:
        actions += [line.strip() for line in cadence.police_actions.splitlines() if line.strip()]
    return Plan(
        classification,
        cadence.max_days,
        visit_date + dt.timedelta(days=cadence.max_days),
        actions,
    )
