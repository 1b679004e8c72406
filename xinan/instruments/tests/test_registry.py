import json

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from xinan.instruments import registry
from xinan.instruments.checks import check_instrument_definitions
from xinan.instruments.errors import InstrumentError


def definition(code="PHQ-9"):
    path = registry.DEFINITIONS / "phq9.v1.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_shipped_file_validates():
    assert check_instrument_definitions(None) == []


def test_a_broken_definition_is_rejected_naming_file_and_field():
    data = definition()
    data["bands"][0]["min"] = "zero"
    with pytest.raises(InstrumentError, match=r"bad\.yaml: bands/0/min"):
        registry.build(data, "bad.yaml")
    data = definition()
    data["critical"] = [{"item": "99", "min_value": 1, "level": "red"}]
    with pytest.raises(InstrumentError, match="条目 99 不存在"):
        registry.build(data, "bad.yaml")


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_it_rejects_overlapping_bands_and_duplicate_option_codes():
    data = definition()
    data["bands"][1]["min"] = 4  # mild 4–9 overlaps minimal 0–4
    with pytest.raises(InstrumentError, match="bad.yaml: bands: 分级 minimal 与 mild 重叠"):
        registry.build(data, "bad.yaml")
    data = definition()
    data["option_sets"]["freq"][1][0] = 0
    with pytest.raises(InstrumentError, match="bad.yaml: items/1: 选项代码重复"):
        registry.build(data, "bad.yaml")


def test_it_merges_licensed_option_wording_by_code_and_keeps_the_scoring(tmp_path, settings):
    write_yaml(
        tmp_path / "epds-zh.yaml",
        {
            "code": "epds",
            "version": 1,
            "items": [
                {
                    "id": "3",
                    "text": {"zh": "许可文本三"},
                    "options": [[0, "是，大多数时候", "Yes, most of the time"]],
                }
            ],
        },
    )
    settings.INSTRUMENT_TEXT_DIR = str(tmp_path)
    epds = registry.get_instrument("EPDS")
    item3 = epds.item("3")
    assert item3.text_zh == "许可文本三" and item3.options[0].label_zh == "是，大多数时候"
    assert item3.options[0].value == 3  # reverse item: the top option still scores 3
    assert item3.options[1].label_zh == "第二个选项"  # codes not in the file keep the default
    assert not epds.text_installed  # nine items still have no wording


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"code": "EPDS", "version": "1", "items": [{"id": "11"}]},
            "t.yaml: items: 量表没有这些条目：11",
        ),
        (
            {"code": "EPDS", "version": "1", "items": [{"id": "1", "options": [[7, "x", "x"]]}]},
            "t.yaml: items/1/options: 没有这些选项代码：7",
        ),
        (
            {"code": "EPDS", "version": "9", "items": [{"id": "1"}]},
            "t.yaml: code: 没有对应的量表定义",
        ),
        ({"code": "EPDS", "version": "1", "items": [{"id": "1", "txt": "x"}]}, "t.yaml: items/0"),
    ],
)
def test_a_broken_licensed_text_file_is_named(tmp_path, settings, data, message):
    write_yaml(tmp_path / "t.yaml", data)
    settings.INSTRUMENT_TEXT_DIR = str(tmp_path)
    with pytest.raises(InstrumentError, match=message):
        registry.load_registry()
    errors = check_instrument_definitions(None)
    assert len(errors) == 1 and errors[0].id == "xinan.E101" and "t.yaml" in errors[0].msg


def test_a_licensed_deployment_loads_item_text(tmp_path, settings):
    (tmp_path / "epds.yaml").write_text(
        yaml.safe_dump(
            {
                "code": "EPDS",
                "version": "1",
                "items": [{"id": str(i), "text": {"zh": f"第{i}题文本"}} for i in range(1, 11)],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    settings.INSTRUMENT_TEXT_DIR = str(tmp_path)
    epds = registry.get_instrument("EPDS")
    assert epds.text_installed and epds.items[9].text_zh == "第10题文本"
    settings.INSTRUMENT_TEXT_DIR = None
    assert not registry.get_instrument("EPDS").text_installed


def test_cutoffs_are_per_deployment(settings):
    from xinan.instruments.engine import score

    phq9 = registry.get_instrument("PHQ-9")
    assert not score(phq9, [1, 1, 1, 1, 1, 1, 1, 1, 0]).positive
    settings.INSTRUMENT_CUTOFF_OVERRIDES = {"PHQ-9": {"min": 8}}
    assert score(phq9, [1, 1, 1, 1, 1, 1, 1, 1, 0]).positive


def test_the_score_command_prints_json(capsys):
    call_command("score", "PHQ-9", "0,1,2,3,0,1,2,3,1")
    data = json.loads(capsys.readouterr().out)
    assert data["instrument"] == "PHQ-9" and data["total"] == 13
    assert data["band"] == "moderate" and data["band_label"] == "中度抑郁症状"
    assert data["positive"] is True
    assert data["critical"] == [{"item": "9", "level": "red", "answer": 1}]


def test_it_scores_a_named_version_from_the_command_line(capsys):
    call_command("score", "GAD-7", "3,3,3,3,3,3,3", "--version", "1")
    data = json.loads(capsys.readouterr().out)
    assert (data["version"], data["total"], data["band"]) == ("1", 21, "severe")
    with pytest.raises(CommandError, match="量表 GAD-7 没有版本 2"):
        call_command("score", "GAD-7", "3,3,3,3,3,3,3", version="2")


def test_the_score_command_fails_clearly():
    with pytest.raises(CommandError, match="有 9 个条目，收到 2 个答案"):
        call_command("score", "PHQ-9", "1,2")
    with pytest.raises(CommandError, match="没有这个量表"):
        call_command("score", "NOPE", "1")


def test_the_scales_command_lists_licences(capsys):
    call_command("scales")
    out = capsys.readouterr().out
    assert "PHQ-9" in out and "proprietary-derogatis" in out


def test_it_moves_band_and_cutoff_together(settings):
    from xinan.instruments.engine import score

    psqi = registry.get_instrument("PSQI")
    answers = {"q1": "23:00", "q2": "20", "q3": "07:00", "q4": "7", "q7": "0", "q8": "1"}
    answers |= {"q6": "2", "q9": "1", **{f"q5{c}": "1" for c in "abcdefghi"}}
    # C1 2, C2 (1+1→1), C3 1, C4 (7/8 = 87.5% → 0), C5 (9 → 1), C6 0, C7 (2 → 1) = 6
    shipped = score(psqi, answers)
    assert (shipped.total, shipped.band, shipped.positive) == (6, "good", False)
    # The original Buysse cut-off (>5) as a deployment would set it.
    settings.INSTRUMENT_CUTOFF_OVERRIDES = {"psqi": {"min": 6, "band_edges": {"poor": 6}}}
    moved = score(psqi, answers)
    assert (moved.total, moved.band, moved.positive) == (6, "poor", True)
    assert score(psqi, answers | {"q6": "1"}).band == "good"  # 5 stays good


def test_a_numeric_override_replaces_a_band_rule(settings):
    from xinan.instruments.engine import score

    gad2 = registry.get_instrument("GAD-2")
    assert not score(gad2, [1, 1]).positive
    settings.INSTRUMENT_CUTOFF_OVERRIDES = {"GAD-2": {"min": 2}}
    assert score(gad2, [1, 1]).positive


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"PHQ-9": {"cutoff": 8}}, "PHQ-9: 不能覆盖“cutoff”"),
        ({"NOPE": {"min": 1}}, "没有这个量表：NOPE"),
        ({"PHQ-9": {"min": "8"}}, "PHQ-9: min 应为数字"),
        ({"EPDS": {"bands": ["huge"]}}, "EPDS: bands 中有未知分级"),
        ({"EPDS": {"band_edges": {"possible": 14}}}, "EPDS: band_edges 的下限须逐级递增"),
        ({"EPDS": {"band_edges": {"possible": "9"}}}, "EPDS: band_edges 应为 {分级: 下限}"),
        ({"SCL-90": {"min": 200}}, "SCL-90: 不能覆盖“min”"),
    ],
)
def test_the_check_refuses_overrides_that_would_be_ignored(settings, overrides, problem):
    settings.INSTRUMENT_CUTOFF_OVERRIDES = overrides
    errors = check_instrument_definitions(None)
    assert [e.id for e in errors] == ["xinan.E102"] and problem in errors[0].msg


def test_the_check_accepts_sensible_overrides(settings):
    settings.INSTRUMENT_CUTOFF_OVERRIDES = {
        "PHQ-9": {"min": 8},
        "EPDS": {"min": 9, "band_edges": {"possible": 9}},
        "scl90": {"total_above": 170},
    }
    assert check_instrument_definitions(None) == []
