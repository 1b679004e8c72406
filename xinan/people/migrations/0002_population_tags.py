from django.db import migrations

# Key populations (重点人群) and the special populations (特殊人群) named in the seed documents
# (绍兴 2024, 长宁 2019 task 12).
TAGS = [
    ("elderly", "老年人", False),
    ("child_adolescent", "儿童青少年", False),
    ("perinatal", "孕产妇", False),
    ("worker", "职业人群", False),
    ("disabled", "残疾人", False),
    ("empty_nest", "空巢独居老人", False),
    ("left_behind_child", "留守儿童", False),
    ("vagrant", "流浪乞讨人员", True),
    ("prisoner", "服刑及被监管人员", True),
    ("released_prisoner", "刑满释放人员", True),
    ("compulsory_rehab", "强制隔离戒毒人员", True),
    ("community_correction", "社区矫正人员", True),
    ("drug_user", "社会吸毒及社区戒毒康复人员", True),
    ("hiv", "艾滋病病毒感染者和病人", True),
    ("smd_risk", "易肇事肇祸严重精神障碍患者", True),
    ("extreme_behaviour", "言行极端人员", True),
    ("petition", "信访重点人员", True),
]


def add_tags(apps, schema_editor):
    PopulationTag = apps.get_model("people", "PopulationTag")
    for order, (code, name, special) in enumerate(TAGS):
        PopulationTag.objects.update_or_create(
            code=code, defaults={"name": name, "special": special, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
