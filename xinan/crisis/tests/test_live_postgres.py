"""The whole served path on PostgreSQL: the screening service saves a critical answer, the
commit's NOTIFY wakes the consumer loop, and the alert appears on the open board without a reload.

Marked `postgres` only (not `browser`): the SQLite pass may skip it, and in the PostgreSQL pass,
where a skip fails, a missing chromium fails it too.
"""

import os

import pytest
from django.db import connection

from xinan.crisis.models import Alert
from xinan.crisis.tests.conftest import RunningLoop

pytestmark = [pytest.mark.postgres]


def test_a_submitted_assessment_reaches_the_open_board_live(
    page, login_as, settings, areas, crisis_a
):
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, this run uses {connection.vendor}")
    from xinan.screening.services import submit_assessment

    settings.BUS_BACKEND = "postgres"
    settings.BUS_CHANNEL = f"xinan_test_{os.getpid()}"
    login_as(page, crisis_a)
    page.goto("/crisis/")
    page.wait_for_timeout(600)  # the board's first poll has run
    with RunningLoop():
        submit_assessment(
            instrument_code="PHQ-9",
            answers=[1, 1, 1, 1, 1, 1, 1, 1, 3],
            mode="self",
            actor=None,
            area_code=areas["grid_a"].code,
        )
        # Live through LISTEN/NOTIFY, without a reload; the latency goal (p99 < 1 s) is
        # measured by `make bench` (d), not asserted here.
        page.locator("tr.alert-row.level-red").wait_for(timeout=5000)
    assert page.get_by_test_id("unacked-badge").inner_text() == "1"
    assert Alert.objects.get().assigned_to == crisis_a
