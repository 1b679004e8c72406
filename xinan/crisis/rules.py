"""Which rules an `assessment.scored` payload fires: pure functions over data, no queries."""

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from xinan.crisis.models import LEVEL_RANK, AlertRule, Level, Trigger


@dataclass(frozen=True)
class Match:
    rule_key: str
    trigger: str
    level: str
    reason: str


def norm_instrument(code: Any) -> str:
    """PHQ-9, phq9, phq_9 and "PHQ 9" are the same instrument."""
    return _norm_instrument(str(code or ""))


def norm_item(item: Any) -> str:
    """Item 9 may arrive as 9, "9", "item9", "q9" or "phq9_9": keep its trailing number."""
    return _norm_item(str(item if item is not None else ""))


# Cached: the consumer normalises the same few codes for every rule and every event.
@functools.lru_cache(maxsize=4096)
def _norm_instrument(text: str) -> str:
    return re.sub(r"[\s_\-.]", "", text).lower()


@functools.lru_cache(maxsize=4096)
def _norm_item(text: str) -> str:
    text = text.strip().lower()
    found = re.search(r"(\d+)$", text)
    return str(int(found.group(1))) if found else text


def _instrument_matches(rule: AlertRule, instrument: str) -> bool:
    return not rule.instrument or norm_instrument(rule.instrument) == instrument


def _bands(rule: AlertRule) -> set[str]:
    return {b.strip().lower() for b in rule.bands.split(",") if b.strip()}


def evaluate(payload: dict[str, Any], rules: Iterable[AlertRule]) -> list[Match]:
    """Every rule the payload fires, highest level first; specific rules shadow catch-alls."""
    instrument = norm_instrument(payload.get("instrument"))
    critical = payload.get("critical") or []
    band = str(payload.get("band") or "").strip().lower()
    total = payload.get("total")
    previous = payload.get("previous_total")
    matches: list[Match] = []
    covered_items: set[str] = set()
    rules = sorted(
        (r for r in rules if r.active), key=lambda r: (not r.instrument, not r.item, r.sort_order)
    )
    for rule in rules:
        if not _instrument_matches(rule, instrument):
            continue
        if rule.trigger == Trigger.CRITICAL_ITEM:
            for entry in critical:
                if not isinstance(entry, dict):
                    continue
                item = norm_item(entry.get("item"))
                if rule.item and norm_item(rule.item) != item:
                    continue
                if item in covered_items:
                    continue  # a specific rule already decided this item's level
                level = rule.level or str(entry.get("level") or "")
                if level not in LEVEL_RANK:
                    continue
                covered_items.add(item)
                matches.append(
                    Match(
                        rule.key,
                        rule.trigger,
                        level,
                        f"{payload.get('instrument')} 第{item}题 = {entry.get('answer')}",
                    )
                )
        elif rule.trigger == Trigger.SEVERE_BAND:
            if band and band in _bands(rule):
                matches.append(
                    Match(rule.key, rule.trigger, rule.level or Level.ORANGE, f"分级 {band}")
                )
        elif rule.trigger == Trigger.RAPID_WORSENING:
            threshold = rule.threshold or 5
            if (
                isinstance(total, int | float)
                and isinstance(previous, int | float)
                and total - previous >= threshold
            ):
                matches.append(
                    Match(
                        rule.key,
                        rule.trigger,
                        rule.level or Level.YELLOW,
                        f"总分 {previous} → {total}（+{total - previous}）",
                    )
                )
    matches.sort(key=lambda m: -LEVEL_RANK[Level(m.level)])
    return matches


def strongest(matches: list[Match]) -> Match | None:
    return matches[0] if matches else None
