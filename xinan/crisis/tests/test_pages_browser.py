"""Every crisis page in a real browser, signed in through the login form: the alert worked from
acknowledgement to closure, the roster, the hotline desk, and the resident's crisis screen.

(The board's live delivery, badge, sound and reconnection are in test_browser.py.)
"""

import datetime as dt
import re

import pytest
from django.utils import timezone

from xinan.crisis import runner
from xinan.crisis.models import Alert, AlertEvent, CallbackTask, EventKind, HotlineCall, Status
from xinan.crisis.tests.conftest import emit, item9

pytestmark = [pytest.mark.browser]

FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def red_alert(live_url, person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("browser-test")
    return Alert.objects.get()


def test_an_alert_is_acknowledged_worked_and_closed_only_with_a_disposition(
    page, login_as, red_alert, crisis_a, screenshot
):
    login_as(page, crisis_a)
    page.goto(f"/crisis/alerts/{red_alert.pk}/")
    assert "张三" in page.content()
    page.get_by_test_id("acknowledge").click()
    assert page.get_by_test_id("alert-status").inner_text() == "处置中"

    page.select_option("select[name=outcome]", "no_answer")
    page.locator("form[action$='/contact/'] button").click()
    page.select_option("form[action$='/risk/'] select[name=level]", "red")
    page.fill("form[action$='/risk/'] textarea[name=note]", "有具体计划")
    page.locator("form[action$='/risk/'] button").click()

    # A red alert will not close before its disposition: the message says why, nothing changes.
    assert "红色预警须先记录处置结果" in page.content()
    page.fill("form[action$='/close/'] textarea[name=reason]", "已处理")
    page.locator("form[action$='/close/'] button").click()
    assert "红色预警必须先记录处置结果才能关闭" in page.content()
    assert Alert.objects.get().status == Status.ACKNOWLEDGED

    page.select_option("select[name=disposition]", "hospital")
    page.locator("form[action$='/disposition/'] button").click()
    assert page.get_by_test_id("disposition").inner_text() == "已转介医院"
    page.fill("form[action$='/close/'] textarea[name=reason]", "已送医，家属陪同")
    page.locator("form[action$='/close/'] button").click()
    assert page.get_by_test_id("alert-status").inner_text() == "已关闭"
    assert "已关闭的预警不能重新打开" in page.content()
    timeline = page.get_by_test_id("timeline").inner_text()
    for kind in ("已确认", "联系尝试", "无人接听", "风险评估", "处置结果", "关闭"):
        assert kind in timeline, (kind, timeline)
    screenshot(page, "closed")
    alert = Alert.objects.get()
    assert (alert.status, alert.disposition, alert.risk_level) == ("closed", "hospital", "red")
    assert alert.close_reason == "已送医，家属陪同"


def test_a_second_worker_s_acknowledgement_is_refused_with_who_and_when(
    page, new_page, login_as, red_alert, crisis_a, crisis_a2
):
    other = new_page()
    login_as(other, crisis_a2)
    other.goto(f"/crisis/alerts/{red_alert.pk}/")  # both have it open
    login_as(page, crisis_a)
    page.goto(f"/crisis/alerts/{red_alert.pk}/")
    page.get_by_test_id("acknowledge").click()
    other.get_by_test_id("acknowledge").click()
    assert "该预警已由 crisis_a" in other.content() and "无需重复确认" in other.content()
    assert AlertEvent.objects.filter(kind=EventKind.ACKNOWLEDGED).count() == 1
    assert Alert.objects.get().acknowledged_by == crisis_a


def test_the_roster_shows_coverage_gaps_adds_a_shift_and_refuses_an_overlap(
    page, login_as, areas, crisis_a, screenshot
):
    login_as(page, crisis_a)
    page.goto("/crisis/roster/")
    gaps = page.get_by_test_id(f"gaps-{areas['town_a'].code}")
    before = int(re.match(r"\d+", gaps.inner_text()).group())
    assert before > 0 and "flag" in gaps.get_attribute("class")

    tomorrow = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(
        days=1
    )
    page.select_option("select[name=user]", str(crisis_a.pk))
    page.fill("input[name=area]", "华阳路街道")
    page.fill("input[name=starts_at]", tomorrow.strftime(FMT))
    page.fill("input[name=ends_at]", (tomorrow + dt.timedelta(hours=8)).strftime(FMT))
    page.locator("main form button[type=submit]").first.click()
    after = int(
        re.match(r"\d+", page.get_by_test_id(f"gaps-{areas['town_a'].code}").inner_text()).group()
    )
    assert after == before - 8

    # The same person, overlapping hours: refused with a message, nothing saved.
    page.select_option("select[name=user]", str(crisis_a.pk))
    page.fill("input[name=area]", "华阳路街道 / 安顺居委会")
    page.fill("input[name=starts_at]", (tomorrow + dt.timedelta(hours=4)).strftime(FMT))
    page.fill("input[name=ends_at]", (tomorrow + dt.timedelta(hours=10)).strftime(FMT))
    page.locator("main form button[type=submit]").first.click()
    assert "班次不能重叠" in page.content()
    assert crisis_a.duty_shifts.count() == 2
    screenshot(page, "roster")


def test_the_hotline_desk_records_a_high_risk_call_and_lists_its_callback(
    page, login_as, areas, crisis_a, screenshot
):
    login_as(page, crisis_a)
    page.goto("/crisis/hotline/")
    assert page.get_by_test_id("due-count").inner_text() == "0"
    page.fill("input[name=received_at]", timezone.localtime().strftime(FMT))
    page.fill("input[name=wait_seconds]", "15")
    page.fill("input[name=duration_seconds]", "1200")
    page.select_option("select[name=topic]", "suicide")
    page.select_option("select[name=risk]", "high")
    page.fill("input[name=area_code]", "华阳路街道 / 安顺居委会")
    page.fill("input[name=phone]", "13900002222")
    page.fill("textarea[name=notes]", "独居，曾有自伤史")
    page.locator("main form button[type=submit]").first.click()
    assert "高危来电：已触发危机预警并生成回电任务" in page.content()
    assert page.get_by_test_id("due-count").inner_text() == "1"
    assert "139****2222" in page.content()
    assert "1" in page.get_by_test_id("per-hour").inner_text()
    call = HotlineCall.objects.get()
    assert call.alert.level == "red" and call.alert.assigned_to == crisis_a
    screenshot(page, "desk")

    page.locator("form[action*='/callbacks/'] select[name=outcome]").select_option("reached")
    page.locator("form[action*='/callbacks/'] button").click()
    assert CallbackTask.objects.get().done_by == crisis_a
    assert page.get_by_test_id("due-count").inner_text() == "0"


def test_a_resident_sees_the_hotlines_first_and_asks_for_a_callback(
    mobile_page, live_url, areas, crisis_b, screenshot
):
    areas["town_b"].hotline = "021-12345678"
    areas["town_b"].save()
    page = mobile_page
    page.goto(f"/crisis/callback/?area={areas['village_b'].code}")
    links = page.locator("main a.hotline")
    assert links.nth(0).get_attribute("href") == "tel:12356"
    assert links.nth(1).get_attribute("href") == "tel:021-12345678"
    assert links.nth(0).is_visible()
    text = page.locator("main").inner_text()
    assert text.index("12356") < text.index("值班人员会立即收到提醒")  # then what next
    assert page.get_by_test_id("call-110").get_attribute("href") == "tel:110"
    assert page.get_by_test_id("call-120").get_attribute("href") == "tel:120"
    screenshot(page, "crisis-screen")

    page.fill("input[name=phone]", "12345")
    page.locator("main form button[type=submit]").click()
    assert "手机号应为11位" in page.content()
    assert not Alert.objects.exists()

    page.fill("input[name=phone]", "138 0000 3333")
    page.fill("textarea[name=note]", "想找人聊聊")
    page.locator("main form button[type=submit]").click()
    page.get_by_test_id("callback-done").wait_for()
    alert = Alert.objects.get()
    assert alert.assigned_to == crisis_b and alert.level == "orange"
    assert CallbackTask.objects.get().note == "想找人聊聊"
    # Going back and sending it again pages nobody twice.
    page.go_back()
    page.locator("main form button[type=submit]").click()
    page.get_by_test_id("callback-done").wait_for()
    assert Alert.objects.count() == 1 and Alert.objects.get().repeats == 1
