"""Loads every instrument definition once, validates it, and applies deployment overrides.

Definitions ship in `definitions/`. A deployment that holds a licence for an instrument's item
text puts a file with the same code and version (items with `id` and `text` only) in the folder
named by the INSTRUMENT_TEXT_DIR setting; its texts are merged in at load time.
"""

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from xinan.instruments.errors import InstrumentError
from xinan.instruments.model import Band, CriticalRule, Instrument, Item, Option

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
SCHEMA = json.loads((Path(__file__).resolve().parent / "schema.json").read_text())


def normalise_code(code: str) -> str:
    """'PHQ-9', 'phq9' and 'Phq 9' all name the same instrument."""
    return re.sub(r"[^0-9a-z]", "", code.lower())


def _settings(name: str, default: Any) -> Any:
    try:
        from django.conf import settings

        return getattr(settings, name, default) if settings.configured else default
    except ImportError:  # pragma: no cover — the engine also runs without Django
        return default


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InstrumentError(f"{path.name}: YAML 格式错误：{exc}") from None
    if not isinstance(data, dict):
        raise InstrumentError(f"{path.name}: 文件内容应为一个映射")
    return data


def validate_definition(data: dict, source: str) -> None:
    errors = sorted(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.path)
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(根)"
        raise InstrumentError(f"{source}: {where}: {first.message}")


def build(data: dict, source: str, texts: dict[str, dict] | None = None) -> Instrument:
    validate_definition(data, source)
    option_sets = data.get("option_sets", {})
    items = []
    for number, raw in enumerate(data["items"], start=1):
        options = raw.get("options", [])  # none: a free entry such as a time or minutes
        if isinstance(options, str):
            if options not in option_sets:
                raise InstrumentError(f"{source}: items/{number}: 未定义的选项集 {options}")
            options = option_sets[options]
        parsed = tuple(
            Option(code=o[0], value=o[3] if len(o) > 3 else o[0], label_zh=o[1], label_en=o[2])
            for o in options
        )
        if raw.get("reverse"):
            low, high = min(o.value for o in parsed), max(o.value for o in parsed)
            parsed = tuple(o._replace(value=low + high - o.value) for o in parsed)
        text = (texts or {}).get(raw["id"]) or raw.get("text") or {}
        items.append(
            Item(
                id=raw["id"],
                number=number,
                text_zh=text.get("zh"),
                text_en=text.get("en"),
                options=parsed,
                reverse=raw.get("reverse", False),
                scored=raw.get("scored", True),
                skippable=raw.get("skippable", False),
                loinc=raw.get("loinc"),
            )
        )
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise InstrumentError(f"{source}: 条目编号重复")
    for rule in data.get("critical", []):
        if rule["item"] not in ids:
            raise InstrumentError(f"{source}: critical: 条目 {rule['item']} 不存在")
    for name, sub in data.get("subscales", {}).items():
        missing = set(sub["items"]) - set(ids)
        if missing:
            raise InstrumentError(f"{source}: subscales/{name}: 条目 {sorted(missing)} 不存在")
    bands = tuple(
        Band(code=b["code"], min=b["min"], max=b["max"], label_zh=b["zh"], label_en=b["en"])
        for b in data.get("bands", [])
    )
    text_installed = all(item.text_zh for item in items)
    return Instrument(
        code=data["code"],
        version=str(data["version"]),
        name_zh=data["name"].get("zh", data["code"]),
        name_en=data["name"].get("en", data["code"]),
        items=tuple(items),
        recall_period=data["recall_period"],
        population=data.get("population", ""),
        licence=data["licence"]["id"],
        licence_note=data["licence"]["note"],
        citation=data["citation"],
        text_installed=text_installed,
        scoring=data["scoring"],
        bands=bands,
        positive=data.get("positive"),
        critical_rules=tuple(CriticalRule(**rule) for rule in data.get("critical", [])),
        subscales=data.get("subscales", {}),
        loinc=data.get("loinc", {}),
        answer_format=data.get("answer_format", "codes"),
        source_file=source,
    )


def _licensed_texts(text_dir: str | None) -> dict[tuple[str, str], dict[str, dict]]:
    """Item texts a licensed deployment installed: {(code, version): {item_id: text}}."""
    found: dict[tuple[str, str], dict[str, dict]] = {}
    if not text_dir:
        return found
    folder = Path(text_dir)
    if not folder.is_dir():
        raise InstrumentError(f"INSTRUMENT_TEXT_DIR 不是目录：{folder}")
    for path in sorted(folder.glob("*.yaml")):
        data = _read(path)
        key = (normalise_code(str(data.get("code", ""))), str(data.get("version", "")))
        found[key] = {str(i["id"]): i.get("text", {}) for i in data.get("items", [])}
    return found


@functools.cache
def _load(text_dir: str | None) -> dict[str, dict[str, Instrument]]:
    texts = _licensed_texts(text_dir)
    registry: dict[str, dict[str, Instrument]] = {}
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        data = _read(path)
        key = (normalise_code(str(data.get("code", ""))), str(data.get("version", "")))
        instrument = build(data, path.name, texts.get(key))
        registry.setdefault(normalise_code(instrument.code), {})[instrument.version] = instrument
    return registry


def load_registry() -> dict[str, dict[str, Instrument]]:
    return _load(_settings("INSTRUMENT_TEXT_DIR", None))


def get_instrument(code: str, version: str | None = None) -> Instrument:
    versions = load_registry().get(normalise_code(code))
    if not versions:
        raise InstrumentError(f"没有这个量表：{code}")
    if version is None:
        return versions[max(versions, key=lambda v: [int(p) for p in re.findall(r"\d+", v)])]
    if version not in versions:
        raise InstrumentError(f"量表 {code} 没有版本 {version}")
    return versions[version]


def list_instruments() -> list[Instrument]:
    return [get_instrument(code) for code in sorted(load_registry(), key=lambda c: c)]


def cutoff_override(instrument: Instrument) -> dict[str, Any]:
    """Per-deployment cutoffs, e.g. INSTRUMENT_CUTOFF_OVERRIDES = {"PHQ-9": {"min": 8}}."""
    overrides = _settings("INSTRUMENT_CUTOFF_OVERRIDES", {}) or {}
    for code, values in overrides.items():
        if normalise_code(code) == normalise_code(instrument.code):
            return dict(values)
    return {}
