"""On PostgreSQL, the database refuses overlapping holding appointments of one counsellor
(an exclusion constraint over tstzrange, which needs btree_gist for the counsellor's "=").
SQLite has no exclusion constraints: there the slot claim (a partial unique index on
counsellor and start time, migration 0001) and the overlap check inside the booking's
IMMEDIATE transaction do the same work."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE booking_appointment ADD CONSTRAINT appointment_no_overlap
  EXCLUDE USING gist (counsellor_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
  WHERE (status IN ('booked', 'arrived', 'completed'));
"""
DROP = "ALTER TABLE booking_appointment DROP CONSTRAINT IF EXISTS appointment_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_appointments_and_vouchers")]
    operations = [migrations.RunPython(forwards, backwards)]
