import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from xinan.core.models import AuditEntry
from xinan.network import services
from xinan.network.models import ServiceSite, SiteClosure
from xinan.testing import factories

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# A Tuesday, 10:00 in Shanghai.
TUESDAY_10 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(
    "text, expected",
    [
        ("周一至周五 9:00-17:00", [(d, "09:00", "17:00") for d in range(5)]),
        ("周六 9:00-12:00；周日 13:00-17:00", [(5, "09:00", "12:00"), (6, "13:00", "17:00")]),
        ("1-2 08:30-11:30", [(0, "08:30", "11:30"), (1, "08:30", "11:30")]),
        ("每天 0:00-24:00", [(d, "00:00", "23:59") for d in range(7)]),
    ],
)
def test_it_reads_weekly_hours(text, expected):
    rows = [(d, f"{o:%H:%M}", f"{c:%H:%M}") for d, o, c in services.parse_hours(text)]
    assert rows == expected


@pytest.mark.parametrize("text", ["周一至周五 17:00-9:00", "周八 9:00-10:00", "上午九点"])
def test_it_refuses_bad_hours_in_chinese(text):
    with pytest.raises(services.NetworkError) as exc:
        services.parse_hours(text)
    assert "开放时间" in exc.value.message


def test_it_refuses_a_site_without_an_area_and_saves_nothing(db):
    with pytest.raises(services.NetworkError) as exc:
        services.save_site(
            ServiceSite(name="无区划驿站", site_type="station"), actor=None, hours="周一 9:00-10:00"
        )
    assert exc.value.message == "服务点必须属于一个区划（街镇或村居）"
    assert not ServiceSite.objects.exists()


def test_it_knows_when_a_site_is_open(areas):
    site = factories.service_site(areas["village_a"], "安顺心理咨询室", hours="周二 9:00-12:00")
    assert services.is_open(site, TUESDAY_10)
    assert not services.is_open(site, TUESDAY_10 + dt.timedelta(hours=3))
    assert not services.is_open(site, TUESDAY_10 + dt.timedelta(days=1))
    SiteClosure.objects.create(site=site, date=TUESDAY_10.date(), note="节日闭馆")
    assert not services.is_open(site, TUESDAY_10)
    # A holiday with special hours opens the site outside its weekly pattern.
    SiteClosure.objects.create(
        site=site,
        date=TUESDAY_10.date() + dt.timedelta(days=1),
        opens=dt.time(14, 0),
        closes=dt.time(16, 0),
    )
    assert services.is_open(site, TUESDAY_10 + dt.timedelta(days=1, hours=5))


def test_it_finds_the_nearest_sites_first(areas):
    near = factories.service_site(areas["village_b"], "近", lat=31.2000, lon=121.4000)
    far = factories.service_site(areas["village_a"], "远", lat=31.3000, lon=121.5000)
    middle = factories.service_site(areas["town_a"], "中", lat=31.2300, lon=121.4300)
    factories.service_site(areas["town_b"], "无坐标")
    hits = services.find_sites(lat=31.2001, lon=121.4001, limit=3)
    assert [h.site for h in hits] == [near, middle, far]
    assert hits[0].distance_km < 0.1 and 14 < hits[2].distance_km < 15


def test_it_filters_by_type_service_and_open_now(areas):
    room = factories.service_site(
        areas["village_a"], "咨询室", site_type="village_room", hours="周二 9:00-12:00"
    )
    factories.service_site(areas["village_a"], "热线", site_type="hotline", services=["hotline"])
    factories.service_site(
        areas["town_a"], "驿站", hours="周三 9:00-12:00", services=["counselling", "group"]
    )
    names = lambda hits: sorted(h.site.name for h in hits)  # noqa: E731
    assert names(services.find_sites(site_type="village_room")) == ["咨询室"]
    assert names(services.find_sites(service="group")) == ["驿站"]
    assert names(services.find_sites(open_now=True, now=TUESDAY_10)) == ["咨询室", "热线"]
    hit = services.find_sites(site_type="village_room", now=TUESDAY_10)[0]
    assert hit.site == room and hit.open_now


def test_it_lists_the_village_before_the_town_before_the_district(areas):
    district = factories.service_site(areas["district"], "区热线", site_type="hotline")
    other = factories.service_site(areas["village_b"], "别的街镇")
    town = factories.service_site(areas["town_a"], "本街镇驿站")
    village = factories.service_site(areas["village_a"], "本居委咨询室")
    assert services.sites_near_home(areas["grid_a"].code) == [village, town, district, other]


def test_it_counts_village_coverage_against_the_target(areas):
    factories.area("310105001002", "第二居委", "village", areas["town_a"])
    factories.service_site(areas["village_a"], "安顺咨询室", site_type="village_room")
    factories.service_site(areas["village_b"], "淞虹驿站", site_type="station")  # not a room
    rows = {r.area.name: r for r in services.coverage("310105")}
    assert (rows["华阳路街道"].villages, rows["华阳路街道"].covered) == (2, 1)
    assert rows["华阳路街道"].rate == 0.5 and not rows["华阳路街道"].meets_target
    assert (rows["新泾镇"].villages, rows["新泾镇"].covered) == (1, 0)


def test_the_finder_works_for_anyone_on_a_phone(client, areas):
    factories.service_site(
        areas["village_a"], "安顺心理咨询室", phone="021-62000001", lat=31.22, lon=121.42
    )
    body = client.get("/network/sites/").content.decode()
    assert "安顺心理咨询室" in body and 'href="tel:021-62000001"' in body
    assert "预约咨询" not in body and "network/finder.js" in body  # nobody to book there yet
    body = client.get(
        "/network/sites/", {"lat": "31.2", "lon": "121.4", "site_type": "station"}
    ).content.decode()
    assert "公里" in body and "按与您的距离排序" in body
    body = client.get("/network/sites/", {"site_type": "hotline"}).content.decode()
    assert "没有符合条件的服务点" in body


def test_a_site_page_shows_hours_services_and_staff(client, areas):
    site = factories.service_site(
        areas["village_a"], "安顺心理咨询室", hours="周一至周五 9:00-17:00", accessibility="一楼"
    )
    body = client.get(f"/network/sites/{site.pk}/").content.decode()
    assert "周一 09:00-17:00" in body and "个体心理咨询" in body and "一楼" in body
    assert "本站点暂未开放在线预约，请电话预约。" in body


def test_an_area_admin_edits_sites_only_in_their_area(client, areas, town_admin):
    mine = factories.service_site(areas["village_a"], "安顺心理咨询室")
    theirs = factories.service_site(areas["village_b"], "淞虹心理咨询室")
    client.force_login(town_admin)
    assert client.get(f"/network/manage/sites/{theirs.pk}/").status_code == 404
    body = client.get("/network/manage/sites/").content.decode()
    assert "安顺心理咨询室" in body and "淞虹心理咨询室" not in body
    response = client.post(
        f"/network/manage/sites/{mine.pk}/",
        {
            "name": "安顺心理咨询室",
            "site_type": "village_room",
            "area": areas["village_a"].code,
            "hours": "周二 14:00-17:00",
            "service_list": ["counselling"],
            "active": "on",
            "photo": SimpleUploadedFile("p.png", PNG, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert [h.weekday for h in mine.hours.all()] == [1] and mine.photo
    assert AuditEntry.objects.filter(action="network.site.update", object_id=str(mine.pk)).exists()
    assert client.get(f"/network/sites/{mine.pk}/photo/")["Content-Type"] == "image/png"


def test_it_refuses_a_site_form_without_area_or_with_a_fake_photo(client, areas, town_admin):
    client.force_login(town_admin)
    data = {"name": "新驿站", "site_type": "station", "hours": "周一 9:00-10:00"}
    data["service_list"] = ["counselling"]
    body = client.post("/network/manage/sites/new/", data).content.decode()
    assert "服务点必须属于一个区划（街镇或村居）" in body
    data["area"] = areas["village_a"].code
    data["photo"] = SimpleUploadedFile("p.png", b"<script>", content_type="image/png")
    body = client.post("/network/manage/sites/new/", data).content.decode()
    assert "照片须为JPG或PNG图片" in body
    assert not ServiceSite.objects.exists()


def test_sites_are_managed_by_area_admins_only(client, areas, counsellor):
    client.force_login(counsellor)
    assert client.get("/network/manage/sites/").status_code == 404
    assert client.get("/network/manage/coverage/").status_code == 404


def test_the_coverage_page_shows_the_figure(client, areas, district_admin):
    factories.service_site(areas["village_a"], "安顺咨询室", site_type="village_room")
    client.force_login(district_admin)
    body = client.get("/network/manage/coverage/").content.decode()
    assert 'data-testid="coverage-rate">50%' in body and "coverage-data" in body


def test_open_now_uses_shanghai_time(areas, settings):
    site = factories.service_site(areas["village_a"], "咨询室", hours="周二 9:00-12:00")
    utc_0200 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    assert timezone.localtime(utc_0200).hour == 10
    assert services.is_open(site, utc_0200)
