import re

from xinan.testing import factories


def test_healthz_reports_database_and_version(client, db):
    data = client.get("/healthz").json()
    assert data["database"] == "ok" and data["version"]


def test_pages_carry_csp_and_security_headers(client, db):
    response = client.get("/me/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"


def test_the_resident_home_shows_the_hotline(client, db):
    body = client.get("/me/").content.decode()
    assert 'href="tel:12356"' in body


def test_the_workbench_shows_scope_and_counts(client, grid_worker, person_a, person_b):
    client.force_login(grid_worker)
    body = client.get("/workbench/").content.decode()
    assert "安顺居委会第1网格" in body
    assert 'data-testid="person-total">1<' in body


def test_my_scope_names_the_areas_and_keeps_their_codes_as_a_tooltip(client, grid_worker, areas):
    from xinan.accounts.models import Membership

    Membership.objects.create(user=grid_worker, role="social_worker", area=areas["town_a"])
    client.force_login(grid_worker)
    body = client.get("/workbench/").content.decode()
    scope = body[body.index("我的职责范围") : body.index("</section>", body.index("我的职责范围"))]
    shown = re.sub(r"<[^>]+>", "", scope)
    assert "网格员 · 安顺居委会第1网格" in shown and "社工 · 华阳路街道" in shown
    assert not re.search(r"\d{6}", shown)  # no raw area code in the text
    assert 'title="310105001001001"' in scope and 'title="310105001000"' in scope


def test_home_sends_people_where_they_belong(client, grid_worker, resident_user):
    assert client.get("/").url == "/me/"
    client.force_login(grid_worker)
    assert client.get("/").url == "/workbench/"
    client.force_login(resident_user)
    assert client.get("/").url == "/me/"
    assert client.get("/workbench/").url == "/me/"


def test_chinese_is_the_default_even_for_english_browsers(client, db):
    body = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in body and "心理援助热线" in body


def test_english_is_switchable(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/me/"})
    body = client.get("/me/").content.decode()
    assert '<html lang="en">' in body and "Psychological assistance hotline 12356" in body


def test_the_navigation_follows_the_role(client, grid_worker, sysadmin, areas):
    from xinan.testing import factories

    client.force_login(grid_worker)
    body = client.get("/workbench/").content.decode()
    assert "/screening/paper/" in body and "/crisis/" not in body and "/audit/" not in body
    crisis_worker = factories.staff("crisis_worker", area=areas["district"], username="cw")
    client.force_login(crisis_worker)
    body = client.get("/workbench/").content.decode()
    assert 'href="/crisis/"' in body and "/crisis/roster/" in body
    client.force_login(sysadmin)
    body = client.get("/workbench/").content.decode()
    assert "/audit/" in body and "/people/" not in body


def test_the_resident_home_shows_sites_and_booking_near_home(
    client, areas, resident_user, settings
):
    from xinan.testing import factories

    # Anonymous: the deployment's booking link, and a reason the sites are not listed.
    settings.BOOKING_URL = "https://booking.example.cn/shanghai"
    body = client.get("/me/").content.decode()
    assert 'href="https://booking.example.cn/shanghai"' in body
    assert "登录后显示您家附近的服务点" in body
    assert "后续版本开放" not in body and "即将开放" in body  # only the articles are to come
    # A resident of 安顺: the site of their village, its phone, the district's own link.
    factories.PersonFactory(home_area=areas["grid_a"], user=resident_user)
    site = factories.service_site(areas["village_a"], "安顺心理驿站")
    site.phone = "021-62000000"
    site.save()
    factories.service_site(areas["village_b"], "淞虹心理驿站")  # another town's
    areas["district"].booking_url = "https://booking.example.cn/changning"
    areas["district"].save()
    client.force_login(resident_user)
    body = client.get("/me/").content.decode()
    assert "安顺心理驿站" in body and 'href="tel:021-62000000"' in body
    assert 'href="https://booking.example.cn/changning"' in body
    assert "淞虹心理驿站" in body  # the district's sites come after the village's
    assert body.index("安顺心理驿站") < body.index("淞虹心理驿站")


def test_the_workbench_counts_lead_to_the_lists_behind_them(client, grid_worker, areas, person_a):
    flagged = factories.PersonFactory(name="王五", home_area=areas["grid_a"], needs_attention=True)
    factories.PersonFactory(name="赵六", home_area=areas["grid_b"], needs_attention=True)
    client.force_login(grid_worker)
    body = client.get("/workbench/").content.decode()
    assert 'data-testid="attention-total">1<' in body
    assert 'href="/people/?attention=1"' in body and 'href="/people/"' in body
    listed = client.get("/people/?attention=1").content.decode()
    # the flagged resident of the grid worker's grid, not the unflagged one, not another town's
    assert flagged.name in listed and person_a.name not in listed and "赵六" not in listed
    assert 'name="attention" value="1" checked' in listed
    # who is flagged is itself sensitive: the list is audited like a population-tag list
    from xinan.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="people.person.attention_list")
    assert entry.actor == grid_worker and "1 人" in entry.reason
