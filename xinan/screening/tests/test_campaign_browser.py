"""Campaign invitations in a real browser: an admin issues and downloads at a desk, a resident
answers through a personal link on a phone."""

import csv
import datetime as dt

import pytest
from django.utils import timezone

from xinan.core.models import AuditEntry
from xinan.screening import campaigns
from xinan.screening.models import Assessment, CampaignInvitation
from xinan.testing import factories

pytestmark = pytest.mark.browser


def make_campaign(area, admin, **kwargs):
    today = timezone.localdate()
    data = (
        dict(
            name="2026秋季抑郁筛查",
            area=area,
            instruments=("PHQ-9",),
            starts_on=today - dt.timedelta(days=10),
            ends_on=today + dt.timedelta(days=30),
        )
        | kwargs
    )
    return campaigns.create_campaign(campaigns.CampaignData(**data), actor=admin)


def answer_all(page, values, count=9):
    for n, value in enumerate(values, start=1):
        page.get_by_text(f"第 {n} 题，共 {count} 题").wait_for()
        page.locator(f"input[name=answer][value='{value}']").check()
        page.locator(".nav-buttons button:not([name=back])").click()


def test_an_admin_issues_invitations_and_downloads_the_list(
    page, login_as, screenshot, areas, tmp_path
):
    admin = factories.staff("area_admin", area=areas["district"], username="admin_camp")
    campaign = make_campaign(areas["district"], admin)
    factories.PersonFactory(name="王小明", home_area=areas["grid_a"])
    factories.PersonFactory(name="李红", home_area=areas["grid_b"])
    login_as(page, admin)
    page.goto(f"/screening/campaigns/{campaign.pk}/")
    assert page.get_by_text("已发出邀请 0 份").is_visible()
    page.get_by_role("button", name="为尚未邀请的目标人群发出邀请").click()
    page.get_by_text("已发出 2 份新的邀请").wait_for()
    assert page.get_by_text("已发出邀请 2 份").is_visible()
    assert page.get_by_text("上次发放：新发出 2 份").is_visible()
    screenshot(page, "issued")
    with page.expect_download() as info:
        page.get_by_role("link", name="下载邀请名单（CSV，含个人链接）").click()
    path = tmp_path / "list.csv"
    info.value.save_as(path)
    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["编号", "姓名", "区划代码", "地区", "个人链接", "状态"]
    assert {r[1] for r in rows[1:]} == {"王**", "李*"}
    tokens = set(CampaignInvitation.objects.values_list("token", flat=True))
    assert {r[4].rsplit("/", 2)[1] for r in rows[1:]} == tokens
    assert all(r[4].startswith(page.url.split("/screening/")[0]) for r in rows[1:])
    assert AuditEntry.objects.filter(action="screening.invitation.export", actor=admin).exists()
    # Issuing again adds no one.
    page.get_by_role("button", name="为尚未邀请的目标人群发出邀请").click()
    page.get_by_text("目标人群都已邀请过").wait_for()
    assert CampaignInvitation.objects.count() == 2


def test_an_admin_prints_slips_and_renews_a_lost_link(page, login_as, screenshot, areas):
    admin = factories.staff("area_admin", area=areas["district"], username="admin_print")
    campaign = make_campaign(areas["district"], admin)
    factories.PersonFactory(name="王小明", home_area=areas["grid_a"])
    factories.PersonFactory(name="李红", home_area=areas["grid_b"])
    campaigns.issue_invitations(campaign, actor=admin)
    login_as(page, admin)
    page.goto(f"/screening/campaigns/{campaign.pk}/")
    page.get_by_role("link", name="打印长宁区的邀请单（含二维码）").click()
    page.get_by_text("共 2 份，每份一个二维码").wait_for()
    slips = page.locator("li.slip")
    assert slips.count() == 2 and page.locator("li.slip svg").count() == 2
    assert slips.filter(has_text="王**").is_visible() and slips.filter(has_text="李*").is_visible()
    screenshot(page, "slips")
    # Printed, the page is the slips alone: no menus, no buttons.
    page.emulate_media(media="print")
    assert (
        not page.locator(".topbar").is_visible()
        and not page.locator("form.reissue").first.is_visible()
    )
    screenshot(page, "slips-print")
    page.emulate_media(media="screen")
    lost = CampaignInvitation.objects.get(person__name="王小明")
    slips.filter(has_text="王**").get_by_role("button", name="重新生成链接（旧链接失效）").click()
    page.get_by_text("已为 王** 生成新的链接，旧链接已失效").wait_for()
    renewed = CampaignInvitation.objects.get(pk=lost.pk)
    assert renewed.token != lost.token
    assert f"/screening/i/{renewed.token}/" in page.content() and lost.token not in page.content()


def test_a_resident_answers_through_a_personal_link_on_a_phone(mobile_page, screenshot, areas):
    admin = factories.staff("area_admin", area=areas["district"], username="admin_link")
    campaign = make_campaign(areas["district"], admin)
    person = factories.PersonFactory(name="张三丰", home_area=areas["grid_a"])
    campaigns.issue_invitations(campaign, actor=admin)
    invitation = CampaignInvitation.objects.get()
    page = mobile_page
    page.goto(f"/screening/i/{invitation.token}/")
    assert page.get_by_text("张**，您好").is_visible()
    assert page.get_by_text("开始前请您了解").is_visible()
    assert "张三丰" not in page.content()
    screenshot(page, "consent")
    page.get_by_role("button", name="我已了解并同意，开始作答").click()
    page.get_by_text("第 1 题，共 9 题").wait_for()
    screenshot(page, "item")
    answer_all(page, [1, 1, 1, 1, 1, 1, 0, 0, 0])
    page.get_by_text("测评结果").first.wait_for()
    assert page.get_by_text("总分 6").is_visible()
    screenshot(page, "result")
    a = Assessment.objects.get()
    assert a.person == person and a.campaign == campaign and a.mode == "self"
    invitation.refresh_from_db()
    assert invitation.completed_at is not None
    page.goto(f"/screening/i/{invitation.token}/")
    page.get_by_text("您已完成本次筛查").wait_for()
    screenshot(page, "done")


def test_an_unknown_personal_link_says_so_on_a_phone(mobile_page, screenshot, live_url):
    mobile_page.goto("/screening/i/not-a-real-token/")
    assert mobile_page.get_by_role("heading", name="邀请链接无效").is_visible()
    screenshot(mobile_page, "unknown")
