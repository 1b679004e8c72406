"""A stand-in for xinan.instruments with PHQ-9 and a licensed scale, used only while that app
cannot score PHQ-9 (it is written in parallel). Follows its public API and messages."""

import sys
import types
from dataclasses import dataclass, field


class InstrumentError(Exception):
    pass


@dataclass(frozen=True)
class Item:
    id: str
    text_zh: str | None
    text_en: str | None
    options: tuple


@dataclass(frozen=True)
class Instrument:
    code: str
    version: str
    name_zh: str
    name_en: str
    items: tuple
    recall_period: str = "过去两周"
    licence: str = "public"
    text_installed: bool = True
    critical_items: tuple = ()


@dataclass(frozen=True)
class ScoreResult:
    instrument: str
    version: str
    total: int
    band: str
    band_label: str
    positive: bool
    critical: list = field(default_factory=list)
    subscales: dict = field(default_factory=dict)


FREQ = (
    (0, 0, "完全不会", "Not at all"),
    (1, 1, "好几天", "Several days"),
    (2, 2, "一半以上的天数", "More than half the days"),
    (3, 3, "几乎每天", "Nearly every day"),
)

PHQ9 = Instrument(
    code="PHQ-9",
    version="1",
    name_zh="患者健康问卷（PHQ-9）",
    name_en="PHQ-9",
    items=tuple(Item(str(n), f"PHQ-9 第{n}题", f"PHQ-9 item {n}", FREQ) for n in range(1, 10)),
    critical_items=("9",),
)
LICENSED = Instrument(
    code="SCL-90",
    version="1",
    name_zh="症状自评量表（SCL-90）",
    name_en="SCL-90",
    items=tuple(Item(str(n), None, None, FREQ) for n in range(1, 4)),
    licence="licensed",
    text_installed=False,
)
ALL = {i.code: i for i in (PHQ9, LICENSED)}


def get_instrument(code, version=None):
    try:
        return ALL[code]
    except KeyError:
        raise InstrumentError(f"没有这个量表：{code}") from None


def list_instruments():
    return list(ALL.values())


def parse_answers(instrument, text):
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != len(instrument.items):
        raise InstrumentError(
            f"{instrument.code} 有 {len(instrument.items)} 个条目，收到 {len(parts)} 个答案"
        )
    out = []
    for n, p in enumerate(parts, start=1):
        if not p.isdigit() or int(p) not in (0, 1, 2, 3):
            raise InstrumentError(f"第{n}题的答案 {p} 超出范围（可选：0、1、2、3）")
        out.append(int(p))
    return out


def score(instrument, answers):
    if isinstance(answers, dict):
        answers = [answers.get(i.id) for i in instrument.items]
    if len(answers) != len(instrument.items) or any(a is None for a in answers):
        raise InstrumentError("答案数量不对")
    values = [int(a) for a in answers]
    total = sum(values)
    bands = [
        (4, "minimal", "无抑郁症状"),
        (9, "mild", "轻度"),
        (14, "moderate", "中度"),
        (19, "moderately_severe", "中重度"),
        (99, "severe", "重度"),
    ]
    band, label = next((b, lab) for top, b, lab in bands if total <= top)
    critical = []
    for item, v in zip(instrument.items, values, strict=True):
        if item.id in instrument.critical_items and v > 0:
            critical.append({"item": item.id, "level": "red", "answer": v})
    return ScoreResult(
        instrument.code, instrument.version, total, band, label, total >= 10, critical, {}
    )


def install() -> None:
    import xinan.instruments as package

    engine = types.ModuleType("xinan.instruments.engine")
    registry = types.ModuleType("xinan.instruments.registry")
    for name in ("InstrumentError", "score", "parse_answers"):
        setattr(engine, name, globals()[name])
    registry.get_instrument = get_instrument
    registry.list_instruments = list_instruments
    sys.modules["xinan.instruments.engine"] = engine
    sys.modules["xinan.instruments.registry"] = registry
    package.engine = engine
    package.registry = registry


def real_engine_works() -> bool:
    try:
        from xinan.instruments import engine, registry

        inst = registry.get_instrument("PHQ-9")
        engine.score(inst, [0] * len(inst.items))
        return True
    except Exception:  # noqa: BLE001 — missing, half-written or broken: use the stand-in
        return False
