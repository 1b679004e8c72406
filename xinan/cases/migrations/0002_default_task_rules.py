from django.db import migrations

# The defaults named in issue 13; admins edit them (and add their own) in the admin.
# key, name, trigger, kind, hours, days, working days, assign to, role, instrument
RULES = [
    ("positive-screen-first-contact", "筛查阳性：3天内首次联系", "positive_screen",
     "first_contact", 0, 3, False, "responsible", "", ""),
    ("red-alert-closed-follow-up", "红色预警关闭：24小时内跟进联系", "red_alert_closed",
     "follow_up_contact", 24, 0, False, "responsible", "", ""),
    ("alert-plan-follow-up", "预警关闭并制定计划：3天内跟进联系", "alert_closed_with_plan",
     "follow_up_contact", 0, 3, False, "responsible", "", ""),
    ("high-risk-call-contact", "热线高危来电：24小时内联系", "high_risk_call",
     "first_contact", 24, 0, False, "responsible", "", ""),
    ("referral-answer", "接收机构2个工作日内答复转介", "referral_sent",
     "referral_answer", 0, 2, True, "role_at_institution", "", ""),
    ("follow-up-2-weeks", "随访复评：2周", "referral_down", "follow_up", 0, 14, False,
     "responsible", "", "phq9"),
    ("follow-up-1-month", "随访复评：1个月", "referral_down", "follow_up", 0, 30, False,
     "responsible", "", "phq9"),
    ("follow-up-3-months", "随访复评：3个月", "referral_down", "follow_up", 0, 90, False,
     "responsible", "", "phq9"),
]


def add_rules(apps, schema_editor):
    TaskRule = apps.get_model("cases", "TaskRule")
    for key, name, trigger, kind, hours, days, working, assign_to, role, instrument in RULES:
        TaskRule.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "trigger": trigger,
                "kind": kind,
                "due_hours": hours,
                "due_days": days,
                "working_days": working,
                "assign_to": assign_to,
                "role": role,
                "instrument": instrument,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
