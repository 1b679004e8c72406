"""Account phones kept like a person's (encrypted, keyed hash, masked copy); resident usernames
no longer the phone; memberships that wait for a second administrator's approval.

Existing rows are converted in place: each phone is encrypted and hashed, a resident whose
username was the phone gets a derived username, and audit entries whose actor label was that
phone are relabelled (the label only; the entries keep their actor id).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import xinan.core.lib.crypto


def protect_phones(apps, schema_editor):
    from xinan.accounts.models import resident_username
    from xinan.core.lib import crypto
    from xinan.core.lib import phone as phone_lib

    connection = schema_editor.connection
    qn = connection.ops.quote_name
    users = qn("accounts_user")
    audit = qn("core_auditentry")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, username, phone FROM {users} WHERE phone IS NOT NULL")  # noqa: S608
        rows = cursor.fetchall()
        for pk, username, number in rows:
            if not number:
                continue
            new_username = resident_username(number) if username == number else username
            cursor.execute(
                f"UPDATE {users} SET phone = %s, phone_hash = %s, phone_masked = %s, "  # noqa: S608
                "username = %s WHERE id = %s",
                [
                    crypto.encrypt(number),
                    crypto.lookup_hash(number),
                    phone_lib.mask(number),
                    new_username,
                    pk,
                ],
            )
            cursor.execute(
                f"UPDATE {audit} SET actor_label = %s WHERE actor_label = %s",  # noqa: S608
                [new_username, number],
            )
        cursor.execute(f"UPDATE {users} SET phone = '' WHERE phone IS NULL")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_totp_last_step"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="phone_hash",
            field=models.CharField(
                blank=True, editable=False, max_length=64, null=True, unique=True
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="phone_masked",
            field=models.CharField(
                blank=True, editable=False, max_length=20, verbose_name="手机号"
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=xinan.core.lib.crypto.EncryptedTextField(
                blank=True, null=True, verbose_name="手机号"
            ),
        ),
        migrations.RunPython(protect_phones, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=xinan.core.lib.crypto.EncryptedTextField(blank=True, verbose_name="手机号"),
        ),
        migrations.AddField(
            model_name="membership",
            name="pending",
            field=models.BooleanField(default=False, verbose_name="待审批"),
        ),
        migrations.AddField(
            model_name="membership",
            name="requested_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="申请人",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="approved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="批准人",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="approved_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="批准时间"),
        ),
    ]
