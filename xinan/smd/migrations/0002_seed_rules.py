"""The spec's classification rules and cadences as data (xinan/smd/defaults.py; docs/smd.md)."""

from django.db import migrations


def seed(apps, schema_editor):
    from xinan.smd import defaults

    defaults.ensure(apps.get_model("smd", "ClassificationRule"), apps.get_model("smd", "Cadence"))


class Migration(migrations.Migration):
    dependencies = [("smd", "0001_registry")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
