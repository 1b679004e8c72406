"""Table-driven scoring tests for every instrument: band edges, reverse items, missing answers,
critical items. Answers are the printed option codes, as the CLI takes them."""

import pytest

from xinan.instruments.engine import parse_answers, score
from xinan.instruments.errors import InstrumentError
from xinan.instruments.registry import get_instrument, list_instruments


def run(code, answers):
    inst = get_instrument(code)
    return score(inst, parse_answers(inst, answers) if isinstance(answers, str) else answers)


def spread(total, n, top):
    """n answers (each 0..top) summing to total, front-loaded."""
    out = []
    for _ in range(n):
        take = min(top, total)
        out.append(take)
        total -= take
    assert total == 0
    return out


@pytest.mark.parametrize(
    ("code", "n", "top", "edges"),
    [
        (
            "PHQ-9",
            9,
            3,
            [
                (0, "minimal", False),
                (4, "minimal", False),
                (5, "mild", False),
                (9, "mild", False),
                (10, "moderate", True),
                (14, "moderate", True),
                (15, "moderately_severe", True),
                (19, "moderately_severe", True),
                (20, "severe", True),
                (27, "severe", True),
            ],
        ),
        (
            "GAD-7",
            7,
            3,
            [
                (4, "minimal", False),
                (5, "mild", False),
                (9, "mild", False),
                (10, "moderate", True),
                (14, "moderate", True),
                (15, "severe", True),
                (21, "severe", True),
            ],
        ),
        ("PHQ-2", 2, 3, [(2, "negative", False), (3, "positive", True), (6, "positive", True)]),
        ("GAD-2", 2, 3, [(2, "negative", False), (3, "positive", True)]),
        (
            "PHQ-15",
            15,
            2,
            [
                (4, "minimal", False),
                (5, "low", False),
                (9, "low", False),
                (10, "medium", True),
                (14, "medium", True),
                (15, "high", True),
                (30, "high", True),
            ],
        ),
        (
            "ISI",
            7,
            4,
            [
                (7, "none", False),
                (8, "subthreshold", False),
                (14, "subthreshold", False),
                (15, "moderate", True),
                (21, "moderate", True),
                (22, "severe", True),
                (28, "severe", True),
            ],
        ),
        (
            "AD8",
            8,
            1,
            [
                (0, "normal", False),
                (1, "normal", False),
                (2, "impaired", True),
                (8, "impaired", True),
            ],
        ),
    ],
)
def test_it_bands_plain_sums_at_every_edge(code, n, top, edges):
    for total, band, positive in edges:
        result = run(code, spread(total, n, top))
        assert (result.total, result.band, result.positive) == (total, band, positive), total


@pytest.mark.parametrize(
    ("codes", "total", "band", "positive"),
    [
        ("1,1,1,1,1,1,1,1,1,1", 10, "low", False),
        ("2,2,2,2,2,2,1,1,1,1", 16, "moderate", False),
        ("3,3,2,2,2,2,2,2,2,1", 21, "moderate", False),
        ("3,3,2,2,2,2,2,2,2,2", 22, "high", True),
        ("3,3,3,3,3,3,3,3,3,2", 29, "high", True),
        ("3,3,3,3,3,3,3,3,3,3", 30, "very_high", True),
        ("5,5,5,5,5,5,5,5,5,5", 50, "very_high", True),
    ],
)
def test_it_scores_k10_on_codes_1_to_5(codes, total, band, positive):
    result = run("K10", codes)
    assert (result.total, result.band, result.positive) == (total, band, positive)


def test_k10_rejects_a_zero_code():
    with pytest.raises(InstrumentError, match="第1题的答案 0 超出范围"):
        run("K10", "0,1,1,1,1,1,1,1,1,1")


def test_phq9_item_9_is_critical_at_any_total():
    result = run("PHQ-9", "0,0,0,0,0,0,0,0,1")
    assert result.total == 1 and not result.positive
    assert result.critical == [{"item": "9", "level": "red", "answer": 1}]
    assert run("PHQ-9", "3,3,3,3,3,3,3,3,0").critical == []


def test_it_imputes_up_to_two_missing_phq9_items_and_refuses_three():
    # 6×2 + 1 = 13 over 7 answered items → 13 × 9/7 = 16.7 → 17 (mean imputation, rounded).
    result = run("PHQ-9", "2,2,2,2,2,2,-,-,1")
    assert result.total == 17 and result.imputed and result.missing == ["7", "8"]
    assert result.band == "moderately_severe"
    with pytest.raises(InstrumentError, match="3 个条目未作答.*最多允许缺 2 个"):
        run("PHQ-9", "2,2,2,2,2,-,-,-,0")


@pytest.mark.parametrize(
    ("code", "answers", "number"),
    [
        ("PHQ-9", "2,2,2,2,2,2,2,2,-", 9),
        ("PHQ-A", "1,1,1,1,1,1,1,1,0,0,1,-,0", 12),
        ("EPDS", "0,0,0,0,0,0,0,0,0,-", 10),
        ("SDS", ",".join(["1"] * 18 + ["-", "1"]), 19),
    ],
)
def test_it_never_imputes_a_critical_item(code, answers, number):
    # Missing-data rules may estimate a total; whether someone thinks of suicide is never guessed.
    with pytest.raises(InstrumentError, match=f"第{number}题是危机条目，必须作答"):
        run(code, answers)


def test_gad7_allows_one_missing_answer():
    assert run("GAD-7", "1,1,1,1,1,1,-").total == 7
    with pytest.raises(InstrumentError, match="最多允许缺 1 个"):
        run("GAD-7", "1,1,1,1,1,-,-")


@pytest.mark.parametrize(
    ("positions", "total", "band", "critical"),
    [
        # All top options: items 1,2,4 score 0; reverse items 3,5–10 score 3 each.
        ("0,0,0,0,0,0,0,0,0,0", 21, "probable", [{"item": "10", "level": "red", "answer": 3}]),
        # All bottom options: items 1,2,4 score 3; reverse items score 0.
        ("3,3,3,3,3,3,3,3,3,3", 9, "low", []),
        ("3,3,3,3,3,2,3,3,3,3", 10, "possible", []),
        ("3,3,2,3,2,2,3,3,3,3", 12, "possible", []),
        ("3,3,2,3,2,2,2,3,3,3", 13, "probable", []),
        ("0,0,3,0,3,3,3,3,3,2", 1, "low", [{"item": "10", "level": "red", "answer": 1}]),
    ],
)
def test_epds_reverse_items_and_item_10(positions, total, band, critical):
    result = run("EPDS", positions)
    assert (result.total, result.band, result.critical) == (total, band, critical)
    assert result.positive == (total >= 10)


def test_gds15_scores_no_as_1_on_items_1_5_7_11_13():
    all_no = run("GDS-15", ",".join(["0"] * 15))
    assert all_no.total == 5 and all_no.band == "mild" and all_no.positive
    happy = "1,0,0,0,1,0,1,0,0,0,1,0,1,0,0"  # yes to the positive items, no to the others
    assert run("GDS-15", happy).total == 0
    assert run("GDS-15", ",".join(["1"] * 15)).total == 10


@pytest.mark.parametrize(
    ("code", "raw_all", "standard", "band", "positive"),
    [
        ("SDS", None, 25, "normal", False),
        ("SAS", None, 25, "normal", False),
    ],
)
def test_zung_scales_least_symptomatic_answers(code, raw_all, standard, band, positive):
    reverse = {"SDS": {2, 5, 6, 11, 12, 14, 16, 17, 18, 20}, "SAS": {5, 9, 13, 17, 19}}[code]
    codes = ",".join("4" if i in reverse else "1" for i in range(1, 21))
    result = run(code, codes)
    assert result.total == 20 and result.standard == standard and result.band == band


@pytest.mark.parametrize(
    ("code", "raw", "standard", "band", "positive"),
    [
        ("SDS", 42, 52, "normal", False),
        ("SDS", 43, 53, "mild", True),
        ("SDS", 50, 62, "mild", True),
        ("SDS", 51, 63, "moderate", True),
        ("SDS", 58, 72, "moderate", True),
        ("SDS", 59, 73, "severe", True),
        ("SAS", 39, 48, "normal", False),
        ("SAS", 40, 50, "mild", True),
        ("SAS", 47, 58, "mild", True),
        ("SAS", 48, 60, "moderate", True),
        ("SAS", 56, 70, "severe", True),
        ("SAS", 80, 100, "severe", True),
    ],
)
def test_zung_standard_score_is_the_integer_part(code, raw, standard, band, positive):
    # Build answers (non-reverse items only move) whose raw total is `raw`.
    inst = get_instrument(code)
    values = {item.id: 1 for item in inst.items}
    extra = raw - 20
    answers = {}
    for item in inst.items:
        bump = min(3, extra)
        extra -= bump
        target = 1 + bump
        # For reverse items the code that yields value v is 5 - v.
        answers[item.id] = 5 - target if item.reverse else target
        values[item.id] = target
    assert extra == 0
    result = score(inst, answers)
    assert (result.total, result.standard, result.band, result.positive) == (
        raw,
        standard,
        band,
        positive,
    )


def test_sds_item_19_is_critical():
    codes = ["1"] * 20
    codes[18] = "3"
    assert run("SDS", ",".join(codes)).critical == [{"item": "19", "level": "red", "answer": 3}]
    codes[18] = "2"
    assert run("SDS", ",".join(codes)).critical[0]["level"] == "orange"


@pytest.mark.parametrize(
    ("codes", "standard", "band", "positive"),
    [
        ("5,5,5,5,5", 100, "good", False),
        ("3,3,3,2,2", 52, "good", False),
        ("3,3,2,2,2", 48, "reduced", True),
        ("2,2,2,1,1", 32, "reduced", True),
        ("2,2,1,1,1", 28, "likely_depression", True),
        ("0,0,0,0,0", 0, "likely_depression", True),
    ],
)
def test_who5_percentage_bands(codes, standard, band, positive):
    result = run("WHO-5", codes)
    assert (result.standard, result.band, result.positive) == (standard, band, positive)


def test_phq_a_flags_suicide_items():
    result = run("PHQ-A", "1,1,1,1,1,1,1,1,0,0,1,1,1")
    assert result.total == 8  # items 10–13 are not scored
    assert result.critical == [
        {"item": "12", "level": "red", "answer": 1},
        {"item": "13", "level": "orange", "answer": 1},
    ]


def psqi(**overrides):
    base = {
        "q1": "23:00",
        "q2": "10",
        "q3": "07:00",
        "q4": "8",
        "q6": "0",
        "q7": "0",
        "q8": "0",
        "q9": "0",
        **{f"q5{c}": "0" for c in "abcdefghij"},
    }
    base.update(overrides)
    return ",".join(f"{k}={v}" for k, v in base.items())


@pytest.mark.parametrize(
    ("overrides", "components", "total", "band"),
    [
        ({}, [0, 0, 0, 0, 0, 0, 0], 0, "good"),
        # latency 45 min (2) + q5a 2 → 4 → C2=2; 6 h in 8 h in bed → 75% → C4=1, C3=1
        ({"q2": "45", "q5a": "2", "q4": "6"}, [0, 2, 1, 1, 0, 0, 0], 4, "good"),
        # bed 01:00 rise 06:00 across no midnight, 4.5 h → C3=3, efficiency 90% → C4=0
        ({"q1": "01:00", "q3": "06:00", "q4": "4.5"}, [0, 0, 3, 0, 0, 0, 0], 3, "good"),
        (
            {
                "q5b": "3",
                "q5c": "3",
                "q5d": "3",
                "q5e": "1",
                "q6": "3",
                "q7": "3",
                "q8": "3",
                "q9": "3",
            },
            [3, 0, 0, 0, 2, 3, 3],
            11,
            "poor",
        ),
    ],
)
def test_psqi_components(overrides, components, total, band):
    result = run("PSQI", psqi(**overrides))
    assert [result.subscales[f"c{i}"] for i in range(1, 8)] == components
    assert (result.total, result.band) == (total, band)
    assert result.positive == (total > 7)


def test_psqi_rejects_bad_values():
    with pytest.raises(InstrumentError, match="q1 应为时刻"):
        run("PSQI", psqi(q1="late"))
    with pytest.raises(InstrumentError, match="q5a 的值 4 超出范围"):
        run("PSQI", psqi(q5a="4"))
    with pytest.raises(InstrumentError, match="应写成 键=值"):
        run("PSQI", "q1")


def test_scl90_indices_and_positive_rules():
    calm = run("SCL-90", ",".join(["1"] * 90))
    assert calm.total == 90 and not calm.positive and calm.band == "negative"
    assert calm.subscales["positive_items"] == 0 and calm.subscales["gsi"] == 1.0
    # One factor (hostility, 6 items) at 2 → positive by the factor rule alone.
    codes = ["1"] * 90
    for item in (11, 24, 63, 67, 74, 81):
        codes[item - 1] = "2"
    hostile = run("SCL-90", ",".join(codes))
    assert hostile.subscales["hostility"] == 2.0 and hostile.positive and hostile.total == 96
    codes = ["1"] * 90
    codes[14] = "3"  # item 15: thoughts of ending one's life
    result = run("SCL-90", ",".join(codes))
    assert result.critical == [{"item": "15", "level": "red", "answer": 3}]


@pytest.mark.parametrize(
    ("answers", "risk", "positive", "critical_items"),
    [
        ("0,0,-,-,-,0,-", "none", False, []),
        ("1,0,-,-,-,0,-", "low", True, ["q1"]),
        ("1,1,0,0,0,0,-", "low", True, ["q1", "q2"]),
        ("1,1,1,0,0,0,-", "moderate", True, ["q3"]),
        ("1,1,0,1,0,0,-", "high", True, ["q4"]),
        ("1,1,1,1,1,0,-", "high", True, ["q4", "q5"]),
        ("0,0,-,-,-,1,0", "moderate", True, ["q6"]),
        ("0,0,-,-,-,1,1", "high", True, ["q6b"]),
    ],
)
def test_cssrs_screener_triage(answers, risk, positive, critical_items):
    result = run("C-SSRS-SCREENER", answers)
    assert result.band == risk and result.positive == positive
    assert sorted(c["item"] for c in result.critical) == critical_items
    level = {"none": None, "low": "yellow", "moderate": "orange", "high": "red"}[risk]
    assert {c["level"] for c in result.critical} == ({level} if level else set())


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("1,1,-,-,-,0,-", "第3–5题必须作答"),
        ("1,0,1,-,-,0,-", "第3–5题应跳过"),
        ("0,0,-,-,-,1,-", "过去3个月"),
        ("0,0,-,-,-,0,1", "第6题回答“否”时"),
    ],
)
def test_cssrs_screener_skip_logic(answers, message):
    with pytest.raises(InstrumentError, match=message):
        run("C-SSRS-SCREENER", answers)


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        ("PHQ-9", "1,2,3", "有 9 个条目，收到 3 个答案"),
        ("PHQ-9", "1,2,3,4,0,0,0,0,0", "第4题的答案 4 超出范围"),
        ("PHQ-9", "1,2,a,0,0,0,0,0,0", "第3题的答案“a”不是数字"),
        ("GDS-15", "2,0,0,0,0,0,0,0,0,0,0,0,0,0,0", "第1题的答案 2 超出范围"),
        ("PHQ-9", "", "没有填写任何答案"),
    ],
)
def test_it_refuses_bad_answers_with_a_chinese_reason(code, answers, message):
    with pytest.raises(InstrumentError, match=message):
        run(code, answers)


def test_it_accepts_a_digit_string_for_fast_paper_entry():
    assert run("PHQ-9", "012301230").total == 12


def test_the_library_is_complete_and_valid():
    codes = {i.code for i in list_instruments()}
    assert codes >= {
        "PHQ-9",
        "PHQ-2",
        "GAD-7",
        "GAD-2",
        "PHQ-15",
        "EPDS",
        "GDS-15",
        "AD8",
        "K10",
        "WHO-5",
        "SDS",
        "SAS",
        "SCL-90",
        "PSQI",
        "ISI",
        "PHQ-A",
        "C-SSRS-SCREENER",
    }
    shipped = {i.code for i in list_instruments() if i.text_installed}
    assert shipped == {"PHQ-9", "PHQ-2", "GAD-7", "GAD-2", "PHQ-15", "GDS-15", "WHO-5"}


def test_codes_are_found_however_they_are_written():
    assert get_instrument("phq9").code == get_instrument("PHQ 9").code == "PHQ-9"
    assert get_instrument("PHQ-9", 1).version == "1"
    with pytest.raises(InstrumentError, match="没有这个量表"):
        get_instrument("ABC")


def test_it_lets_men_skip_the_phq15_menstrual_item_without_imputing_it():
    # Item 4 is asked of women only; a blank counts as "not bothered", not as missing data.
    result = run("PHQ-15", "2,2,2,-,2,0,0,0,0,0,0,0,0,0,0")
    assert (result.total, result.band, result.imputed) == (8, "low", False)
    with pytest.raises(InstrumentError, match="1 个条目未作答"):
        run("PHQ-15", "2,2,2,0,-,0,0,0,0,0,0,0,0,0,0")


def test_it_speaks_english_in_the_english_interface():
    from django.utils import translation

    with translation.override("en"), pytest.raises(InstrumentError) as caught:
        run("PHQ-9", "1,2,3,4,0,0,0,0,0")
    assert str(caught.value) == "The answer to item 4 (4) is out of range (allowed: 0, 1, 2, 3)"
    with translation.override("zh-hans"), pytest.raises(InstrumentError, match="第4题的答案 4"):
        run("PHQ-9", "1,2,3,4,0,0,0,0,0")


def test_scl90_factors_cover_every_item_once_with_the_published_sizes():
    # Factor sizes from the Chinese SCL-90 manual (domain-facts §1.13, wiki.mindseed.cn).
    subscales = get_instrument("SCL-90").subscales
    sizes = {name: len(sub["items"]) for name, sub in subscales.items()}
    assert sizes == {
        "somatization": 12,
        "obsessive_compulsive": 10,
        "interpersonal_sensitivity": 9,
        "depression": 13,
        "anxiety": 10,
        "hostility": 6,
        "phobic_anxiety": 7,
        "paranoid_ideation": 6,
        "psychoticism": 10,
        "additional": 7,
    }
    items = sorted(int(i) for sub in subscales.values() for i in sub["items"])
    assert items == list(range(1, 91))


def test_scl90_worked_example_of_every_index():
    # Worked by hand with the index definitions of domain-facts §1.13: the 13 depression items
    # at 3 and the 30 items numbered 31–60 outside that factor at 2, the rest 1.
    depression = {5, 14, 15, 20, 22, 26, 29, 30, 31, 32, 54, 71, 79}
    codes = [3 if n in depression else 2 if 31 <= n <= 60 else 1 for n in range(1, 91)]
    twos = sum(1 for n in range(31, 61) if n not in depression)  # 27 (31, 32, 54 are depression)
    result = run("SCL-90", ",".join(map(str, codes)))
    total = 13 * 3 + twos * 2 + (90 - 13 - twos)
    assert result.total == total == 143
    s = result.subscales
    assert s["positive_items"] == 40 and s["negative_items"] == 50
    assert s["gsi"] == round(143 / 90, 2) == 1.59
    assert s["positive_symptom_mean"] == round((143 - 50) / 40, 2) == 2.33
    assert s["depression"] == 3.0
    # Positive by the factor rule only (total 143 ≤ 160, 40 positive items ≤ 43).
    assert result.positive and result.band == "positive"
    assert result.critical == [{"item": "15", "level": "red", "answer": 3}]


def test_sds_china_norm_raw_upper_limit_41_is_still_normal():
    # China norm: raw normal upper limit 41 → standard int(41 × 1.25) = 51 < 53 (domain-facts
    # §1.12, wjx.cn/xz/144821812.aspx); raw 42 → 52.5 → 52 is still normal, 43 → 53 mild.
    inst = get_instrument("SDS")
    for raw, standard, band in ((41, 51, "normal"), (42, 52, "normal"), (43, 53, "mild")):
        extra, answers = raw - 20, {}
        for item in inst.items:
            bump = min(3, extra)
            extra -= bump
            answers[item.id] = 4 - bump if item.reverse else 1 + bump
        result = score(inst, answers)
        assert (result.total, result.standard, result.band) == (raw, standard, band)
