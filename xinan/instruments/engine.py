"""One scoring engine for every instrument; pure functions, deterministic and versioned.

Answers are option *codes* as printed on the form (see docs/instruments.md); the definition maps
codes to values (reverse items included), so the engine only sums, scales, bands and checks.
Scales whose scoring is not a sum (PSQI components, SCL-90 indices, the C-SSRS triage) register
a scorer in `xinan.instruments.scorers`.
"""

import math
from collections.abc import Mapping, Sequence
from operator import getitem, itemgetter
from typing import Any

from xinan.instruments import scorers
from xinan.instruments.answers import (
    ScoreResult,
    _band_and_positive,
    _number,
    _standard,
    critical_hits,
    item_values,
    parse_answers,
    require_critical_items,
)
from xinan.instruments.errors import InstrumentError, _
from xinan.instruments.model import Instrument
from xinan.instruments.registry import cutoff_override

__all__ = [
    "CompiledScorer",
    "InstrumentError",
    "ScoreResult",
    "compile_scorer",
    "parse_answers",
    "score",
]


def score(instrument: Instrument, answers: Mapping | Sequence) -> ScoreResult:
    if instrument.scoring["method"] == "custom":
        return scorers.get(instrument.scoring["scorer"])(instrument, answers)
    # Most answers are complete and plain: the tables of a kept CompiledScorer score them in
    # a fraction of the time, with the same result (tests/test_compiled.py).
    kept = _kept_scorer(instrument)
    if kept.plain:
        result = kept.score_answers(answers)
        if result is not None:
            return result
    return score_general(instrument, answers)


def score_general(instrument: Instrument, answers: Mapping | Sequence) -> ScoreResult:
    """`score` for an instrument whose scoring is data, item by item: every rule applied,
    every problem named (missing answers, imputation, unknown codes)."""
    values = item_values(instrument, answers)
    require_critical_items(instrument, values)
    scored = [item for item in instrument.items if item.scored]
    missing = [item.id for item in scored if values[item.id] is None and not item.skippable]
    max_missing = instrument.scoring.get("max_missing", 0)
    if len(missing) > max_missing:
        raise InstrumentError(
            _("%(code)s 有 %(count)s 个条目未作答（第%(numbers)s题），最多允许缺 %(max)s 个"),
            code=instrument.code,
            count=len(missing),
            numbers="、".join(str(instrument.item(m).number) for m in missing),
            max=max_missing,
        )
    answered = [values[item.id] for item in scored if values[item.id] is not None]
    total: float = sum(answered)
    imputed = False
    if missing and answered:
        # Mean imputation (a documented design choice, see docs/instruments.md).
        total = math.floor(total * len(scored) / len(answered) + 0.5)
        imputed = True
    standard = _standard(instrument, total)
    band, positive = _band_and_positive(instrument, total, standard)
    subscales = {}
    for code, sub in instrument.subscales.items():
        sub_values = [values[i] for i in sub["items"] if values[i] is not None]
        if len(sub_values) != len(sub["items"]):
            subscales[code] = None
        elif sub.get("method") == "mean":
            subscales[code] = round(sum(sub_values) / len(sub_values), 2)
        else:
            subscales[code] = sum(sub_values)
    return ScoreResult(
        instrument=instrument.code,
        version=instrument.version,
        total=_number(total),
        band=band.code if band else None,
        band_label=band.label_zh if band else None,
        band_label_en=band.label_en if band else None,
        positive=positive,
        critical=critical_hits(instrument, values),
        subscales=subscales,
        standard=standard,
        missing=missing,
        imputed=imputed,
    )


# ------------------------------------------------------------------ the compiled path


class CompiledScorer:
    """`parse_answers` + `score` for one instrument, faster for rows that are plain data.

    For bulk paths (the importer) that score many rows of the same instrument. When the
    instrument's scoring is data (sums of option values, reverse items, a standard score,
    bands, the positive rule, critical items, sum/mean subscales), a row whose every cell is
    the printed code of one of its item's options is scored from tables built here once:
    values by cell text, band and positive by total (cutoff overrides as they are now), and
    critical hits by the critical items' values. Anything else (a blank or skipped cell, an
    unknown code, a custom scorer) goes through `parse_answers` and `score` unchanged, so
    results and error messages are always theirs (tests/test_compiled.py compares both on
    random answers for every instrument).
    """

    def __init__(self, instrument: Instrument):
        self.instrument = instrument
        items = instrument.items
        self.item_ids = tuple(item.id for item in items)
        self.plain = (
            instrument.scoring["method"] != "custom"
            and instrument.answer_format == "codes"
            and bool(items)
            and all(item.options for item in items)
            and all(
                isinstance(o.value, int) and isinstance(o.code, int)
                for item in items
                for o in item.options
            )
        )
        if not self.plain:
            return
        # cell text -> value, one table per item (the cell is then str(code): int(cell) is it)
        self._values = tuple({str(o.code): o.value for o in item.options} for item in items)
        self._by_code = tuple({o.code: o.value for o in item.options} for item in items)
        self._scored = tuple(n for n, item in enumerate(items) if item.scored)
        position = {item_id: n for n, item_id in enumerate(self.item_ids)}
        self._critical_at = tuple(
            dict.fromkeys(position[r.item] for r in instrument.critical_rules)
        )
        # what decides the critical hits: the critical items' values (a tuple, or one value)
        self._critical_key = itemgetter(*self._critical_at) if self._critical_at else _nothing
        self._critical: dict[Any, list[dict[str, Any]]] = {}
        self._subscales = tuple(
            (code, tuple(position[i] for i in sub["items"]), sub.get("method") == "mean")
            for code, sub in instrument.subscales.items()
        )
        scored = [items[n] for n in self._scored]
        low = sum(min(o.value for o in item.options) for item in scored)
        high = sum(max(o.value for o in item.options) for item in scored)
        # Every total a fully answered row can have: the result's fields but the lists.
        self._by_total = {}
        for total in range(low, high + 1):
            standard = _standard(instrument, total)
            band, positive = _band_and_positive(instrument, total, standard)
            self._by_total[total] = {
                "instrument": instrument.code,
                "version": instrument.version,
                "total": total,
                "band": band.code if band else None,
                "band_label": band.label_zh if band else None,
                "band_label_en": band.label_en if band else None,
                "positive": positive,
                "standard": standard,
                "imputed": False,
            }

    def score_codes(self, cells: Sequence[str]) -> tuple[dict[str, Any], ScoreResult]:
        """The answers and result of `parse_answers(instrument, ",".join(cells))` then `score`:
        one cell per item, as in an import row. Raises InstrumentError as they do."""
        answers, result = self.score_row(cells)
        if answers is None:
            answers = dict(zip(self.item_ids, map(int, cells), strict=True))
        return answers, result

    def score_row(self, cells: Sequence[str]) -> tuple[dict[str, Any] | None, ScoreResult]:
        """`score_codes` for bulk paths, without building the answers where the fast path
        scored the row: then answers is None and each cell is its item's option code exactly
        as str(code) writes it, so the answers are {item id: int(cell)} in item order."""
        if self.plain and len(cells) == len(self._values):
            try:
                values = list(map(getitem, self._values, cells))
            except KeyError:
                pass
            else:
                return None, self._result(values)
        instrument = self.instrument
        answers = parse_answers(instrument, ",".join(cells))
        return answers, score_general(instrument, answers)

    def score_answers(self, answers: Mapping | Sequence) -> ScoreResult | None:
        """What `score` gives for answers that are every item's option code (an int), by item
        id or in item order; None for anything else (a gap, a text, an unknown code or item),
        which `score_general` then scores or refuses with its message."""
        if not self.plain or len(answers) != len(self.item_ids):
            return None
        if isinstance(answers, Mapping):
            try:
                codes = [answers[item_id] for item_id in self.item_ids]
            except KeyError:
                return None
        else:
            codes = answers
        try:  # a code equal to an option's (1, 1.0, True) takes its value, as item_values does
            values = list(map(getitem, self._by_code, codes))
        except (KeyError, TypeError):  # not a code, or not even hashable (a list, a dict)
            return None
        return self._result(values)

    def _result(self, values: list[int]) -> ScoreResult:
        key = self._critical_key(values)
        hits = self._critical.get(key)
        if hits is None:
            named = {self.item_ids[n]: values[n] for n in self._critical_at}
            hits = self._critical[key] = critical_hits(self.instrument, named)
        subscales = {}
        for code, at, mean in self._subscales:
            sub = [values[n] for n in at]
            subscales[code] = round(sum(sub) / len(sub), 2) if mean else sum(sub)
        scored = self._scored
        total = sum(values) if len(scored) == len(values) else sum([values[n] for n in scored])
        # ScoreResult(**fields) without its generated __init__ (a frozen dataclass sets each
        # field through object.__setattr__, several times the cost of the scoring here): the
        # same instance, equal to what score() returns; each result gets its own lists.
        result = object.__new__(ScoreResult)
        fields = result.__dict__
        fields.update(self._by_total[total])
        fields["critical"] = [dict(h) for h in hits] if hits else []
        fields["subscales"] = subscales
        fields["missing"] = []
        return result


def _nothing(values: Any) -> tuple:
    return ()


# One CompiledScorer per loaded instrument, built again when its deployment cutoffs change.
_kept: dict[int, tuple[Instrument, dict[str, Any], CompiledScorer]] = {}


def _kept_scorer(instrument: Instrument) -> CompiledScorer:
    overrides = cutoff_override(instrument)
    kept = _kept.get(id(instrument))
    if kept is None or kept[0] is not instrument or kept[1] != overrides:
        kept = _kept[id(instrument)] = (instrument, overrides, CompiledScorer(instrument))
    return kept[2]


def compile_scorer(instrument: Instrument) -> CompiledScorer:
    """A CompiledScorer for bulk scoring; build one per job (it reads cutoff overrides once)."""
    return CompiledScorer(instrument)
