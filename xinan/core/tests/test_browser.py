"""Core pages in a real browser: workbench, resident home, audit log and export, area import,
language switch, Django admin."""

import csv

import pytest
from django.utils import timezone

from xinan.core.models import Area, AuditEntry

pytestmark = pytest.mark.browser

GOOD_AREAS = """code,name,level
310000000000,上海市,city
310105000000,长宁区,district
310105001000,华阳路街道,town
310105001001,安顺居委会,village
310105001001001,安顺第1网格,grid
"""
BAD_AREAS = GOOD_AREAS.replace("310105001001,安顺居委会", "31010500100X,安顺居委会")


def upload(page, text: str, name: str = "areas.csv"):
    page.set_input_files(
        "input[type=file]", {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="导入").click()
    page.wait_for_load_state()


def test_staff_log_in_to_a_workbench_with_their_scope_and_counts(
    page, login_as, grid_worker, person_a, person_b, screenshot
):
    page.goto("/")
    assert page.url.endswith("/me/")  # anonymous visitors get the public page
    login_as(page, grid_worker)
    assert page.url.endswith("/workbench/")
    assert "网格员 · 安顺居委会第1网格" in page.inner_text("main")
    assert "310105001001001" not in page.inner_text("main")  # the code is the name's tooltip
    assert page.inner_text("[data-testid=person-total]") == "1"  # person_b is another town's
    assert "gw_a" in page.inner_text("header")
    no_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_scroll
    screenshot(page, "workbench")


def test_the_public_page_shows_the_hotline_on_a_phone(mobile_page, screenshot):
    mobile_page.goto("/me/")
    link = mobile_page.locator("a.hotline")
    assert link.get_attribute("href") == "tel:12356"
    assert mobile_page.get_by_role("link", name="注册").count()
    screenshot(mobile_page, "public-home")


def test_a_resident_finds_the_sites_and_booking_near_home_on_a_phone(
    mobile_page, login_as, areas, resident_user, screenshot
):
    from xinan.testing import factories

    factories.PersonFactory(home_area=areas["grid_a"], user=resident_user)
    factories.service_site(
        areas["village_a"],
        "安顺心理驿站",
        phone="021-62000000",
        booking_url="https://booking.example.cn/anshun",
        address="安顺路 100 号",
    )
    areas["district"].booking_url = "https://booking.example.cn/changning"
    areas["district"].save()
    login_as(mobile_page, "13700001111", "Resident2026x")
    mobile_page.goto("/me/")
    assert (
        mobile_page.get_by_role("link", name="我的预约").get_attribute("href") == "/booking/mine/"
    )
    sites = mobile_page.locator("#sites")
    assert "安顺心理驿站" in sites.inner_text() and "安顺路 100 号" in sites.inner_text()
    assert sites.get_by_role("link", name="电话预约 021-62000000").get_attribute("href") == (
        "tel:021-62000000"
    )
    assert sites.get_by_role("link", name="外部预约链接").get_attribute("href") == (
        "https://booking.example.cn/anshun"
    )
    assert sites.get_by_role("link", name="本地区的在线预约平台").get_attribute("href") == (
        "https://booking.example.cn/changning"
    )
    screenshot(mobile_page, "resident-sites")


def test_the_area_admin_filters_the_audit_log_and_exports_csv(
    page, login_as, district_admin, person_a, screenshot
):
    login_as(page, district_admin)
    page.goto(f"/people/{person_a.pk}/")  # an area admin may open it: that is audited
    assert page.inner_text("h1").startswith("张三")
    page.get_by_role("link", name="审计日志").first.click()
    page.wait_for_url("**/audit/")
    page.fill("input[name=action]", "people.person.view")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert "admin_district" in rows.first.inner_text()
    assert f"#{person_a.pk}" in rows.first.inner_text()
    screenshot(page, "audit-log")

    with page.expect_download() as info:
        page.get_by_role("link", name="导出CSV").click()
    download = info.value
    assert download.suggested_filename == "audit.csv"
    with open(download.path(), encoding="utf-8-sig") as f:
        table = list(csv.reader(f))
    assert table[0][:3] == ["时间", "操作人", "动作"]
    assert [row[2] for row in table[1:]] == ["people.person.view"]  # the filter carried over
    assert table[1][4] == str(person_a.pk)


def test_the_audit_log_is_not_for_grid_workers(page, login_as, grid_worker):
    login_as(page, grid_worker)
    assert "审计日志" not in page.inner_text("nav.mainnav")  # no link to a page that 404s
    assert page.goto("/audit/").status == 404
    assert page.goto("/audit/export.csv").status == 404


def test_area_import_rejects_a_malformed_file_whole_then_takes_a_good_one(
    page, login_as, sysadmin, screenshot
):
    login_as(page, sysadmin)
    page.get_by_role("link", name="导入区划").click()
    page.wait_for_url("**/areas/import/")
    upload(page, BAD_AREAS)
    problems = page.locator(".import-errors li").all_inner_texts()
    assert problems and any("第5行" in p and "31010500100X" in p for p in problems), problems
    assert "文件未导入" in page.content()
    screenshot(page, "area-import-errors")
    assert Area.objects.count() == 0

    upload(page, GOOD_AREAS)
    assert "导入完成：新增 5 个，更新 0 个" in page.inner_text("main")
    assert Area.objects.count() == 5
    screenshot(page, "area-import-done")
    assert AuditEntry.objects.filter(action="core.areas.import").count() == 1


def test_switching_to_english_changes_the_language(page, login_as, grid_worker, screenshot):
    login_as(page, grid_worker)
    assert page.get_attribute("html", "lang") == "zh-hans"
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.url.endswith("/workbench/")  # back where we were
    assert page.get_attribute("html", "lang") == "en"
    nav = page.inner_text("nav.mainnav")
    assert "工作台" not in nav and "Workbench" in nav
    screenshot(page, "english")
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert "工作台" in page.inner_text("nav.mainnav")


def test_the_sysadmin_reaches_the_django_admin(page, login_as, sysadmin, screenshot):
    login_as(page, sysadmin)
    page.get_by_role("link", name="系统管理").click()
    page.wait_for_url("**/admin/")
    assert "站点管理" in page.title()  # Django's own zh-hans translation
    assert page.locator("#content").count() == 1
    screenshot(page, "admin-index")


def test_the_admin_is_closed_to_other_staff(page, login_as, grid_worker):
    login_as(page, grid_worker)
    page.goto("/admin/")
    assert "/admin/login/" in page.url


def test_a_district_admin_follows_an_invitation_run_on_the_jobs_page(
    page, login_as, areas, district_admin, screenshot
):
    """Issuing invitations is a job: the person who started it sees it, its state and its
    progress on 后台任务, whatever happens to the page that started it."""
    from xinan.core import jobs, worker
    from xinan.screening import campaigns
    from xinan.screening.models import Campaign

    today = timezone.localdate()
    campaign = Campaign.objects.create(
        name="长宁区秋季筛查",
        area=areas["district"],
        instruments=["PHQ-9"],
        starts_on=today,
        ends_on=today,
        created_by=district_admin,
    )
    jobs.enqueue(
        campaigns.issue_run,
        campaigns.InvitationRun.objects.create(campaign=campaign, started_by=district_admin).pk,
        user=district_admin,
        description="发放邀请：长宁区秋季筛查",
    )
    login_as(page, district_admin)
    page.goto("/jobs/")
    row = page.locator("tr.job").first
    assert "发放邀请：长宁区秋季筛查" in row.inner_text() and "排队中" in row.inner_text()
    worker.run_once("browser")  # a worker takes it
    page.reload()
    assert "已完成" in page.locator("tr.job").first.inner_text()
    screenshot(page, "jobs")
