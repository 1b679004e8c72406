# The role worklist index in due order (area tested inside the index): a town's first page
# walks a few hundred entries instead of sorting every open task of the town.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_intervention_service_site")]

    operations = [
        migrations.RemoveIndex(model_name="task", name="cases_task_role_idx"),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["assignee_role", "status", "due_at", "assignee_area_code"],
                name="cases_task_role_due_idx",
            ),
        ),
    ]
