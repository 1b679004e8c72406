"""What every scorer builds on: answers turned into item values, bands, critical hits and the
result type. The engine (`engine.py`) and the custom scorers (`scorers.py`) both import from
here, and neither imports the other's internals, so there is no import cycle between them.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xinan.instruments.errors import InstrumentError, _
from xinan.instruments.model import Instrument
from xinan.instruments.registry import cutoff_override

LEVEL_ORDER = {"yellow": 1, "orange": 2, "red": 3}
# What a skipped or unanswered item looks like in typed answers.
SKIPPED = ("", "-")


@dataclass(frozen=True)
class ScoreResult:
    instrument: str
    version: str
    total: float | None
    band: str | None
    band_label: str | None
    band_label_en: str | None
    positive: bool
    critical: list[dict[str, Any]] = field(default_factory=list)
    subscales: dict[str, Any] = field(default_factory=dict)
    standard: float | None = None
    missing: list[str] = field(default_factory=list)
    imputed: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = {
            "instrument": self.instrument,
            "version": self.version,
            "total": self.total,
            "band": self.band,
            "band_label": self.band_label,
            "band_label_en": self.band_label_en,
            "positive": self.positive,
            "critical": self.critical,
            "subscales": self.subscales,
        }
        if self.standard is not None:
            data["standard"] = self.standard
        if self.missing:
            data["missing"] = self.missing
            data["imputed"] = self.imputed
        return data


def _number(value: Any) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def parse_answers(instrument: Instrument, text: str) -> dict[str, Any]:
    """Turn 'a,b,c' (or 'key=value,…' for PSQI) into {item_id: code}, or raise with the reason."""
    # Full-width commas come from Chinese input methods; treat them as the ASCII separator.
    text = (text or "").replace("，", ",").strip()
    if not text:
        raise InstrumentError(_("没有填写任何答案"))
    if instrument.answer_format == "key_value":
        answers: dict[str, Any] = {}
        for part in text.split(","):
            if "=" not in part:
                raise InstrumentError(_("“%(part)s”应写成 键=值，例如 q2=30"), part=part.strip())
            key, value = (p.strip() for p in part.split("=", 1))
            answers[key] = value
        return answers
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1 and len(text) == len(instrument.items) and text.isdigit():
        parts = list(text)  # fast paper entry: "0123…" one digit per item
    if len(parts) != len(instrument.items):
        raise _wrong_count(instrument, len(parts))
    answers = {}
    for item, part in zip(instrument.items, parts, strict=True):
        if part in SKIPPED:
            answers[item.id] = None
            continue
        try:
            answers[item.id] = int(part)
        except ValueError:
            raise _not_a_number(item.number, part) from None
    return answers


def _wrong_count(instrument: Instrument, count: int) -> InstrumentError:
    return InstrumentError(
        _("%(code)s 有 %(items)s 个条目，收到 %(count)s 个答案"),
        code=instrument.code,
        items=len(instrument.items),
        count=count,
    )


def _not_a_number(number: int, answer: Any) -> InstrumentError:
    return InstrumentError(
        _("第%(number)s题的答案“%(answer)s”不是数字"), number=number, answer=answer
    )


def _as_mapping(instrument: Instrument, answers: Mapping | Sequence) -> dict[str, Any]:
    if isinstance(answers, Mapping):
        return {str(k): v for k, v in answers.items()}
    if len(answers) != len(instrument.items):
        raise _wrong_count(instrument, len(answers))
    return {item.id: a for item, a in zip(instrument.items, answers, strict=True)}


def item_values(instrument: Instrument, answers: Mapping | Sequence) -> dict[str, int | None]:
    """Validate codes and map them to scored values; None where unanswered."""
    mapping = _as_mapping(instrument, answers)
    unknown = set(mapping) - {item.id for item in instrument.items}
    if unknown:
        raise InstrumentError(
            _("%(code)s 没有条目 %(items)s"), code=instrument.code, items=", ".join(sorted(unknown))
        )
    values: dict[str, int | None] = {}
    for item in instrument.items:
        code = mapping.get(item.id)
        if code is None or (isinstance(code, str) and code.strip() in SKIPPED):
            values[item.id] = None
            continue
        try:
            code = int(code)
        except (TypeError, ValueError):
            raise _not_a_number(item.number, code) from None
        try:
            values[item.id] = item.value_of(code)
        except KeyError:
            allowed = _("、").join(str(o.code) for o in item.options)  # list separator
            raise InstrumentError(
                _("第%(number)s题的答案 %(answer)s 超出范围（可选：%(allowed)s）"),
                number=item.number,
                answer=code,
                allowed=allowed,
            ) from None
    return values


def _standard(instrument: Instrument, total: float) -> float | None:
    spec = instrument.scoring.get("standard")
    if not spec:
        return None
    raw = total * spec["multiplier"]
    rounding = spec.get("rounding", "floor")
    if rounding == "floor":
        return math.floor(raw + 1e-9)
    if rounding == "round":
        return math.floor(raw + 0.5)
    return raw


def band_for(instrument: Instrument, value: float, edges: Mapping[str, float] | None = None):
    """The band holding value; `edges` (a deployment override) moves bands' lower limits, and
    each band then runs up to the next one's limit, so moving a cutoff leaves no gap."""
    if not edges:
        return instrument.band_for(value)
    bands = sorted(instrument.bands, key=lambda b: b.min)
    lows = [edges.get(b.code, b.min) for b in bands]
    if not bands or value < lows[0] or value > bands[-1].max:
        return None
    found = None
    for band, low in zip(bands, lows, strict=True):
        if value >= low:
            found = band
    return found


def _band_and_positive(
    instrument: Instrument, total: float | None, standard: float | None
) -> tuple[Any, bool]:
    if total is None:
        return None, False
    override = cutoff_override(instrument)
    on = instrument.scoring.get("band_on", "total")
    value = standard if on == "standard" and standard is not None else total
    band = band_for(instrument, value, override.get("band_edges"))
    rule = dict(instrument.positive or {})
    if {"min", "max"} & set(override):
        # A deployment that sets a numeric cutoff replaces the shipped rule, whatever its kind.
        for key in ("min", "max", "bands"):
            rule.pop(key, None)
    elif "bands" in override:
        rule.pop("min", None)
        rule.pop("max", None)
    rule.update({k: v for k, v in override.items() if k != "band_edges"})
    if not {"min", "max", "bands"} & set(rule):
        return band, False
    score = standard if rule.get("score", "total") == "standard" else total
    if "bands" in rule:
        return band, bool(band and band.code in rule["bands"])
    positive = True
    if "min" in rule:
        positive = positive and score >= rule["min"]
    if "max" in rule:
        positive = positive and score <= rule["max"]
    return band, positive


def require_critical_items(instrument: Instrument, values: Mapping[str, Any]) -> None:
    """A critical item (e.g. PHQ-9 item 9) must be answered: missing-data rules may impute a
    total, but nobody may impute whether a person thinks of ending their life."""
    for item_id in dict.fromkeys(instrument.critical_items):
        item = instrument.item(item_id)
        if values.get(item_id) is None and not item.skippable:
            raise InstrumentError(_("第%(number)s题是危机条目，必须作答"), number=item.number)


def critical_hits(instrument: Instrument, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Critical items that fired, each with its highest level; any total score."""
    hits: dict[str, dict[str, Any]] = {}
    for rule in instrument.critical_rules:
        value = values.get(rule.item)
        if value is None or value < rule.min_value:
            continue
        current = hits.get(rule.item)
        if current is None or LEVEL_ORDER[rule.level] > LEVEL_ORDER[current["level"]]:
            hits[rule.item] = {"item": rule.item, "level": rule.level, "answer": value}
    return sorted(hits.values(), key=lambda h: (-LEVEL_ORDER[h["level"]], h["item"]))
