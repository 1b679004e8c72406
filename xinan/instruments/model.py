"""Instrument definitions as immutable Python objects built from the YAML files."""

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Option(NamedTuple):
    code: int
    value: int
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Item:
    id: str
    number: int
    text_zh: str | None
    text_en: str | None
    options: tuple[Option, ...]
    reverse: bool = False
    scored: bool = True
    skippable: bool = False
    loinc: str | None = None
    # How the answer is entered where there are no options (PSQI bed time, minutes, hours).
    answer_type: str = "choice"

    def value_of(self, code: int) -> int:
        for option in self.options:
            if option.code == code:
                return option.value
        raise KeyError(code)


@dataclass(frozen=True)
class Band:
    code: str
    min: float
    max: float
    label_zh: str
    label_en: str
    advice_zh: str = ""


@dataclass(frozen=True)
class CriticalRule:
    item: str
    min_value: int
    level: str


@dataclass(frozen=True)
class Instrument:
    code: str
    version: str
    name_zh: str
    name_en: str
    items: tuple[Item, ...]
    recall_period: str
    population: str
    licence: str
    licence_note: str
    citation: str
    text_installed: bool
    scoring: dict[str, Any]
    bands: tuple[Band, ...]
    positive: dict[str, Any] | None
    critical_rules: tuple[CriticalRule, ...]
    subscales: dict[str, dict[str, Any]]
    loinc: dict[str, Any] = field(default_factory=dict)
    answer_format: str = "codes"
    source_file: str = ""
    stem_zh: str | None = None
    stem_en: str | None = None

    @property
    def critical_items(self) -> list[str]:
        return [rule.item for rule in self.critical_rules]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def band_for(self, score: float) -> Band | None:
        for band in self.bands:
            if band.min <= score <= band.max:
                return band
        return None
