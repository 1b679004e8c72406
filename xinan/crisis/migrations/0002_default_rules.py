"""Default alert rules. Levels are data: a deployment edits them in admin; re-running is safe."""

from django.db import migrations

RULES = [
    # key, name, trigger, instrument, item, bands, threshold, level, sort
    ("phq9-item9", "PHQ-9 第9题（自伤/死亡念头）", "critical_item", "phq9", "9", "", None, "red", 10),
    ("phqa-item9", "PHQ-A 第9题（自伤/死亡念头）", "critical_item", "phqa", "9", "", None, "red", 11),
    ("epds-item10", "EPDS 第10题（伤害自己的念头）", "critical_item", "epds", "10", "", None, "red", 12),
    ("cssrs-high", "C-SSRS 筛查 高风险", "severe_band", "cssrs", "", "high,高风险", None, "red", 20),
    ("cssrs-screener-high", "C-SSRS 筛查 高风险", "severe_band", "cssrsscreener", "", "high,高风险",
     None, "red", 21),
    ("any-critical-item", "其他量表危机条目（按量表定义级别）", "critical_item", "", "", "", None, "", 50),
    ("phq9-severe", "PHQ-9 重度", "severe_band", "phq9", "", "severe,重度,重度抑郁", None, "orange", 60),
    ("phqa-severe", "PHQ-A 重度", "severe_band", "phqa", "", "severe,重度,重度抑郁", None, "orange", 61),
    ("epds-probable", "EPDS ≥13 可能抑郁", "severe_band", "epds", "", "probable,建议转诊", None,
     "yellow", 62),
    ("worsening-5", "同一量表较上次加重 ≥5 分", "rapid_worsening", "", "", "", 5, "yellow", 80),
    ("hotline-high-risk", "热线高危来电", "hotline_high_risk", "", "", "", None, "red", 90),
    ("callback-request", "居民请求回电", "callback_request", "", "", "", None, "orange", 91),
    ("manual", "人工上报", "manual", "", "", "", None, "", 99),
]


def seed(apps, schema_editor):
    AlertRule = apps.get_model("crisis", "AlertRule")
    for key, name, trigger, instrument, item, bands, threshold, level, sort in RULES:
        AlertRule.objects.get_or_create(
            key=key,
            defaults=dict(
                name=name,
                trigger=trigger,
                instrument=instrument,
                item=item,
                bands=bands,
                threshold=threshold,
                level=level,
                sort_order=sort,
            ),
        )


class Migration(migrations.Migration):
    dependencies = [("crisis", "0001_alerts_rosters_hotline")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
