"""After 0005 gave every callback its loop task: the due time, holder and completion columns
go (they live on cases.Task now), and every callback has its task."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crisis", "0005_callback_tasks")]

    operations = [
        migrations.AlterModelOptions(
            name="callbacktask",
            options={
                "ordering": ["task__due_at", "id"],
                "verbose_name": "回电任务",
                "verbose_name_plural": "回电任务",
            },
        ),
        migrations.RemoveField(model_name="callbacktask", name="assigned_to"),
        migrations.RemoveField(model_name="callbacktask", name="done_at"),
        migrations.RemoveField(model_name="callbacktask", name="done_by"),
        migrations.RemoveField(model_name="callbacktask", name="due_at"),
        migrations.AlterField(
            model_name="callbacktask",
            name="task",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="crisis_callback",
                to="cases.task",
            ),
        ),
    ]
