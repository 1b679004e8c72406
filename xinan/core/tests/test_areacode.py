"""Area-code arithmetic (xinan/core/lib/areacode.py): the one place codes are cut and padded."""

import pytest

from xinan.core.lib import areacode


@pytest.mark.parametrize(
    ("code", "level", "prefix"),
    [
        ("310000000000", "city", "31"),  # a municipality is its province
        ("320500000000", "city", "3205"),
        ("310105000000", "district", "310105"),
        ("310105010000", "town", "310105010"),
        ("310105001001", "village", "310105001001"),
        ("310105001001002", "grid", "310105001001002"),
    ],
)
def test_it_gives_each_level_its_significant_digits(code, level, prefix):
    assert areacode.prefix(code, level) == prefix


@pytest.mark.parametrize(
    ("code", "significant"),
    [
        ("310105010000", "310105010"),  # a town ending in 0 keeps its segment whole
        ("310105001010", "310105001010"),
        ("310105000000", "310105"),
        ("310100000000", "3101"),
        ("310000000000", "31"),
        ("310105001001002", "310105001001002"),
    ],
)
def test_it_finds_the_significant_digits_of_a_code_of_unknown_level(code, significant):
    assert areacode.significant(code) == significant


def test_it_walks_up_and_down_the_tree():
    assert areacode.ancestors("310105001001002") == [
        "310105001001002",
        "310105001001",
        "310105001000",
        "310105000000",
        "310100000000",
        "310000000000",
    ]
    assert areacode.ancestors("  ") == [] and areacode.ancestors("abc") == []
    assert areacode.lineage("310105001001", "village") == [
        "310000000000",
        "310100000000",
        "310105000000",
        "310105001000",
    ]
    assert areacode.lineage("310000000000", "city") == []
    assert areacode.at_level("310105001001002", "town") == "310105001000"
    assert areacode.pad("310105") == "310105000000"
    assert areacode.within("310105001001", ["3101", "32"]) and not areacode.within("32", ["31"])


def test_a_search_by_area_keeps_a_town_ending_in_zero_apart_from_its_neighbours(grid_worker, areas):
    """310105010000 once became the prefix 31010501, which also matched towns 011–019."""
    from xinan.core.models import Area
    from xinan.people import services
    from xinan.testing import factories

    district = areas["district"]
    ten = Area.objects.create(code="310105010000", name="十号街道", level="town", parent=district)
    eleven = Area.objects.create(
        code="310105011000", name="十一号街道", level="town", parent=district
    )
    admin = factories.staff("area_admin", area=district, username="district_admin_search")
    factories.PersonFactory(
        name="甲", home_area=ten, id_number=factories.valid_id_number("19700101")
    )
    factories.PersonFactory(
        name="乙", home_area=eleven, id_number=factories.valid_id_number("19700102")
    )
    found = services.search(admin, area_code="310105010000")
    assert [p.name for p in found] == ["甲"]


@pytest.mark.parametrize(
    ("code", "level", "expected"),
    [
        ("310105001001002", "district", "310105"),
        ("310105001001", "town", "310105001"),
        ("310105001000", "district", "310105"),
        ("310000000000", "district", "31"),  # a municipality-wide area reaches all of itself
        ("320500000000", "town", "3205"),
    ],
)
def test_it_gives_the_prefix_of_an_ancestor_or_of_an_area_above(code, level, expected):
    assert areacode.ancestor_prefix(code, level) == expected


def test_it_cuts_a_level_s_own_segment_and_the_province():
    assert areacode.segment("310105001000", "town") == "001"
    assert areacode.segment("310105001001", "village") == "001"
    assert areacode.segment("310105000000", "district") == "05"
    assert areacode.segment("310000000000", "city") == "00"  # a municipality's city digits
    assert areacode.segment("310105001001002", "grid") == "002"
    assert areacode.province_code("310105001001002") == "310000000000"


def test_it_numbers_an_area_s_children():
    assert areacode.child("310105001000", "town", 7) == "310105001007"
    assert areacode.child("310105000000", "district", 12) == "310105012000"
    assert areacode.child("310105001007", "village", 3) == "310105001007003"
    for code, level, n in [
        ("310105001000", "town", 0),
        ("310105001000", "town", 1000),
        ("310105001007003", "grid", 1),
        ("310000000000", "city", 1),
    ]:
        with pytest.raises(ValueError):
            areacode.child(code, level, n)
