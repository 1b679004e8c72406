import pytest

from xinan.testing import factories


@pytest.fixture
def station(areas):
    return factories.service_site(areas["town_a"], "华阳路心理驿站", phone="021-62000002")


@pytest.fixture
def site_counsellor(areas, station):
    return factories.counsellor_with_hours(areas["town_a"], station, username="chen")


@pytest.fixture
def resident(areas, resident_user):
    return factories.PersonFactory(name="周丽", home_area=areas["grid_a"], user=resident_user)


@pytest.fixture
def free_slots(site_counsellor, station):
    from xinan.booking import slots

    return slots.slots_for(site_counsellor, site=station)
