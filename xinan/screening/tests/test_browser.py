"""The screening pages in a real browser: a resident on a phone, staff at a desk."""

import csv

import pytest

from xinan.screening.models import Assessment, ImportJob
from xinan.testing import factories

pytestmark = pytest.mark.browser


def answer_all(page, values, count=9):
    for n, value in enumerate(values, start=1):
        page.get_by_text(f"第 {n} 题，共 {count} 题").wait_for()
        page.locator(f"input[name=answer][value='{value}']").check()
        page.locator(".nav-buttons button:not([name=back])").click()


def test_it_takes_a_resident_through_a_self_assessment_on_a_phone(
    mobile_page, screenshot, settings
):
    settings.BOOKING_URL = "https://booking.example.cn/changning"  # the deployment's
    page = mobile_page
    page.goto("/screening/")
    screenshot(page, "pick")
    page.locator("a[href^='/screening/take/PHQ-9/']").click()
    assert page.get_by_text("开始前请您了解").is_visible()
    screenshot(page, "consent")
    page.get_by_role("button", name="我已了解并同意，开始作答").click()
    page.get_by_text("第 1 题，共 9 题").wait_for()
    screenshot(page, "item")
    answer_all(page, [1, 1, 1, 1, 1, 1, 0, 0, 0])
    page.get_by_text("测评结果").first.wait_for()
    assert page.get_by_text("总分 6").is_visible()
    assert page.locator("a[href='tel:12356']").first.is_visible()
    booking = page.get_by_role("link", name="在线预约心理咨询")
    assert booking.get_attribute("href") == "https://booking.example.cn/changning"
    screenshot(page, "result")
    assert Assessment.objects.get().total == 6


def test_it_shows_the_crisis_screen_before_the_result(mobile_page, screenshot):
    page = mobile_page
    page.goto("/screening/take/PHQ-9/")
    page.get_by_role("button", name="我已了解并同意，开始作答").click()
    answer_all(page, [0, 0, 0, 0, 0, 0, 0, 0, 3])
    page.get_by_role("heading", name="请现在就和我们联系").wait_for()
    hotline = page.locator("a.hotline[href='tel:12356']")
    assert hotline.is_visible()
    box = hotline.bounding_box()
    assert box["y"] < 400  # on the first screen of a phone, without scrolling
    assert page.get_by_text("总分").count() == 0
    screenshot(page, "crisis")
    page.get_by_role("link", name="查看本次测评结果").click()
    assert page.get_by_text("总分 3").is_visible()


def test_it_resumes_a_self_assessment_after_leaving(mobile_page):
    page = mobile_page
    page.goto("/screening/take/PHQ-9/")
    page.get_by_role("button", name="我已了解并同意，开始作答").click()
    answer_all(page, [2, 2, 2])
    page.goto("/screening/")
    page.locator(".resume a").click()
    page.get_by_text("第 4 题，共 9 题").wait_for()


def test_it_lets_staff_type_paper_forms_fast(page, login_as, screenshot, areas):
    worker = factories.staff("grid_worker", area=areas["grid_a"], username="gw_paper")
    person = factories.PersonFactory(
        name="王芳", home_area=areas["grid_a"], id_number=factories.valid_id_number("19750505")
    )
    login_as(page, worker)
    page.goto("/screening/paper/")
    page.fill("input[name=id_number]", person.id_number)
    page.select_option("select[name=instrument]", "PHQ-9")
    page.fill("input[name=answers]", "0123")
    page.keyboard.press("Enter")
    page.locator(".errorlist").first.wait_for()
    assert "收到 4 个答案" in page.locator(".errorlist").all_inner_texts()[0]
    screenshot(page, "error")
    page.fill("input[name=answers]", "012301230")
    page.keyboard.press("Enter")
    page.get_by_text("已保存：王芳").wait_for()
    screenshot(page, "saved")
    assert page.locator("input[name=id_number]").input_value() == ""
    assert Assessment.objects.get().entered_by == worker


def test_it_imports_a_file_and_offers_the_rejected_rows(
    page, login_as, screenshot, areas, tmp_path, settings
):
    settings.SCREENING_IMPORT_INLINE = True
    worker = factories.staff("grid_worker", area=areas["grid_a"], username="gw_import")
    person = factories.PersonFactory(
        home_area=areas["grid_a"], id_number=factories.valid_id_number("19660606")
    )
    path = tmp_path / "paper.csv"
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["身份证号", "姓名", "测评日期", "地点"] + [str(n) for n in range(1, 10)])
        w.writerow([person.id_number, "", "2026-11-01", "", *"111111111"])
        w.writerow([person.id_number, "", "2026-11-02", "", *"1111x1111"])
    login_as(page, worker)
    page.goto("/screening/import/")
    page.select_option("select[name=instrument]", "PHQ-9")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="开始导入").click()
    page.get_by_text("校验报告").wait_for()
    assert page.locator("dd.imported").inner_text() == "1"
    assert page.locator("dd.rejected").inner_text() == "1"
    screenshot(page, "report")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载未通过的行").click()
    assert "rejected" in download.value.suggested_filename
    assert ImportJob.objects.get().rows_imported == 1
