"""The spec's classification rules and cadences (2018 规范 / 基本公卫第三版; docs/smd.md).

Seeded by migration 0002 and editable in the admin; `ensure()` puts them back when a table is
empty (a fresh test database flushed by a transactional test, or every row deleted by hand),
so a follow-up is never classified without the spec's rules.
"""

from django.utils.translation import gettext_noop

RULES = [
    # key, class, fields, op, values, definition, order
    ("unstable_risk", "unstable", "risk_level", "gte", "3", gettext_noop("危险性评估为3～5级"), 10),
    (
        "unstable_psychotic",
        "unstable",
        "psychotic",
        "in",
        "3",
        gettext_noop("精神病性症状明显"),
        11,
    ),
    ("unstable_insight", "unstable", "insight", "in", "3", gettext_noop("自知力缺乏"), 12),
    (
        "unstable_adverse",
        "unstable",
        "adverse",
        "in",
        "2",
        gettext_noop("有急性药物不良反应或严重药物不良反应"),
        13,
    ),
    (
        "unstable_physical",
        "unstable",
        "physical_illness",
        "in",
        "2",
        gettext_noop("有严重躯体疾病"),
        14,
    ),
    ("basic_risk", "basic", "risk_level", "in", "1,2", gettext_noop("危险性评估为1～2级"), 20),
    ("basic_psychotic", "basic", "psychotic", "in", "2", gettext_noop("精神症状较差"), 21),
    ("basic_insight", "basic", "insight", "in", "2", gettext_noop("自知力较差"), 22),
    (
        "basic_social",
        "basic",
        "social_self_care,social_housework,social_work,social_learning,social_contact",
        "any_in",
        "3",
        gettext_noop("社会功能状况较差"),
        23,
    ),
]

CADENCES = [
    (
        "unstable",
        14,
        [
            gettext_noop("对症处理后立即转诊到上级医院"),
            gettext_noop("对未住院患者，在精神专科医师、居委会人员、民警的共同协助下，2周内随访"),
        ],
        [gettext_noop("报告当地公安部门，协助送院治疗")],
    ),
    (
        "basic",
        14,
        [
            gettext_noop(
                "判断是病情波动或药物疗效不佳，还是药物不良反应或躯体症状恶化，分别在规定剂量范围内"
                "调整现用药物剂量，或查找原因对症治疗"
            ),
            gettext_noop("必要时与患者原主管医生取得联系，或在精神专科医师指导下治疗"),
            gettext_noop(
                "观察2周：若情况趋于稳定，可维持目前治疗方案，3个月时随访；若初步处理无效，建议转诊"
                "到上级医院，2周内随访转诊情况"
            ),
        ],
        [],
    ),
    (
        "stable",
        90,
        [gettext_noop("继续执行上级医院制定的治疗方案"), gettext_noop("3个月时随访")],
        [],
    ),
    (
        "not_reached",
        14,
        [
            gettext_noop("2周内再次随访"),
            gettext_noop("联系监护人和村（居）委会了解患者去向；连续3次未访到按失访登记"),
        ],
        [],
    ),
]


def ensure(rule_model=None, cadence_model=None) -> None:
    """Create the default rows of whichever table is empty."""
    if rule_model is None or cadence_model is None:
        from xinan.smd.models import Cadence, ClassificationRule

        rule_model, cadence_model = ClassificationRule, Cadence
    if not rule_model.objects.exists():
        rule_model.objects.bulk_create(
            [
                rule_model(key=key, classification=cls, fields=fields, op=op, values=values,
                           definition=definition, sort_order=order)
                for key, cls, fields, op, values, definition, order in RULES
            ],
            ignore_conflicts=True,
        )  # fmt: skip
    if not cadence_model.objects.exists():
        cadence_model.objects.bulk_create(
            [
                cadence_model(classification=cls, max_days=days, actions="\n".join(actions),
                              police_actions="\n".join(police))
                for cls, days, actions, police in CADENCES
            ],
            ignore_conflicts=True,
        )  # fmt: skip
