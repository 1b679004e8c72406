import pytest

from xinan.core import services
from xinan.core.models import Area, AuditEntry

GOOD = """code,name,level
310000000000,上海市,city
310105000000,长宁区,district
310105001000,华阳路街道,town
310105001001,安顺居委会,village
310105001001001,安顺第1网格,grid
"""


@pytest.mark.django_db
def test_it_imports_a_region_with_parents_linked():
    result = services.import_areas(GOOD, actor=None)
    assert result.created == 5
    grid = Area.objects.get(code="310105001001001")
    assert grid.parent.code == "310105001001"
    assert Area.objects.get(code="310105000000").parent.code == "310000000000"
    assert [a.name for a in grid.ancestors()] == ["上海市", "长宁区", "华阳路街道", "安顺居委会"]
    assert AuditEntry.objects.filter(action="core.areas.import").count() == 1


@pytest.mark.django_db
def test_it_treats_codes_as_prefixes():
    services.import_areas(GOOD, actor=None)
    district = Area.objects.get(code="310105000000")
    assert district.prefix == "310105"
    assert Area.objects.get(code="310000000000").prefix == "31"
    assert set(Area.objects.within(district).values_list("level", flat=True)) == {
        "district",
        "town",
        "village",
        "grid",
    }


@pytest.mark.django_db
def test_it_is_idempotent_and_renames():
    services.import_areas(GOOD, actor=None)
    result = services.import_areas(GOOD.replace("安顺居委会", "安顺路居委会"), actor=None)
    assert (result.created, result.updated) == (0, 1)
    assert Area.objects.get(code="310105001001").name == "安顺路居委会"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("31010500100,短代码,town", "第2行：区划代码“31010500100”区划代码应为12位数字"),
        ("310105001000,华阳路街道,street", "第2行：层级“street”无效"),
        ("310105001001,安顺居委会,town", "街镇代码第9位之后应全为0"),
        ("3101050010AB,字母,village", "应为12位数字"),
        ("310105001000,,town", "第2行：名称不能为空"),
    ],
)
def test_it_rejects_malformed_rows_with_a_chinese_message(row, message):
    with pytest.raises(services.AreaImportError) as exc:
        services.import_areas("code,name,level\n" + row + "\n", actor=None)
    assert any(message in e for e in exc.value.errors), exc.value.errors


@pytest.mark.django_db
def test_it_rejects_orphans_and_imports_nothing():
    text = GOOD + "310105009001,虹桥某居委会,village\n"
    with pytest.raises(services.AreaImportError) as exc:
        services.import_areas(text, actor=None)
    assert any("孤立节点" in e and "310105009000" in e for e in exc.value.errors)
    assert Area.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_file_without_the_header():
    with pytest.raises(services.AreaImportError, match="表头缺少列"):
        services.import_areas("a,b\n1,2\n", actor=None)


@pytest.mark.django_db
def test_it_retires_an_area_and_keeps_it(areas, sysadmin):
    import datetime as dt

    services.retire_area(areas["grid_a2"], on=dt.date(2026, 1, 1), actor=sysadmin)
    assert not Area.objects.current(dt.date(2026, 6, 1)).filter(code="310105001001002").exists()
    assert Area.objects.current(dt.date(2025, 6, 1)).filter(code="310105001001002").exists()


def test_it_shows_import_errors_on_the_page(client, sysadmin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(sysadmin)
    upload = SimpleUploadedFile("a.csv", "code,name,level\n123,坏,town\n".encode())
    response = client.post("/areas/import/", {"file": upload})
    assert response.status_code == 200
    assert "第2行" in response.content.decode()
    assert Area.objects.count() == 0
    good = SimpleUploadedFile("b.csv", GOOD.encode("gb18030"))
    response = client.post("/areas/import/", {"file": good})
    assert "新增 5 个" in response.content.decode()


def test_it_hides_area_import_from_grid_workers(client, grid_worker):
    client.force_login(grid_worker)
    assert client.get("/areas/import/").status_code == 404


def test_a_booking_link_that_is_not_a_web_address_fails_the_checks(settings):
    from xinan.core.checks import check_secrets

    settings.BOOKING_URL = "javascript:alert(1)"
    assert [p.id for p in check_secrets(None)] == ["xinan.E003"]
    settings.BOOKING_URL = "https://booking.example.cn/"
    assert check_secrets(None) == []


def test_the_sysadmin_sets_booking_links_in_the_admin(client, sysadmin, areas):
    from xinan.testing import factories

    client.force_login(sysadmin)
    site = factories.institution(areas["village_a"], "安顺心理驿站")
    for url in (
        f"/admin/core/area/{areas['district'].code}/change/",
        f"/admin/core/institution/{site.pk}/change/",
    ):
        page = client.get(url).content.decode()
        assert 'name="booking_url"' in page and "预约链接" in page


def test_an_area_inherits_hotline_and_booking_link_from_the_nearest_area_above(
    areas, django_assert_num_queries
):
    from xinan.core.services import nearest_help

    areas["district"].hotline, areas["district"].booking_url = "021-12320", "https://a.example.cn/"
    areas["district"].save()
    areas["town_a"].booking_url = "https://b.example.cn/"
    areas["town_a"].save()
    with django_assert_num_queries(2):  # the area, then its ancestors once for both fields
        assert nearest_help(areas["grid_a"].code) == {
            "hotline": "021-12320",
            "booking_url": "https://b.example.cn/",
        }
    assert nearest_help("") == {"hotline": "", "booking_url": ""}
