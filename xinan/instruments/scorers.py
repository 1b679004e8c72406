"""Scorers for the instruments whose scoring is more than a sum of item values."""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xinan.instruments.answers import (
    ScoreResult,
    _band_and_positive,
    critical_hits,
    item_values,
)
from xinan.instruments.errors import InstrumentError, _
from xinan.instruments.model import Instrument
from xinan.instruments.registry import cutoff_override

Scorer = Callable[[Instrument, Any], ScoreResult]
_SCORERS: dict[str, Scorer] = {}


def register(name: str) -> Callable[[Scorer], Scorer]:
    def decorator(func: Scorer) -> Scorer:
        _SCORERS[name] = func
        return func

    return decorator


def get(name: str) -> Scorer:
    try:
        return _SCORERS[name]
    except KeyError:
        raise InstrumentError(_("未注册的计分函数：%(name)s"), name=name) from None


def _result(
    instrument: Instrument,
    total,
    critical=(),
    subscales=None,
    positive=None,
    band_code: str | None = None,
) -> ScoreResult:
    band, rule_positive = _band_and_positive(instrument, total, None)
    if band_code is not None:
        band = next((b for b in instrument.bands if b.code == band_code), None)
    return ScoreResult(
        instrument=instrument.code,
        version=instrument.version,
        total=total,
        band=band.code if band else None,
        band_label=band.label_zh if band else None,
        band_label_en=band.label_en if band else None,
        positive=rule_positive if positive is None else positive,
        critical=list(critical),
        subscales=subscales or {},
    )


# ------------------------------------------------------------------ PSQI (Buysse 1989)


def _clock(value: Any, key: str) -> dt.time:
    try:
        hours, minutes = str(value).strip().split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise InstrumentError(_("%(key)s 应为时刻，例如 23:30"), key=key) from None


def _num(answers: Mapping, key: str, low: float, high: float) -> float:
    if key not in answers or answers[key] in (None, ""):
        raise InstrumentError(_("PSQI 缺少 %(key)s"), key=key)
    try:
        value = float(answers[key])
    except (TypeError, ValueError):
        raise InstrumentError(
            _("%(key)s 的值“%(value)s”不是数字"), key=key, value=answers[key]
        ) from None
    if not low <= value <= high:
        raise InstrumentError(
            _("%(key)s 的值 %(value)s 超出范围（%(low)s–%(high)s）"),
            key=key,
            value=answers[key],
            low=f"{low:g}",
            high=f"{high:g}",
        )
    return value


def _choice(answers: Mapping, key: str) -> int:
    """A 0–3 option code: a whole number, so "1.5" is refused rather than truncated."""
    value = _num(answers, key, 0, 3)
    if not value.is_integer():
        raise InstrumentError(_("%(key)s 的值 %(value)s 应为整数 0–3"), key=key, value=answers[key])
    return int(value)


def _bucket(value: float, limits: Sequence[float]) -> int:
    """Index of the first limit that value does not exceed (0..len(limits))."""
    for index, limit in enumerate(limits):
        if value <= limit:
            return index
    return len(limits)


PSQI_KEYS = ["q1", "q2", "q3", "q4", *[f"q5{c}" for c in "abcdefghij"], "q6", "q7", "q8", "q9"]


@register("psqi")
def psqi(instrument: Instrument, answers: Any) -> ScoreResult:
    if not isinstance(answers, Mapping):
        raise InstrumentError(_("PSQI 的答案应为 键=值 列表，例如 q1=23:00,q2=20,…"))
    answers = {str(k).lower(): v for k, v in answers.items()}
    unknown = set(answers) - set(PSQI_KEYS)
    if unknown:
        raise InstrumentError(_("PSQI 没有这些键：%(keys)s"), keys=", ".join(sorted(unknown)))
    bedtime, rise = _clock(answers.get("q1"), "q1"), _clock(answers.get("q3"), "q3")
    latency = _num(answers, "q2", 0, 720)
    hours = _num(answers, "q4", 0, 24)
    # 5j is "other reason(s), please describe" and is blank when there is no other reason, so
    # a missing 5j counts as 0 (our choice, docs/instruments.md); every other item is required.
    if answers.get("q5j") in (None, ""):
        answers["q5j"] = 0
    q5 = {c: _choice(answers, f"q5{c}") for c in "abcdefghij"}
    q6, q7, q8, q9 = (_choice(answers, k) for k in ("q6", "q7", "q8", "q9"))
    c1 = q6
    c2 = _bucket(_bucket(latency, [15, 30, 60]) + q5["a"], [0, 2, 4])
    c3 = 0 if hours > 7 else 1 if hours >= 6 else 2 if hours >= 5 else 3
    in_bed = (rise.hour * 60 + rise.minute - bedtime.hour * 60 - bedtime.minute) % (24 * 60)
    efficiency = 100.0 if in_bed == 0 else hours * 60 / in_bed * 100
    c4 = 0 if efficiency >= 85 else 1 if efficiency >= 75 else 2 if efficiency >= 65 else 3
    c5 = _bucket(sum(q5[c] for c in "bcdefghij"), [0, 9, 18])
    c6 = q7
    c7 = _bucket(q8 + q9, [0, 2, 4])
    components = {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6, "c7": c7}
    subscales = dict(components, efficiency=round(efficiency, 1))
    return _result(instrument, sum(components.values()), subscales=subscales)


# ------------------------------------------------------------------ SCL-90


@register("scl90")
def scl90(instrument: Instrument, answers: Any) -> ScoreResult:
    values = item_values(instrument, answers)
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise InstrumentError(_("SCL-90 有 %(count)s 个条目未作答，需全部作答"), count=len(missing))
    total = sum(values.values())
    positive_items = sum(1 for v in values.values() if v >= 2)
    negative_items = 90 - positive_items
    # Factor membership is data (the definition's subscales); only the indices are code.
    factors = {
        name: round(sum(values[i] for i in sub["items"]) / len(sub["items"]), 2)
        for name, sub in instrument.subscales.items()
    }
    rule = dict(instrument.positive or {})
    rule.update(cutoff_override(instrument))
    positive = (
        total > rule.get("total_above", 160)
        or positive_items > rule.get("positive_items_above", 43)
        or any(score >= rule.get("factor_at_least", 2) for score in factors.values())
    )
    subscales = {
        **factors,
        "gsi": round(total / 90, 2),
        "positive_items": positive_items,
        "negative_items": negative_items,
        "positive_symptom_mean": round((total - negative_items) / positive_items, 2)
        if positive_items
        else 0,
    }
    return _result(
        instrument,
        total,
        critical=critical_hits(instrument, values),
        subscales=subscales,
        positive=positive,
        band_code="positive" if positive else "negative",
    )


# ------------------------------------------------------------------ C-SSRS screener


@register("cssrs_screener")
def cssrs_screener(instrument: Instrument, answers: Any) -> ScoreResult:
    values = item_values(instrument, answers)
    if values["q1"] is None or values["q2"] is None or values["q6"] is None:
        raise InstrumentError(_("C-SSRS 筛查的第1、2、6题必须作答"))
    if values["q2"] == 1 and any(values[q] is None for q in ("q3", "q4", "q5")):
        raise InstrumentError(_("第2题回答“是”时，第3–5题必须作答"))
    if values["q2"] == 0 and any(values[q] for q in ("q3", "q4", "q5")):
        raise InstrumentError(_("第2题回答“否”时，第3–5题应跳过（填 -）"))
    if values["q6"] == 1 and values["q6b"] is None:
        raise InstrumentError(_("第6题回答“是”时，须回答是否在过去3个月内"))
    if values["q6"] == 0 and values["q6b"]:
        raise InstrumentError(_("第6题回答“否”时，“过去3个月内”应跳过（填 -）"))
    yes = {k for k, v in values.items() if v == 1}
    if yes & {"q4", "q5"} or {"q6", "q6b"} <= yes:
        risk = "high"
    elif "q3" in yes or "q6" in yes:
        risk = "moderate"
    elif yes & {"q1", "q2"}:
        risk = "low"
    else:
        risk = "none"
    # The items that decided the triage, at its colour (Columbia/cliot: low yellow, moderate
    # orange, high red). Low risk is still a positive screen: a wish to be dead or any suicidal
    # thought needs a person to follow up, even when it is not an emergency.
    deciding = {
        "high": ("q4", "q5", "q6b"),
        "moderate": ("q3", "q6"),
        "low": ("q1", "q2"),
        "none": (),
    }[risk]
    level = {"high": "red", "moderate": "orange", "low": "yellow"}.get(risk, "")
    fired = [{"item": item, "level": level, "answer": 1} for item in deciding if item in yes]
    total = sum(1 for k in ("q1", "q2", "q3", "q4", "q5", "q6") if k in yes)
    return _result(
        instrument,
        total,
        critical=fired,
        positive=risk != "none",
        band_code=risk,
        subscales={"risk": risk},
    )
