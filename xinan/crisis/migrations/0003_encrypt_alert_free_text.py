"""Alert summaries and closing reasons (free text, possibly clinical) encrypted at rest; the
audit entries that copied them get an empty reason (the text stays, encrypted, on the alert)."""

from django.db import migrations

import xinan.core.lib.crypto

FREE_TEXT_ACTIONS = ("crisis.alert.raise", "crisis.alert.repeat", "crisis.alert.close")


def encrypt_existing(apps, schema_editor):
    from xinan.core.lib import crypto

    connection = schema_editor.connection
    alert = apps.get_model("crisis", "Alert")._meta.db_table
    audit = apps.get_model("core", "AuditEntry")._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, summary, close_reason FROM {alert}")  # noqa: S608
        for pk, summary, close_reason in cursor.fetchall():
            values = [_encrypted(crypto, summary), _encrypted(crypto, close_reason), pk]
            cursor.execute(
                f"UPDATE {alert} SET summary = %s, close_reason = %s WHERE id = %s",  # noqa: S608
                values,
            )
        placeholders = ", ".join(["%s"] * len(FREE_TEXT_ACTIONS))
        cursor.execute(
            f"UPDATE {audit} SET reason = '' WHERE action IN ({placeholders})",  # noqa: S608
            list(FREE_TEXT_ACTIONS),
        )


def _encrypted(crypto, value):
    if not value:
        return value or ""
    try:
        crypto.decrypt(value)
        return value  # already ciphertext (a re-run)
    except Exception:  # noqa: BLE001 — plain text
        return crypto.encrypt(value)


class Migration(migrations.Migration):
    dependencies = [
        ("crisis", "0002_default_rules"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="close_reason",
            field=xinan.core.lib.crypto.EncryptedTextField(blank=True, verbose_name="关闭理由"),
        ),
        migrations.AlterField(
            model_name="alert",
            name="summary",
            field=xinan.core.lib.crypto.EncryptedTextField(verbose_name="摘要"),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
