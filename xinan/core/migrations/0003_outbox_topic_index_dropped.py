"""Fewer indexes written per event and per audit entry.

- The outbox's own topic index goes: outbox_pending_idx (topic, processed_at) leads with it.
  Dropped by name (with PostgreSQL's pattern index) rather than through AlterField, which on
  SQLite copies the table.
- On PostgreSQL, the LIKE-pattern twins of the audit's action and object_id indexes go: the
  audit log matches object_id exactly and searches action anywhere in the text, which no
  B-tree serves. (area_code keeps its twin: areas are matched by prefix.)
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="outboxevent",
                    name="topic",
                    field=models.CharField(max_length=80),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        'DROP INDEX IF EXISTS "core_outboxevent_topic_6512ae7c_like"',
                        'DROP INDEX IF EXISTS "core_outboxevent_topic_6512ae7c"',
                    ],
                    reverse_sql=[
                        'CREATE INDEX "core_outboxevent_topic_6512ae7c" '
                        'ON "core_outboxevent" ("topic")',
                    ],
                )
            ],
        ),
        migrations.RunSQL(
            [
                'DROP INDEX IF EXISTS "core_auditentry_action_6ad0fad5_like"',
                'DROP INDEX IF EXISTS "core_auditentry_object_id_bb227230_like"',
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
