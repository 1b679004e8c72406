"""The test run's flush on PostgreSQL deletes instead of truncating (conftest.py): it must leave
every table as empty as Django's TRUNCATE does, whatever the foreign keys between the rows."""

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection

from xinan.core import audit
from xinan.testing import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, this run uses {connection.vendor}")


def _fill():
    """Rows in tables that reference each other (areas, staff, memberships, persons, audit)."""
    tree = factories.area_tree()
    admin = factories.staff("area_admin", area=tree["district"], username="flush_admin")
    person = factories.PersonFactory(name="清空测试", home_area=tree["grid_a"])
    audit.record("core.test.flush", person, actor=admin, area_code=person.home_area_id)


def _non_empty() -> list[str]:
    tables = connection.introspection.django_table_names(only_existing=True)
    with connection.cursor() as cursor:
        found = []
        for table in tables:
            table_sql = connection.ops.quote_name(table)  # a Django table name
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table_sql})")  # noqa: S608
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def test_the_flush_deletes_and_keeps_truncate_for_sequence_resets():
    plain = connection.ops.sql_flush(no_style(), ["core_area", "people_person"])
    assert plain == ['DELETE FROM "core_area";', 'DELETE FROM "people_person";']
    reset = connection.ops.sql_flush(no_style(), ["core_area"], reset_sequences=True)
    assert reset[0].startswith("TRUNCATE")


@pytest.mark.parametrize("how", ["delete", "truncate"])
def test_a_flush_empties_every_table(how, monkeypatch):
    _fill()
    assert {"core_area", "people_person", "accounts_membership"} <= set(_non_empty())
    if how == "truncate":  # Django's own statement, for comparison
        ops = type(connection.ops)
        monkeypatch.setattr(ops, "sql_flush", ops.sql_flush.truncating)
    call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)
    assert _non_empty() == []
