from xinan.crisis import rules
from xinan.crisis.models import AlertRule


def _eval(**payload):
    return rules.evaluate(payload, AlertRule.objects.all())


def test_it_fires_red_for_phq9_item9_whatever_the_total(db):
    matches = _eval(
        instrument="PHQ-9",
        total=1,
        band="minimal",
        critical=[{"item": 9, "level": "red", "answer": 1}],
    )
    assert [(m.rule_key, m.level) for m in matches] == [("phq9-item9", "red")]


def test_it_reads_item_numbers_however_they_are_spelled(db):
    for item in (9, "9", "q9", "phq9_9", "item9"):
        matches = _eval(instrument="phq_9", critical=[{"item": item, "level": "red", "answer": 2}])
        assert matches[0].rule_key == "phq9-item9", item


def test_it_fires_red_for_epds_item10_and_phqa_item9(db):
    assert (
        _eval(instrument="EPDS", critical=[{"item": 10, "level": "yellow", "answer": 1}])[0].level
        == "red"
    )
    assert (
        _eval(instrument="PHQ-A", critical=[{"item": 9, "level": "red", "answer": 1}])[0].rule_key
        == "phqa-item9"
    )


def test_it_uses_the_instrument_level_for_other_critical_items(db):
    matches = _eval(instrument="SCL-90", critical=[{"item": 15, "level": "orange", "answer": 3}])
    assert [(m.rule_key, m.level) for m in matches] == [("any-critical-item", "orange")]


def test_it_fires_for_the_cssrs_high_band_and_phq9_severe(db):
    assert _eval(instrument="C-SSRS", band="high")[0].level == "red"
    assert _eval(instrument="cssrs_screener", band="high")[0].level == "red"
    assert _eval(instrument="phq9", band="severe", total=22)[0].level == "orange"


def test_it_fires_yellow_on_worsening_by_five_points(db):
    assert _eval(instrument="gad7", total=12, previous_total=7)[0].rule_key == "worsening-5"
    assert _eval(instrument="gad7", total=11, previous_total=7) == []
    assert _eval(instrument="gad7", total=12, previous_total=None) == []


def test_it_puts_the_strongest_match_first(db):
    matches = _eval(
        instrument="phq9",
        band="severe",
        total=24,
        previous_total=10,
        critical=[{"item": 9, "level": "red", "answer": 3}],
    )
    assert [m.level for m in matches] == ["red", "orange", "yellow"]


def test_it_fires_nothing_for_a_calm_answer_sheet(db):
    assert _eval(instrument="phq9", band="mild", total=6, previous_total=4) == []


def test_it_honours_levels_and_switches_edited_in_admin(db):
    AlertRule.objects.filter(key="phq9-severe").update(level="red")
    AlertRule.objects.filter(key="worsening-5").update(active=False)
    assert _eval(instrument="phq9", band="severe")[0].level == "red"
    assert _eval(instrument="phq9", total=20, previous_total=5, band="x") == []
