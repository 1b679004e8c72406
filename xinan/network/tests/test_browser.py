"""The area admin's service-network pages and the counsellor's hours, in a real browser."""

import datetime as dt

import pytest
from django.utils import timezone

from xinan.booking.models import VoucherBudget
from xinan.network.models import Course, Professional, TrainingSession
from xinan.testing import factories

pytestmark = pytest.mark.browser


def test_an_area_admin_manages_the_network(page, login_as, screenshot, areas, town_admin):
    factories.service_site(areas["village_a"], "安顺心理咨询室", site_type="village_room")
    factories.area("310105001002", "第二居委", "village", areas["town_a"])
    p = Professional.objects.create(
        name="陈静", kind="counsellor", area=areas["town_a"], specialties="睡眠"
    )
    course = Course.objects.create(title="能力提升培训", topic="社区心理", area=areas["town_a"])
    now = timezone.now()
    session = TrainingSession.objects.create(
        course=course,
        topic="危机识别",
        trainer="赵医生",
        starts_at=now,
        ends_at=now + dt.timedelta(hours=2),
        hours=2,
        site=factories.service_site(areas["town_a"], "华阳路心理驿站"),
    )
    VoucherBudget.objects.create(
        area=areas["town_a"],
        name="华阳路嘉心券",
        period_start=now.date(),
        period_end=now.date() + dt.timedelta(days=30),
        total_cents=5000_00,
    )
    login_as(page, town_admin)
    page.goto("/workbench/")
    page.get_by_test_id("network-workbench").get_by_role("link", name="服务点").click()
    page.get_by_role("link", name="新建服务点").click()
    page.get_by_label("名称").fill("华阳路健心客厅")
    page.get_by_label("类型").select_option(label="健心客厅")
    page.get_by_label("区划").select_option(label="华阳路街道")
    page.get_by_label("每周开放时间").fill("周一至周五 13:30-20:30；周六 9:00-17:00")
    page.get_by_label("个体心理咨询").check()
    page.get_by_role("button", name="保存").click()
    page.get_by_text("服务点已保存").wait_for()
    page.get_by_label("日期").fill("2027-01-01")
    page.get_by_label("说明").fill("元旦闭馆")
    page.get_by_role("button", name="添加").click()
    page.get_by_text("节假日安排已保存").wait_for()
    screenshot(page, "site-edit")

    page.goto("/network/manage/coverage/")
    assert page.get_by_test_id("coverage-rate").inner_text() == "50%"
    page.locator("#coverage-chart canvas").first.wait_for()
    screenshot(page, "coverage")

    page.goto("/network/manage/professionals/")
    page.get_by_role("link", name="陈静").click()
    page.get_by_label("证书名称").fill("心理咨询师")
    page.get_by_label("证书编号").fill("SH-1")
    page.get_by_label("发证机构").fill("人社局")
    page.get_by_label("有效期至").fill("2020-01-01")
    page.get_by_role("button", name="登记证书").click()
    assert "证书已于2020-01-01过期" in page.locator(".messages").inner_text()
    assert not p.certificates.exists()
    screenshot(page, "professional")

    page.goto(f"/network/manage/trainings/sessions/{session.pk}/")
    assert page.locator(".qr svg").is_visible()
    page.locator("select[name=professional]").select_option(label="陈静（心理咨询师）")
    page.get_by_role("button", name="代为签到").click()
    page.get_by_text("已签到").first.wait_for()
    page.goto("/network/manage/trainings/")
    assert page.get_by_test_id("person-times").inner_text() == "1"
    screenshot(page, "trainings")

    page.goto("/booking/vouchers/")
    assert "华阳路嘉心券" in page.locator("main").inner_text()
    assert "5000.00" in page.locator("main").inner_text()
    screenshot(page, "vouchers")
    page.goto("/network/manage/import/")
    screenshot(page, "import")


def test_a_counsellor_publishes_hours_and_sees_the_overlap_refused(
    page, login_as, screenshot, areas, counsellor
):
    factories.service_site(areas["town_a"], "华阳路心理驿站", hours="周一至周五 9:00-17:00")
    login_as(page, counsellor)
    page.goto("/booking/availability/")
    form = page.locator("form.stack")
    for start, end in (("09:00", "12:00"), ("11:00", "13:00")):
        form.get_by_label("星期").select_option(label="周一")
        form.get_by_label("开始").fill(start)
        form.get_by_label("结束").fill(end)
        form.get_by_label("站点").select_option(label="华阳路心理驿站")
        form.get_by_label("生效日期").fill(timezone.localdate().isoformat())
        form.get_by_role("button", name="添加").click()
        page.wait_for_load_state()
    assert "与已有的可预约时间重叠（09:00-12:00）" in page.locator("main").inner_text()
    assert page.locator("table tbody tr").count() == 1
    screenshot(page, "availability")
