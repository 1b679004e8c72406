"""Fewer indexes written per submission: the person index that assess_person_idx already leads
with goes, and campaign / import_job get partial indexes (most assessments have neither).

On PostgreSQL the LIKE-pattern twin of the idempotency key's unique index goes too: keys are
only ever matched whole.

The old indexes are dropped by name instead of through AlterField, which on SQLite would copy
the whole assessment table three times."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OLD_INDEXES = [
    "screening_assessment_person_id_1a27a3dd",
    "screening_assessment_campaign_id_56b00df5",
    "screening_assessment_import_job_id_73699b78",
]


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_population_tags"),
        ("screening", "0002_campaign_invitations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="assessment",
                    name="campaign",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assessments",
                        to="screening.campaign",
                        verbose_name="筛查活动",
                    ),
                ),
                migrations.AlterField(
                    model_name="assessment",
                    name="import_job",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="screening.importjob",
                    ),
                ),
                migrations.AlterField(
                    model_name="assessment",
                    name="person",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assessments",
                        to="people.person",
                        verbose_name="居民",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in OLD_INDEXES],
                    reverse_sql=[
                        'CREATE INDEX "screening_assessment_person_id_1a27a3dd" '
                        'ON "screening_assessment" ("person_id")',
                        'CREATE INDEX "screening_assessment_campaign_id_56b00df5" '
                        'ON "screening_assessment" ("campaign_id")',
                        'CREATE INDEX "screening_assessment_import_job_id_73699b78" '
                        'ON "screening_assessment" ("import_job_id")',
                    ],
                )
            ],
        ),
        migrations.RunSQL(
            'DROP INDEX IF EXISTS "screening_assessment_idempotency_key_3855e289_like"',
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="assessment",
            index=models.Index(
                condition=models.Q(("campaign__isnull", False)),
                fields=["campaign"],
                name="assess_campaign_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="assessment",
            index=models.Index(
                condition=models.Q(("import_job__isnull", False)),
                fields=["import_job"],
                name="assess_import_idx",
            ),
        ),
    ]
