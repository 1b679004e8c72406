"""The compiled path (engine.CompiledScorer) gives exactly what parse_answers + score give, for
every instrument, on random rows: the same answers and result, or the same error message."""

import random

import pytest

from xinan.instruments import engine
from xinan.instruments.errors import InstrumentError
from xinan.instruments.registry import list_instruments

ROWS = 400
CODES = [i.code for i in list_instruments()]
# Instruments scored as data (the others register a scorer of their own).
DATA_CODES = [i.code for i in list_instruments() if i.scoring["method"] != "custom"]


def general(inst, cells):
    try:
        answers = engine.parse_answers(inst, ",".join(cells))
        return answers, engine.score_general(inst, answers)
    except InstrumentError as exc:
        return "error", exc.message


def compiled(scorer, cells):
    try:
        return scorer.score_codes(cells)
    except InstrumentError as exc:
        return "error", exc.message


def valid_cells(inst, rng):
    return [str(rng.choice(item.options).code) if item.options else "0" for item in inst.items]


def odd_cell(item, rng):
    """Something a paper form or a spreadsheet gives besides a clean code."""
    codes = [o.code for o in item.options] or [0]
    return rng.choice(
        [
            "",
            "-",
            "x",
            " 1",
            "1.0",
            "01",
            str(max(codes) + 1),
            str(min(codes) - 1),
            "，",
            f"{rng.choice(codes)},{rng.choice(codes)}",
        ]
    )


def random_rows(inst, rng, n=ROWS):
    rows = []
    for _ in range(n):
        cells = valid_cells(inst, rng)
        roll = rng.random()
        if roll < 0.15:  # one or a few odd cells
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(cells))
                cells[at] = odd_cell(inst.items[at], rng)
        elif roll < 0.2:  # too few or too many cells
            cells = cells[: rng.randrange(len(cells))] if rng.random() < 0.5 else [*cells, "0"]
        rows.append(cells)
    return rows


@pytest.mark.parametrize("code", CODES)
def test_the_compiled_path_equals_the_general_one_on_random_rows(code):
    inst = next(i for i in list_instruments() if i.code == code)
    scorer = engine.compile_scorer(inst)
    rng = random.Random(f"compiled-{code}")
    fast = 0
    for cells in random_rows(inst, rng):
        expected = general(inst, cells)
        assert compiled(scorer, cells) == expected, (code, cells)
        if expected[0] != "error":
            answers, result = scorer.score_row(cells)
            assert result == expected[1]
            if answers is None:  # the fast path: the cells are the codes as str(code) writes them
                fast += 1
                assert [str(c) for c in expected[0].values()] == list(cells)
            else:
                assert answers == expected[0]
    assert fast > ROWS // 2 if scorer.plain else fast == 0


@pytest.mark.parametrize(
    ("code", "override"),
    [
        ("PHQ-9", {"min": 8}),
        ("PHQ-9", {"bands": ["severe"]}),
        ("PHQ-9", {"band_edges": {"mild": 6, "moderate": 11}}),
        ("SDS", {"min": 50, "score": "standard"}),
        ("WHO-5", {"max": 28, "score": "total"}),
        ("EPDS", {"min": 13}),
    ],
)
def test_the_compiled_path_follows_cutoff_overrides(settings, code, override):
    settings.INSTRUMENT_CUTOFF_OVERRIDES = {code: override}
    inst = next(i for i in list_instruments() if i.code == code)
    scorer = engine.compile_scorer(inst)
    rng = random.Random(f"override-{code}")
    for cells in random_rows(inst, rng, 200):
        assert compiled(scorer, cells) == general(inst, cells), (code, cells)


def test_plain_rows_take_the_compiled_path(monkeypatch):
    inst = next(i for i in list_instruments() if i.code == "PHQ-9")
    scorer = engine.compile_scorer(inst)
    assert scorer.plain

    def refuse(*args, **kwargs):
        raise AssertionError("the general path was used")

    monkeypatch.setattr(engine, "parse_answers", refuse)
    monkeypatch.setattr(engine, "score_general", refuse)
    answers, result = scorer.score_codes(list("000000003"))
    assert answers == {str(n): 0 for n in range(1, 9)} | {"9": 3}
    assert (result.total, result.band, result.positive) == (3, "minimal", False)
    assert result.critical == [{"item": "9", "level": "red", "answer": 3}]
    # Results do not share their lists: changing one leaves the next alone.
    result.critical.clear()
    assert scorer.score_codes(list("000000003"))[1].critical


def test_custom_scorers_always_take_the_general_path():
    for code in ("PSQI", "SCL-90", "C-SSRS-SCREENER"):
        inst = next(i for i in list_instruments() if i.code == code)
        assert not engine.compile_scorer(inst).plain


def odd_answer(item, rng):
    """What a caller of score() may pass for one item besides its option code."""
    code = rng.choice(item.options).code if item.options else 0
    return rng.choice([None, str(code), float(code), True, code + 100, -1, " ", "x", [code]])


@pytest.mark.parametrize("code", DATA_CODES)
def test_score_gives_what_the_general_path_gives(code):
    inst = next(i for i in list_instruments() if i.code == code)
    rng = random.Random(f"score-{code}")

    def outcome(scorer, answers):
        try:
            return scorer(inst, answers)
        except InstrumentError as exc:
            return exc.message

    for _ in range(ROWS):
        codes = [rng.choice(item.options).code if item.options else 0 for item in inst.items]
        if rng.random() < 0.3:
            at = rng.randrange(len(codes))
            codes[at] = odd_answer(inst.items[at], rng)
        by_id = dict(zip((item.id for item in inst.items), codes, strict=True))
        if rng.random() < 0.1:
            by_id[rng.choice([*by_id, "no-such-item"])] = 0
            by_id.pop(inst.items[0].id) if rng.random() < 0.5 else None
        for answers in (codes, by_id, codes[:-1]):
            assert outcome(engine.score, answers) == outcome(engine.score_general, answers), (
                code,
                answers,
            )


def test_score_keeps_one_compiled_scorer_and_follows_a_changed_cutoff(settings):
    inst = next(i for i in list_instruments() if i.code == "PHQ-9")
    answers = [1, 1, 1, 1, 1, 1, 1, 1, 0]  # total 8
    assert not engine.score(inst, answers).positive
    kept = engine._kept_scorer(inst)
    assert engine._kept_scorer(inst) is kept
    settings.INSTRUMENT_CUTOFF_OVERRIDES = {"PHQ-9": {"min": 8}}
    assert engine.score(inst, answers).positive
    assert engine._kept_scorer(inst) is not kept
