"""Resident records in a real browser: list, search, create, edit, detail, scope, break-glass."""

import re

import pytest

from xinan.core.lib import idnumber
from xinan.core.models import AccessGrant, AuditEntry
from xinan.people.models import Person
from xinan.testing import factories

pytestmark = pytest.mark.browser

MASKED = re.compile(r"^3101\*{10}\d{3}[\dX]$")


def errors(page) -> str:
    return " ".join(page.locator(".errorlist").all_inner_texts())


def field_errors(page, label: str) -> str:
    """The errors shown inside the form field whose label is `label`."""
    field = page.locator("div.field").filter(has=page.locator(f"label:text-is('{label}:')"))
    return " ".join(field.locator(".errorlist").all_inner_texts())


def test_the_list_masks_id_numbers_and_finds_an_exact_id(
    page, login_as, grid_worker, person_a, areas, screenshot
):
    factories.PersonFactory(
        name="王二", home_area=areas["grid_a"], id_number=factories.valid_id_number("19700101")
    )
    login_as(page, grid_worker)
    page.get_by_role("link", name="居民档案").first.click()
    page.wait_for_url("**/people/")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    masked = page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert all(MASKED.match(m) for m in masked), masked
    assert person_a.id_number not in page.content()
    assert "13912345678" not in page.content()
    screenshot(page, "list")

    page.fill("input[name=q]", person_a.id_number)
    page.get_by_role("button", name="查询").click()
    assert rows.count() == 1
    assert rows.first.locator("a").inner_text() == "张三"
    assert "共 1 人" in page.inner_text(".pager")


def test_create_refuses_a_bad_id_naming_the_field_then_saves_and_edits(
    page, login_as, grid_worker, areas, screenshot
):
    login_as(page, grid_worker)
    page.goto("/people/new/")
    page.fill("input[name=name]", "王五")
    page.select_option("select[name=gender]", "M")
    page.fill("input[name=id_number]", "310105197003150011")  # wrong check digit
    page.fill("input[name=phone]", "13611112222")
    page.select_option("select[name=home_area]", areas["grid_a"].code)
    page.fill("input[name=address]", "安顺路1号")
    page.get_by_label("老年人").check()
    page.get_by_role("button", name="保存").click()
    assert "身份证号校验位不正确" in field_errors(page, "身份证号")
    assert page.input_value("input[name=phone]") == "13611112222"  # what was typed is kept
    screenshot(page, "create-error")
    assert not Person.objects.exists()

    good = factories.valid_id_number("19700315")
    page.fill("input[name=id_number]", good)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/people/\d+/$"))
    assert "已建档：王五" in page.inner_text(".messages")
    assert "1970-03-15" in page.inner_text("dl.fields") or "1970" in page.inner_text("dl.fields")
    assert "老年人" in page.inner_text("dl.fields")
    screenshot(page, "detail")

    page.get_by_role("link", name="编辑").click()
    page.wait_for_url(re.compile(r"/people/\d+/edit/$"))
    # A grid worker edits with the identifiers masked: empty fields, left empty = unchanged.
    assert page.input_value("input[name=id_number]") == ""
    assert page.get_attribute("input[name=id_number]", "placeholder") == idnumber.mask(good)
    assert good not in page.content() and "13611112222" not in page.content()
    assert page.input_value("input[name=birth_date]") == "1970-03-15"
    page.fill("input[name=phone]", "13622223333")
    page.get_by_label("需关注").check()
    screenshot(page, "edit")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/people/\d+/$"))
    assert "已保存" in page.inner_text(".messages")
    assert "需关注" in page.inner_text("h1")
    person = Person.objects.get()
    assert person.phone == "13622223333" and person.needs_attention
    assert person.id_number == good


def test_notes_show_to_the_psychiatrist_but_not_the_grid_worker(
    page, new_page, login_as, grid_worker, psychiatrist, person_a, screenshot
):
    login_as(page, grid_worker)
    page.goto(f"/people/{person_a.pk}/")
    assert page.inner_text("h1").startswith("张三")
    assert "备注" not in page.inner_text("dl.fields")
    assert "夜间失眠" not in page.content()
    assert "不显示测评分数与专业记录" in page.content()

    doctor = new_page()
    login_as(doctor, psychiatrist)
    doctor.goto(f"/people/{person_a.pk}/")
    assert "夜间失眠，情绪低落" in doctor.inner_text("dd.notes")
    screenshot(doctor, "psychiatrist")


def test_another_towns_grid_worker_gets_a_404(page, login_as, other_grid_worker, person_a):
    login_as(page, other_grid_worker)
    response = page.goto(f"/people/{person_a.pk}/")
    assert response.status == 404
    assert "页面不存在" in page.inner_text("h1")  # the site's own page, in Chinese
    assert "张三" not in page.content()
    assert page.goto(f"/people/{person_a.pk}/edit/").status == 404
    assert page.goto("/people/999999/").status == 404  # missing looks the same


def test_break_the_glass_then_the_area_admin_reviews_it(
    page, new_page, login_as, grid_worker, district_admin, person_b, screenshot
):
    login_as(page, grid_worker)
    page.goto("/people/")
    page.fill("input[name=q]", "李四")
    page.get_by_role("button", name="查询").click()
    assert "没有找到居民档案" in page.content()
    assert page.locator("form[action$='/people/break-glass/']").count() == 0  # names: nothing

    page.fill("input[name=q]", person_b.id_number)
    page.get_by_role("button", name="查询").click()
    # The same page as for a number nobody has: the search does not tell that 李四 exists.
    assert "您的管辖范围内没有该身份证号的档案" in page.content()
    screenshot(page, "break-glass-offer")
    page.get_by_role("button", name="申请紧急授权并查看").click()  # no reason: not sent
    assert "您的管辖范围内没有该身份证号的档案" in page.content()
    assert not AccessGrant.objects.exists()
    page.fill("textarea[name=reason]", "危机干预：本人来电称有自伤计划，需核实住址")
    page.get_by_role("button", name="申请紧急授权并查看").click()
    page.wait_for_url(f"**/people/{person_b.pk}/")
    assert page.inner_text("h1").startswith("李四")
    banner = page.locator(".msg.warning").filter(has_text="紧急授权")
    assert banner.count() >= 1
    assert "访问已记录" in page.content()
    screenshot(page, "break-glass-record")
    grant = AccessGrant.objects.get()
    assert grant.person_id == person_b.pk and grant.to_user == grid_worker

    admin = new_page()
    login_as(admin, district_admin)
    admin.get_by_role("link", name="待审核紧急授权").click()
    admin.wait_for_url("**/break-glass/")
    row = admin.locator("table").first.locator("tbody tr").filter(has_text="危机干预")
    assert row.count() == 1 and grid_worker.username in row.inner_text()  # who asked
    screenshot(admin, "review-queue")
    row.locator("select[name=outcome]").select_option("justified")
    row.locator("input[name=note]").fill("已电话核实")
    row.get_by_role("button", name="提交").click()
    admin.wait_for_url("**/break-glass/")
    assert "已审核" in admin.inner_text(".messages")
    assert "没有待审核的紧急授权" in admin.content()
    grant.refresh_from_db()
    assert grant.reviewed_at is not None and grant.review_note == "已电话核实"
    assert AuditEntry.objects.filter(action="core.break_glass.open").exists()

    # The grant is still open until it expires; the admin ends it early from the same page.
    active = admin.locator("table").last.locator("tbody tr").filter(has_text="危机干预")
    assert "紧急授权" in active.inner_text()
    active.locator("input[name=reason]").fill("核实完毕，无需继续查看")
    active.get_by_role("button", name="撤销").click()
    admin.wait_for_url("**/break-glass/")
    assert "已撤销该访问授权" in admin.inner_text(".messages")
    assert "没有生效中的访问授权" in admin.content()
    screenshot(admin, "grant-revoked")
    grant.refresh_from_db()
    assert grant.revoked_by == district_admin and not grant.is_active()
    page.goto(page.url)
    assert page.inner_text("h1") != "李四" and "李四" not in page.content()


def test_a_grid_worker_on_a_phone_gets_the_list_without_sideways_scrolling(
    mobile_page, login_as, grid_worker, person_a, screenshot
):
    login_as(mobile_page, grid_worker)
    mobile_page.goto("/people/")
    assert mobile_page.locator("tbody tr").count() == 1
    screenshot(mobile_page, "list-phone")
    assert mobile_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    mobile_page.goto(f"/people/{person_a.pk}/")
    screenshot(mobile_page, "detail-phone")
    assert mobile_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
