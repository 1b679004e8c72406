"""Break-the-glass grants become access grants: the same rows (same ids, so review links and
audit entries still point at them), now with a kind, a source, a creator and a revocation, and
given either to a user or to an institution."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def existing_rows_are_break_glass(apps, schema_editor):
    AccessGrant = apps.get_model("core", "AccessGrant")
    # Every row so far was opened by its own user from an exact ID-number search.
    for grant in AccessGrant.objects.filter(created_by__isnull=True).iterator():
        grant.kind = "break_glass"
        grant.source = "people.search"
        grant.created_by_id = grant.to_user_id
        grant.save(update_fields=["kind", "source", "created_by"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_area_and_site_booking_links"),
        ("people", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("BreakGlassGrant", "AccessGrant"),
        migrations.RenameField("accessgrant", "user", "to_user"),
        migrations.AlterField(
            model_name="accessgrant",
            name="to_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="access_grants",
                to=settings.AUTH_USER_MODEL,
                verbose_name="授权给用户",
            ),
        ),
        migrations.AddField(
            model_name="accessgrant",
            name="to_institution",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="access_grants",
                to="core.institution",
                verbose_name="授权给机构",
            ),
        ),
        migrations.AddField(
            model_name="accessgrant",
            name="kind",
            field=models.CharField(
                choices=[
                    ("break_glass", "紧急授权"),
                    ("referral", "转介接收"),
                    ("case_assignment", "个案指派"),
                ],
                default="break_glass",
                max_length=30,
                verbose_name="授权类型",
            ),
        ),
        migrations.AddField(
            model_name="accessgrant",
            name="source",
            field=models.CharField(blank=True, db_index=True, max_length=100, verbose_name="来源"),
        ),
        migrations.AddField(
            model_name="accessgrant",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="accessgrant",
            name="reason",
            field=models.TextField(verbose_name="授权理由"),
        ),
        migrations.AlterField(
            model_name="accessgrant",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="到期"),
        ),
        migrations.AddField(
            model_name="accessgrant",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="撤销时间"),
        ),
        migrations.AddField(
            model_name="accessgrant",
            name="revoked_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="accessgrant",
            name="revoke_reason",
            field=models.TextField(blank=True, verbose_name="撤销理由"),
        ),
        migrations.AlterModelOptions(
            name="accessgrant",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "访问授权",
                "verbose_name_plural": "访问授权",
            },
        ),
        migrations.RunPython(existing_rows_are_break_glass, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="accessgrant",
            index=models.Index(fields=["to_user", "person"], name="grant_user_person_idx"),
        ),
        migrations.AddIndex(
            model_name="accessgrant",
            index=models.Index(fields=["to_institution", "person"], name="grant_inst_person_idx"),
        ),
        migrations.AddConstraint(
            model_name="accessgrant",
            constraint=models.CheckConstraint(
                condition=models.Q(to_user__isnull=True, to_institution__isnull=False)
                | models.Q(to_user__isnull=False, to_institution__isnull=True),
                name="grant_to_user_xor_institution",
            ),
        ),
    ]
