"""The spec's classification, table-driven from its definitions (docs/smd.md §classification)."""

import datetime as dt

import pytest

from xinan.smd import defaults, rules, services
from xinan.smd.models import Cadence, ClassificationRule


@pytest.fixture(autouse=True)
def _spec_rows(db):
    defaults.ensure()  # a transactional test elsewhere may have flushed the seeded rows


STABLE = {
    "reached": True,
    "risk_level": 0,
    "psychotic": "1",
    "insight": "1",
    "adverse": "0",
    "physical_illness": "0",
    "social_self_care": "1",
    "social_housework": "2",
    "social_work": "9",
    "social_learning": "1",
    "social_contact": "2",
}

CASES = [
    # (why, changes to a stable follow-up, expected class, rule keys that fired)
    ("危险性0级且各项良好或一般 → 稳定", {}, "stable", ["stable"]),
    ("危险性1级 → 基本稳定", {"risk_level": 1}, "basic", ["basic_risk"]),
    ("危险性2级 → 基本稳定", {"risk_level": 2}, "basic", ["basic_risk"]),
    ("危险性3级 → 不稳定", {"risk_level": 3}, "unstable", ["unstable_risk"]),
    ("危险性4级 → 不稳定", {"risk_level": 4}, "unstable", ["unstable_risk"]),
    ("危险性5级 → 不稳定", {"risk_level": 5}, "unstable", ["unstable_risk"]),
    ("精神病性症状明显 → 不稳定", {"psychotic": "3"}, "unstable", ["unstable_psychotic"]),
    ("自知力缺乏 → 不稳定", {"insight": "3"}, "unstable", ["unstable_insight"]),
    ("严重药物不良反应 → 不稳定", {"adverse": "2"}, "unstable", ["unstable_adverse"]),
    ("严重躯体疾病 → 不稳定", {"physical_illness": "2"}, "unstable", ["unstable_physical"]),
    ("精神症状较差 → 基本稳定", {"psychotic": "2"}, "basic", ["basic_psychotic"]),
    ("自知力不全 → 基本稳定", {"insight": "2"}, "basic", ["basic_insight"]),
    ("社会功能一项较差 → 基本稳定", {"social_contact": "3"}, "basic", ["basic_social"]),
    ("轻度不良反应不妨碍稳定", {"adverse": "1"}, "stable", ["stable"]),
    ("工作此项不适用不妨碍稳定", {"social_work": "9"}, "stable", ["stable"]),
    (
        "不稳定压过基本稳定：列出不稳定的全部依据",
        {"risk_level": 4, "insight": "3", "social_contact": "3"},
        "unstable",
        ["unstable_risk", "unstable_insight"],
    ),
    ("未访到 → 未访到", {"reached": False, "risk_level": 5}, "not_reached", ["not_reached"]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("why", "changes", "expected", "keys"), CASES, ids=[c[0] for c in CASES])
def test_it_classifies_as_the_spec_defines(why, changes, expected, keys):
    result = rules.classify({**STABLE, **changes}, ClassificationRule.objects.all())
    assert result.classification == expected, why
    assert [f["key"] for f in result.fired] == keys


@pytest.mark.django_db
def test_it_ignores_an_inactive_rule():
    ClassificationRule.objects.filter(key="basic_social").update(active=False)
    result = rules.classify({**STABLE, "social_contact": "3"}, ClassificationRule.objects.all())
    assert result.classification == "stable"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cls", "risk", "days", "police"),
    [("unstable", 4, 14, True), ("unstable", 0, 14, False), ("basic", 1, 14, False),
     ("stable", 0, 90, False), ("not_reached", None, 14, False)],
)  # fmt: skip
def test_it_plans_the_next_visit_and_actions(cls, risk, days, police):
    visit = dt.date(2026, 11, 2)
    plan = rules.plan(cls, risk, visit, Cadence.objects.all())
    assert plan.latest == visit + dt.timedelta(days=days)
    assert any("公安" in a for a in plan.actions) is police
    if cls == "unstable":
        assert plan.actions[0].startswith("对症处理后立即转诊")


@pytest.mark.django_db
def test_the_spec_rows_come_back_when_every_rule_was_deleted():
    ClassificationRule.objects.all().delete()
    Cadence.objects.all().delete()
    result = rules.classify({**STABLE, "risk_level": 3}, services.active_rules())
    assert result.classification == "unstable"
    assert rules.plan("stable", 0, dt.date(2026, 1, 1), services.cadences()).max_days == 90
