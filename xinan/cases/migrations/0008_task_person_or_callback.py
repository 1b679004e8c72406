"""Only a crisis callback may lack a person (an anonymous caller's number): every other task is
some person's work, and the database now says so. "回电" (a worker's call back in a case) is
relabelled 回电联系, apart from the crisis desk's 危机回电; the stored values stay."""

from django.db import migrations, models

KINDS = [
    ("first_contact", "首次联系"),
    ("follow_up_contact", "跟进联系"),
    ("referral_answer", "答复转介"),
    ("follow_up", "随访复评"),
    ("callback", "回电联系"),
    ("crisis_callback", "危机回电"),
    ("escalation", "逾期督办"),
    ("other", "其他"),
]


def check_people(apps, schema_editor):
    """Nothing but the callback path has made a task without a person; say so plainly if
    something did, rather than fail on the constraint below."""
    Task = apps.get_model("cases", "Task")
    stray = Task.objects.filter(person__isnull=True).exclude(kind="crisis_callback")
    if stray.exists():
        ids = list(stray.values_list("pk", flat=True)[:20])
        raise RuntimeError(
            f"cases.Task without a person that is not a crisis callback: {ids}; "
            "give each its person (or remove it) before this migration"
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_callback_tasks")]

    operations = [
        migrations.AlterField(
            model_name="task",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=20, verbose_name="类型"),
        ),
        migrations.AlterField(
            model_name="taskrule",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=20, verbose_name="任务类型"),
        ),
        migrations.RunPython(check_people, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("person__isnull", False), ("kind", "crisis_callback"), _connector="OR"
                ),
                name="cases_task_person_or_callback",
                violation_error_message="只有危机回电可以没有对应的居民",
            ),
        ),
    ]
