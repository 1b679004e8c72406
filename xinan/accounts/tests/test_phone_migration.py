"""The migration that encrypts account phones converts existing rows in place (finding 11.8):
a resident whose username was the phone gets a derived one and logs in by phone as before,
and audit labels that were the phone are relabelled."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from xinan.accounts.models import User, resident_username
from xinan.core.lib import crypto

BEFORE = [("accounts", "0003_totp_last_step"), ("core", "0004_area_and_site_booking_links")]
AFTER = [("accounts", "0004_phone_encrypted_membership_approval")]


@pytest.mark.django_db(transaction=True)
def test_existing_phones_are_encrypted_and_usernames_derived(client):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldUser = old.get_model("accounts", "User")
    OldAudit = old.get_model("core", "AuditEntry")
    resident = OldUser.objects.create(
        username="13700009999", phone="13700009999", password="!", date_joined="2026-01-01T00:00Z"
    )
    OldUser.objects.create(
        username="gw_z", phone="13600001111", password="!", date_joined="2026-01-01T00:00Z"
    )
    OldUser.objects.create(username="nophone", password="!", date_joined="2026-01-01T00:00Z")
    OldAudit.objects.create(
        actor_id=resident.pk, actor_label="13700009999", action="accounts.login", object_id="1"
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        with connection.cursor() as cursor:
            cursor.execute("SELECT username, phone, phone_hash FROM accounts_user ORDER BY id")
            rows = cursor.fetchall()
            cursor.execute("SELECT actor_label FROM core_auditentry")
            labels = [r[0] for r in cursor.fetchall()]
        (r_name, r_phone, r_hash), (s_name, s_phone, _h), (n_name, n_phone, n_hash) = rows
        assert r_name == resident_username("13700009999") and "13700009999" not in r_phone
        assert r_hash == crypto.lookup_hash("13700009999")
        assert s_name == "gw_z" and "13600001111" not in s_phone  # staff keep their username
        assert (n_name, n_phone, n_hash) == ("nophone", "", None)
        assert labels == [r_name]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    user = User.objects.get(username=resident_username("13700009999"))
    assert user.phone == "13700009999" and user.phone_masked == "137****9999"
