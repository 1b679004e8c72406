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


def test_the_score_command_fails_clearly():
    with pytest.raises(CommandError, match="有 9 个条目，收到 2 个答案"):
        call_command("score", "PHQ-9", "1,2")
    with pytest.raises(CommandError, match="没有这个量表"):
        call_command("score", "NOPE", "1")


def test_the_scales_command_lists_licences(capsys):
    call_command("scales")
    out = capsys.readouterr().out
    assert "PHQ-9" in out and "proprietary-derogatis" in out
