"""The whole night-time path in real browsers: a resident on a phone answers PHQ-9 item 9 with
3, sees the crisis screen and asks for a callback; the on-duty worker's board rings, the worker
acknowledges, taps to reveal and call (the audit shows the reveal), works and closes the alert.
And the same with nobody on duty: the named fallback receives it, and the resident was told
only what was true."""

import pytest

from xinan.core.models import AuditEntry
from xinan.crisis import runner
from xinan.crisis.models import Alert, CallbackTask, CrisisFallback, FallbackMode, Status
from xinan.crisis.tests.conftest import on_shift
from xinan.testing import factories

pytestmark = [pytest.mark.browser]


def answer_item9_with_3(phone):
    phone.goto("/screening/take/PHQ-9/")
    phone.get_by_role("button", name="我已了解并同意，开始作答").click()
    for n, value in enumerate([1, 1, 1, 1, 1, 0, 0, 0, 3], start=1):
        phone.get_by_text(f"第 {n} 题，共 9 题").wait_for()
        phone.locator(f"input[name=answer][value='{value}']").check()
        phone.locator(".nav-buttons button:not([name=back])").click()
    phone.get_by_role("heading", name="请现在就和我们联系").wait_for()


def ask_for_callback(phone, number="13800007777"):
    phone.get_by_test_id("callback-link").click()
    phone.fill("input[name=phone]", number)
    phone.fill("textarea[name=note]", "睡不着，很难受")
    phone.locator("main form button[type=submit]").click()
    phone.get_by_test_id("callback-done").wait_for()
    return phone.get_by_test_id("callback-done").inner_text()


def test_the_night_path_with_someone_on_duty(
    page, new_page, mobile_page, login_as, areas, screenshot, live_url
):
    worker = factories.staff("crisis_worker", area=areas["district"], username="night_worker")
    on_shift(worker, areas["district"])
    other = factories.staff("crisis_worker", area=areas["district"], username="second_worker")
    on_shift(other, areas["district"])
    login_as(page, worker)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/crisis/")
    page.wait_for_timeout(600)  # the first poll has run

    phone = mobile_page
    answer_item9_with_3(phone)
    crisis_text = phone.locator("main").inner_text()
    assert "匿名作答，我们无法主动联系您" in crisis_text
    for number in ("12356", "110", "120"):
        assert phone.locator(f"main a[href='tel:{number}']").count() == 1, number
    screenshot(phone, "crisis-screen-phone")
    runner.run_once("night")
    what_next = phone.get_by_test_id("callback-link")
    assert what_next.is_visible()
    phone.get_by_test_id("callback-link").click()
    assert "现在有危机干预人员值班" in phone.get_by_test_id("what-next").inner_text()
    phone.go_back()
    done = ask_for_callback(phone)
    assert "现在有危机干预人员值班" in done and "会尽快给您回电" in done
    screenshot(phone, "callback-done-phone")
    runner.run_once("night")

    # The board rings for both alerts (the assessment's and the callback request).
    page.locator("tr.alert-row").nth(1).wait_for(timeout=3000)
    assert page.get_by_test_id("unacked-badge").inner_text() == "2"
    assert int(page.locator("#alert-board").get_attribute("data-beeps") or 0) >= 1
    assert "second_worker" in page.get_by_test_id("on-duty").inner_text()
    screenshot(page, "board-desktop")

    callback_alert = Alert.objects.get(trigger="callback_request")
    assert callback_alert.assigned_to == worker
    page.goto(f"/crisis/alerts/{callback_alert.pk}/")
    assert "138****7777" in page.get_by_test_id("reach").inner_text()
    page.get_by_test_id("acknowledge").click()
    page.get_by_test_id("reveal").click()
    call = page.get_by_test_id("tel-callback")
    assert call.get_attribute("href") == "tel:13800007777"
    screenshot(page, "alert-revealed-desktop")
    reveal = AuditEntry.objects.get(action="crisis.alert.reveal_phone")
    assert reveal.actor == worker and f"#{callback_alert.pk}" in reveal.reason

    page.select_option("form[action$='/contact/'] select[name=outcome]", "reached")
    page.fill("form[action$='/contact/'] textarea[name=note]", "已接通，情绪稍稳定")
    page.locator("form[action$='/contact/'] button").click()
    assert CallbackTask.objects.get().done_by == worker
    page.select_option("form[action$='/disposition/'] select[name=disposition]", "safe_with_plan")
    page.locator("form[action$='/disposition/'] button").click()
    page.fill("form[action$='/close/'] textarea[name=reason]", "已回电，约定明早再联系")
    page.locator("form[action$='/close/'] button").click()
    assert page.get_by_test_id("alert-status").inner_text() == "已关闭"
    timeline = page.get_by_test_id("timeline").inner_text()
    for kind in ("已确认", "查看完整号码", "联系尝试", "处置结果", "关闭"):
        assert kind in timeline, (kind, timeline)

    # The audit log reads as sentences, with the reveal in it.
    admin = factories.staff("area_admin", area=areas["district"], username="district_boss")
    auditor = new_page()
    login_as(auditor, admin)
    auditor.goto("/audit/")
    assert "查看当事人完整号码" in auditor.locator("main").inner_text()


def test_the_night_path_with_nobody_on_duty_goes_to_the_fallback(
    page, mobile_page, login_as, areas, screenshot, live_url
):
    lead = factories.staff("crisis_worker", area=areas["district"], username="team_lead")
    CrisisFallback.objects.create(area=areas["district"], mode=FallbackMode.LEAD, user=lead)
    phone = mobile_page
    answer_item9_with_3(phone)
    phone.get_by_test_id("callback-link").click()
    before = phone.get_by_test_id("what-next").inner_text()
    assert "此刻没有危机干预人员值班" in before
    phone.go_back()
    done = ask_for_callback(phone)
    assert "此刻没有危机干预人员值班" in done and "请现在就拨打上方热线" in done
    assert "会尽快给您回电" not in done
    screenshot(phone, "callback-fallback-phone")
    runner.run_once("night")

    alerts = Alert.objects.order_by("pk")
    assert alerts.count() == 2
    assert all(a.assigned_to == lead and a.via_fallback for a in alerts)
    login_as(page, lead)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/crisis/")
    nobody = page.get_by_test_id("nobody").inner_text()
    assert "无人值班" in nobody and "team_lead" in nobody
    assert page.locator("tr.alert-row .fallback-tag").count() == 2
    screenshot(page, "board-nobody-desktop")
    page.locator("tr.alert-row a").first.click()
    page.get_by_test_id("acknowledge").click()
    assert "无人值班，已交后备负责人" in page.get_by_test_id("assigned-to").inner_text()
    assert Alert.objects.filter(status=Status.ACKNOWLEDGED, acknowledged_by=lead).count() == 1
    page.goto("/crisis/roster/")
    assert "无人值班" in page.get_by_test_id("nobody").inner_text()
    screenshot(page, "roster-desktop")
    phone_staff = mobile_page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=live_url
    ).new_page()
    login_as(phone_staff, lead)
    phone_staff.goto("/crisis/roster/")
    width = phone_staff.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, width  # the week fits the phone's width
    screenshot(phone_staff, "roster-phone")
    phone_staff.goto("/crisis/")
    screenshot(phone_staff, "board-phone")
    first = Alert.objects.order_by("pk").first()
    phone_staff.goto(f"/crisis/alerts/{first.pk}/")
    screenshot(phone_staff, "alert-phone")


def test_the_board_keeps_the_sound_choice_of_each_user(page, login_as, areas, live_url):
    worker = factories.staff("crisis_worker", area=areas["district"], username="quiet_worker")
    login_as(page, worker)
    page.goto("/crisis/")
    board = page.locator("#alert-board")
    assert board.get_attribute("data-sound") == "on"
    page.locator("#sound-toggle").click()
    assert board.get_attribute("data-sound") == "off"
    page.reload()
    assert page.locator("#alert-board").get_attribute("data-sound") == "off"
    assert "提示音：关" in page.locator("#sound-toggle").inner_text()
    # Kept under this user's id: another user of the same browser keeps their own choice.
    key = page.evaluate("Object.keys(window.localStorage)")
    assert key == [f"xinan.crisis.sound.{worker.pk}"]
