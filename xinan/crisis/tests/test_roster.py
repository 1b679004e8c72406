import datetime as dt

import pytest
from django.utils import timezone

from xinan.core.models import AuditEntry
from xinan.crisis import routing, services
from xinan.crisis.models import DutyShift
from xinan.testing import factories


@pytest.fixture
def worker(areas):
    return factories.staff("crisis_worker", area=areas["town_a"], username="rw")


@pytest.fixture
def monday(db):
    return timezone.make_aware(dt.datetime(2026, 11, 23, 0, 0))


def test_it_refuses_an_overlapping_shift_for_the_same_person(areas, worker, monday):
    services.create_shift(
        actor=worker,
        user=worker,
        area=areas["town_a"],
        starts_at=monday,
        ends_at=monday + dt.timedelta(hours=8),
    )
    with pytest.raises(services.CrisisError, match="班次不能重叠"):
        services.create_shift(
            actor=worker,
            user=worker,
            area=areas["town_b"],
            starts_at=monday + dt.timedelta(hours=7),
            ends_at=monday + dt.timedelta(hours=12),
        )
    assert DutyShift.objects.count() == 1
    # Back to back is fine; so is another person at the same time.
    services.create_shift(
        actor=worker,
        user=worker,
        area=areas["town_a"],
        starts_at=monday + dt.timedelta(hours=8),
        ends_at=monday + dt.timedelta(hours=16),
    )
    other = factories.staff("crisis_worker", area=areas["town_a"])
    services.create_shift(
        actor=worker,
        user=other,
        area=areas["town_a"],
        starts_at=monday,
        ends_at=monday + dt.timedelta(hours=8),
    )
    assert DutyShift.objects.count() == 3
    assert AuditEntry.objects.filter(action="crisis.shift.create").count() == 3


def test_it_refuses_a_shift_that_ends_before_it_starts(areas, worker, monday):
    with pytest.raises(services.CrisisError, match="结束时间必须晚于开始时间"):
        services.create_shift(
            actor=worker, user=worker, area=areas["town_a"], starts_at=monday, ends_at=monday
        )


def test_it_only_rosters_crisis_workers(areas, worker, grid_worker, monday):
    with pytest.raises(services.CrisisError, match="只能为危机干预员排班"):
        services.create_shift(
            actor=worker,
            user=grid_worker,
            area=areas["town_a"],
            starts_at=monday,
            ends_at=monday + dt.timedelta(hours=1),
        )


def test_coverage_flags_every_hour_nobody_is_on_duty(areas, worker, monday):
    district = factories.staff("crisis_worker", area=areas["district"])
    services.create_shift(
        actor=worker,
        user=worker,
        area=areas["town_a"],
        starts_at=monday,
        ends_at=monday + dt.timedelta(hours=12),
    )
    # The district covers the town from its own level for the evening, minus half an hour.
    services.create_shift(
        actor=worker,
        user=district,
        area=areas["district"],
        starts_at=monday + dt.timedelta(hours=12, minutes=30),
        ends_at=monday + dt.timedelta(hours=24),
    )
    row = routing.coverage(areas["town_a"], monday, days=7)
    assert row.hours[0][:12] == [1] * 12
    assert row.hours[0][12] == 0  # 12:00–12:30 uncovered: the whole hour is flagged
    assert row.hours[0][13:] == [1] * 11
    assert row.gaps == 1 + 24 * 6
    town_b = routing.coverage(areas["town_b"], monday, days=1)
    assert town_b.hours[0][:12] == [0] * 12  # town A's own shift does not cover town B


def test_on_duty_orders_nearest_first(areas, worker, monday):
    from xinan.crisis.tests.conftest import on_shift

    district = factories.staff("crisis_worker", area=areas["district"])
    on_shift(district, areas["district"])
    on_shift(worker, areas["town_a"])
    chain = routing.on_duty(areas["grid_a"].code)
    assert [d.user_id for d in chain] == [worker.pk, district.pk]
    assert [d.user_id for d in routing.on_duty(areas["grid_b"].code)] == [district.pk]


def test_ancestor_codes_walk_from_grid_to_municipality():
    assert routing.ancestor_codes("310105001001001") == [
        "310105001001001",
        "310105001001",
        "310105001000",
        "310105000000",
        "310100000000",
        "310000000000",
    ]
    assert routing.ancestor_codes("") == []
