"""Loads every instrument definition once, validates it, and applies deployment overrides.

Definitions ship in `definitions/`. A deployment that holds a licence for an instrument's item
text puts a file with the same code and version (items with `id`, `text` and optionally option
labels; text_schema.json) in the folder named by the INSTRUMENT_TEXT_DIR setting; its wording is
merged in at load time, matched by code + version + item id (options by code).
"""

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from xinan.instruments.errors import InstrumentError, _
from xinan.instruments.model import Band, CriticalRule, Instrument, Item, Option

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
SCHEMA = json.loads((Path(__file__).resolve().parent / "schema.json").read_text())
TEXT_SCHEMA = json.loads((Path(__file__).resolve().parent / "text_schema.json").read_text())


@functools.lru_cache(maxsize=1024)  # every submission names its instrument: same few codes
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
        raise InstrumentError(
            _("%(file)s: YAML 格式错误：%(error)s"), file=path.name, error=exc
        ) from None
    if not isinstance(data, dict):
        raise InstrumentError(_("%(file)s: 文件内容应为一个映射"), file=path.name)
    return data


def _validate(schema: dict, data: dict, source: str) -> None:
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path)
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or _("(根)")
        raise InstrumentError(
            _("%(file)s: %(where)s: %(error)s"), file=source, where=where, error=first.message
        )


def validate_definition(data: dict, source: str) -> None:
    _validate(SCHEMA, data, source)


def _fail(source: str, where: str, message: str, **params: Any) -> InstrumentError:
    return InstrumentError(
        _("%(file)s: %(where)s: %(problem)s"),
        file=source,
        where=where,
        problem=message % params if params else message,
    )


def _options(raw: dict, number: int, option_sets: dict, source: str) -> tuple[Option, ...]:
    options = raw.get("options", [])  # none: a free entry such as a time or minutes
    if isinstance(options, str):
        if options not in option_sets:
            raise _fail(source, f"items/{number}", _("未定义的选项集 %(name)s"), name=options)
        options = option_sets[options]
    parsed = tuple(
        Option(code=o[0], value=o[3] if len(o) > 3 else o[0], label_zh=o[1], label_en=o[2])
        for o in options
    )
    codes = [o.code for o in parsed]
    if len(set(codes)) != len(codes):
        raise _fail(source, f"items/{number}", _("选项代码重复"))
    if raw.get("reverse"):
        # Reverse scoring mirrors the values (0-1-2-3 → 3-2-1-0); the codes stay as printed.
        low, high = min(o.value for o in parsed), max(o.value for o in parsed)
        parsed = tuple(o._replace(value=low + high - o.value) for o in parsed)
    return parsed


def _relabel(
    options: tuple[Option, ...], labels: list | None, source: str, item_id: str
) -> tuple[Option, ...]:
    """Option wording from a licensed text file, matched by code; values are never changed."""
    if not labels:
        return options
    by_code = {label[0]: label for label in labels}
    unknown = set(by_code) - {o.code for o in options}
    if unknown:
        raise _fail(
            source,
            f"items/{item_id}/options",
            _("没有这些选项代码：%(codes)s"),
            codes=", ".join(str(c) for c in sorted(unknown)),
        )
    return tuple(
        o._replace(label_zh=by_code[o.code][1], label_en=by_code[o.code][2])
        if o.code in by_code
        else o
        for o in options
    )


def _check_bands(bands: tuple[Band, ...], source: str) -> None:
    ordered = sorted((b for b in bands if b.min <= b.max), key=lambda b: b.min)
    if len(ordered) != len(bands):
        raise _fail(source, "bands", _("分级的下限大于上限"))
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if upper.min <= lower.max:
            raise _fail(source, "bands", _("分级 %(a)s 与 %(b)s 重叠"), a=lower.code, b=upper.code)


def build(data: dict, source: str, texts: dict[str, Any] | None = None) -> Instrument:
    """An Instrument from one definition, with a licensed deployment's wording merged in."""
    validate_definition(data, source)
    texts = texts or {}
    text_source = texts.get("source", source)
    installed = texts.get("items", {})
    option_sets = data.get("option_sets", {})
    items = []
    for number, raw in enumerate(data["items"], start=1):
        extra = installed.get(raw["id"], {})
        options = _relabel(
            _options(raw, number, option_sets, source),
            extra.get("options"),
            text_source,
            raw["id"],
        )
        text = extra.get("text") or raw.get("text") or {}
        items.append(
            Item(
                id=raw["id"],
                number=number,
                text_zh=text.get("zh"),
                text_en=text.get("en"),
                options=options,
                reverse=raw.get("reverse", False),
                scored=raw.get("scored", True),
                skippable=raw.get("skippable", False),
                loinc=raw.get("loinc"),
                answer_type=raw.get("answer_type", "choice"),
            )
        )
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise _fail(source, "items", _("条目编号重复"))
    unknown = set(installed) - set(ids)
    if unknown:
        raise _fail(
            text_source, "items", _("量表没有这些条目：%(ids)s"), ids=", ".join(sorted(unknown))
        )
    for rule in data.get("critical", []):
        if rule["item"] not in ids:
            raise _fail(source, "critical", _("条目 %(item)s 不存在"), item=rule["item"])
    for name, sub in data.get("subscales", {}).items():
        missing = set(sub["items"]) - set(ids)
        if missing:
            raise _fail(
                source, f"subscales/{name}", _("条目 %(items)s 不存在"), items=sorted(missing)
            )
    bands = tuple(
        Band(code=b["code"], min=b["min"], max=b["max"], label_zh=b["zh"], label_en=b["en"])
        for b in data.get("bands", [])
    )
    if data["scoring"]["method"] != "custom":
        # Custom scorers (the C-SSRS triage) pick their band by code, not by score range.
        _check_bands(bands, source)
    stem = texts.get("stem") or data.get("stem") or {}
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
        text_installed=all(item.text_zh for item in items),
        scoring=data["scoring"],
        bands=bands,
        positive=data.get("positive"),
        critical_rules=tuple(CriticalRule(**rule) for rule in data.get("critical", [])),
        subscales=data.get("subscales", {}),
        loinc=data.get("loinc", {}),
        answer_format=data.get("answer_format", "codes"),
        source_file=source,
        stem_zh=stem.get("zh"),
        stem_en=stem.get("en"),
    )


def _key(data: dict) -> tuple[str, str]:
    return normalise_code(str(data.get("code", ""))), str(data.get("version", ""))


def _licensed_texts(text_dir: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    """Wording a licensed deployment installed: {(code, version): {source, stem, items}}."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    if not text_dir:
        return found
    folder = Path(text_dir)
    if not folder.is_dir():
        raise InstrumentError(_("INSTRUMENT_TEXT_DIR 不是目录：%(path)s"), path=folder)
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        data = _read(path)
        _validate(TEXT_SCHEMA, data, path.name)
        if _key(data) in found:
            other = found[_key(data)]["source"]
            raise _fail(path.name, "code", _("与 %(other)s 是同一量表同一版本"), other=other)
        found[_key(data)] = {
            "source": path.name,
            "stem": data.get("stem"),
            "items": {str(item["id"]): item for item in data["items"]},
        }
    return found


@functools.cache
def _load(text_dir: str | None) -> dict[str, dict[str, Instrument]]:
    texts = _licensed_texts(text_dir)
    registry: dict[str, dict[str, Instrument]] = {}
    sources: dict[tuple[str, str], str] = {}
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        data = _read(path)
        if _key(data) in sources:
            raise _fail(
                path.name, "code", _("与 %(other)s 是同一量表同一版本"), other=sources[_key(data)]
            )
        sources[_key(data)] = path.name
        instrument = build(data, path.name, texts.get(_key(data)))
        registry.setdefault(normalise_code(instrument.code), {})[instrument.version] = instrument
    orphans = set(texts) - set(sources)
    if orphans:
        # A licensed text file whose code or version matches nothing would otherwise be ignored
        # silently, and the deployment would wonder why the scale still has no wording.
        first = texts[sorted(orphans)[0]]["source"]
        raise _fail(first, "code", _("没有对应的量表定义（代码与版本须与内置定义一致）"))
    return registry


def load_registry() -> dict[str, dict[str, Instrument]]:
    return _load(_settings("INSTRUMENT_TEXT_DIR", None))


def get_instrument(code: str, version: str | None = None) -> Instrument:
    versions = load_registry().get(normalise_code(code))
    if not versions:
        raise InstrumentError(_("没有这个量表：%(code)s"), code=code)
    if version is None:
        return versions[_latest(tuple(versions))]
    version = str(version)  # stored results may hold the version as a number
    if version not in versions:
        raise InstrumentError(_("量表 %(code)s 没有版本 %(version)s"), code=code, version=version)
    return versions[version]


@functools.lru_cache(maxsize=256)
def _latest(versions: tuple[str, ...]) -> str:
    return max(versions, key=lambda v: [int(p) for p in re.findall(r"\d+", v)])


def list_instruments() -> list[Instrument]:
    return [get_instrument(code) for code in sorted(load_registry(), key=lambda c: c)]


def cutoff_override(instrument: Instrument) -> dict[str, Any]:
    """Per-deployment cutoffs, e.g. INSTRUMENT_CUTOFF_OVERRIDES = {"PHQ-9": {"min": 8}}."""
    overrides = _settings("INSTRUMENT_CUTOFF_OVERRIDES", {}) or {}
    for code, values in overrides.items():
        if normalise_code(code) == normalise_code(instrument.code):
            return dict(values)
    return {}


# Keys a deployment may override: the positive rule of a summed scale, moved band limits, and
# the three SCL-90 criteria.
SUM_OVERRIDE_KEYS = {"min", "max", "bands", "score", "band_edges"}
CUSTOM_OVERRIDE_KEYS = {
    "psqi": {"min", "max", "band_edges"},
    "scl90": {"total_above", "positive_items_above", "factor_at_least"},
    "cssrs_screener": set(),
}


def override_problems(overrides: Any) -> list[str]:
    """Why INSTRUMENT_CUTOFF_OVERRIDES is unusable, one line each; empty when it is fine.

    A misspelt key would otherwise be ignored and the shipped cutoff used without anyone
    noticing, which is exactly what a deployment that set a local cutoff does not want."""
    if not overrides:
        return []
    if not isinstance(overrides, dict):
        return [_("INSTRUMENT_CUTOFF_OVERRIDES 应为 {量表代码: {键: 值}}")]
    problems = []
    for code, values in overrides.items():
        try:
            instrument = get_instrument(str(code))
        except InstrumentError as exc:
            problems.append(exc.message)
            continue
        if not isinstance(values, dict):
            problems.append(_("%(code)s: 覆盖值应为一个映射") % {"code": code})
            continue
        method = instrument.scoring["method"]
        allowed = (
            SUM_OVERRIDE_KEYS
            if method != "custom"
            else CUSTOM_OVERRIDE_KEYS.get(instrument.scoring.get("scorer", ""), set())
        )
        for key in sorted(set(values) - allowed):
            problems.append(
                _("%(code)s: 不能覆盖“%(key)s”（可用：%(allowed)s）")
                % {"code": code, "key": key, "allowed": ", ".join(sorted(allowed)) or "—"}
            )
        for key in ("min", "max", "total_above", "positive_items_above", "factor_at_least"):
            if key in values and not isinstance(values[key], int | float):
                problems.append(_("%(code)s: %(key)s 应为数字") % {"code": code, "key": key})
        codes = {b.code for b in instrument.bands}
        if "bands" in values and not set(values["bands"]) <= codes:
            problems.append(
                _("%(code)s: bands 中有未知分级（可用：%(bands)s）")
                % {"code": code, "bands": ", ".join(sorted(codes))}
            )
        if "band_edges" not in values or "band_edges" not in allowed:
            continue
        edges = values["band_edges"]
        if (
            not isinstance(edges, dict)
            or not set(edges) <= codes
            or not all(isinstance(v, int | float) for v in edges.values())
        ):
            problems.append(
                _("%(code)s: band_edges 应为 {分级: 下限}（可用：%(bands)s）")
                % {"code": code, "bands": ", ".join(sorted(codes))}
            )
        else:
            lows = [edges.get(b.code, b.min) for b in sorted(instrument.bands, key=lambda b: b.min)]
            if any(later <= earlier for earlier, later in zip(lows, lows[1:], strict=False)):
                problems.append(_("%(code)s: band_edges 的下限须逐级递增") % {"code": code})
    return problems
