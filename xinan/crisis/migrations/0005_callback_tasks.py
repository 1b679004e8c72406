"""A callback's due time, holder and completion move to a cases Task of kind crisis_callback
(xinan/cases/callbacks.py); the crisis row keeps the number, message, call and alert and
points at its task. Every existing callback gets its task: open ones stay open with their due
time and holder (or the crisis workers of their area), done ones are done with who and when.
The old columns go in 0006, a transaction of its own: PostgreSQL does not alter a table while
the new tasks' foreign-key checks are still pending."""

import django.db.models.deletion
from django.db import migrations, models

OUTCOMES = {
    "reached": "已接通",
    "no_answer": "无人接听",
    "wrong_number": "号码错误",
    "visited": "上门见到本人",
    "family": "联系到家属",
}


def to_tasks(apps, schema_editor):
    CallbackTask = apps.get_model("crisis", "CallbackTask")
    Task = apps.get_model("cases", "Task")
    rows = CallbackTask.objects.filter(task__isnull=True).select_related("alert", "call")
    for cb in rows.iterator():
        person_id = (cb.alert.person_id if cb.alert_id else None) or (
            cb.call.person_id if cb.call_id else None
        )
        title = "热线高危来电回电" if cb.call_id else "居民请求回电"
        if person_id is None and cb.phone_masked:
            title = f"{title} {cb.phone_masked}"
        done = cb.done_at is not None
        held = {"assignee_id": cb.assigned_to_id or (cb.done_by_id if done else None)}
        if held["assignee_id"] is None:
            held = {"assignee_role": "crisis_worker", "assignee_area_code": cb.area_code}
        task = Task.objects.create(
            kind="crisis_callback",
            title=title,
            due_at=cb.due_at,
            status="done" if done else "open",
            area_code=cb.area_code,
            person_id=person_id,
            created_at=cb.created_at,
            done_at=cb.done_at,
            done_by_id=cb.done_by_id,
            result=OUTCOMES.get(cb.outcome, ""),
            link=f"/crisis/alerts/{cb.alert_id}/" if cb.alert_id else "/crisis/hotline/",
            **held,
        )
        cb.task_id = task.pk
        cb.save(update_fields=["task"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_callback_tasks"),
        ("crisis", "0004_fallback_reveal_handover_callback_escalation"),
    ]

    operations = [
        migrations.AddField(
            model_name="callbacktask",
            name="task",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="crisis_callback",
                to="cases.task",
            ),
        ),
        # Forward only: the old columns are gone afterwards, so there is nothing to copy back.
        migrations.RunPython(to_tasks, migrations.RunPython.noop),
    ]
