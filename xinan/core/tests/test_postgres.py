"""Checks that only mean something on PostgreSQL; they skip elsewhere.

CI's PostgreSQL pass sets XINAN_EXPECT_POSTGRES=1, and then a skip here is a failure.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinan.core import scope
from xinan.people import services
from xinan.people.models import Person

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, this run uses {connection.vendor}")


def test_the_scope_gate_filters_by_a_left_anchored_like_that_an_index_serves(grid_worker):
    with CaptureQueriesContext(connection) as queries:
        list(scope.persons(grid_worker, include_grants=False))
    sql = queries.captured_queries[-1]["sql"]
    assert "LIKE '310105001001001%'" in sql, sql  # prefix, not '%…%'
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'people_person' "
            "AND indexdef LIKE '%%(home_area_id varchar_pattern_ops)%%'"
        )
        assert cursor.fetchall(), "no pattern index on people_person.home_area_id"


def test_a_person_round_trips_with_encrypted_fields_and_is_found_by_exact_id(grid_worker, person_a):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM people_person WHERE id = %s", [person_a.pk])
        stored_id, stored_phone = cursor.fetchone()
    assert person_a.id_number not in stored_id and "13912345678" not in stored_phone
    fresh = Person.objects.get(pk=person_a.pk)
    assert (fresh.id_number, fresh.phone, fresh.notes) == (
        person_a.id_number,
        "13912345678",
        "夜间失眠，情绪低落",
    )
    assert list(services.search(grid_worker, person_a.id_number)) == [fresh]
