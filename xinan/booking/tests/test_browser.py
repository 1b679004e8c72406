"""The 'done when' journey on a phone: a resident who screened positive finds the nearest open
site, books a counsellor with a voucher, gets a reminder, and after the session the
counsellor's record shows it (and booking.session_completed is in the outbox for the case)."""

import datetime as dt

import pytest
from django.utils import timezone

from xinan.booking import consumers, sweeps
from xinan.booking.models import Appointment, Status, Voucher, VoucherBudget, VoucherRule
from xinan.booking.topics import SESSION_COMPLETED
from xinan.core.events import Event
from xinan.core.models import OutboxEvent
from xinan.screening.tests.test_browser import answer_all
from xinan.testing import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def network(areas, live_url):
    near = factories.service_site(
        areas["village_a"],
        "安顺心理咨询室",
        site_type="village_room",
        lat=31.2200,
        lon=121.4200,
        phone="021-62000001",
        address="长宁区安顺路100号",
    )
    factories.service_site(areas["town_b"], "新泾心理驿站", lat=31.2300, lon=121.3700)
    factories.service_site(
        areas["town_a"],
        "华阳路健心客厅",
        site_type="lounge",
        lat=31.2260,
        lon=121.4300,
        hours="周一 3:00-4:00",  # closed almost always
    )
    counsellor = factories.counsellor_with_hours(areas["town_a"], near, username="chen")
    today = timezone.localdate()
    budget = VoucherBudget.objects.create(
        area=areas["district"],
        name="长宁区嘉心券",
        period_start=today,
        period_end=today + dt.timedelta(days=120),
        total_cents=10_000_00,
    )
    VoucherRule.objects.create(budget=budget, value_cents=150_00, valid_days=60)
    return near, counsellor


def deliver_scored_events():
    """Until the worker delivers to every consumer, hand the outbox rows to ours."""
    for row in OutboxEvent.objects.filter(topic="assessment.scored"):
        consumers.voucher_for_positive_screen(
            Event(id=row.pk, topic=row.topic, payload=row.payload)
        )


def test_a_positive_screen_to_a_completed_session(
    mobile_page, new_page, login_as, screenshot, areas, resident_user, network, time_machine
):
    site, counsellor = network
    factories.PersonFactory(name="周丽", home_area=areas["grid_a"], user=resident_user)
    page = mobile_page
    login_as(page, resident_user, "Resident2026x")
    page.goto("/screening/take/PHQ-9/")
    page.get_by_role("button", name="我已了解并同意，开始作答").click()
    answer_all(page, [2, 2, 2, 2, 2, 1, 0, 0, 0])
    page.get_by_text("测评结果").first.wait_for()
    assert page.get_by_text("总分 11").is_visible()
    assert page.get_by_test_id("book-nearby").is_visible()
    screenshot(page, "1-result")
    deliver_scored_events()
    assert Voucher.objects.get().value_cents == 150_00

    # The finder, nearest first from the phone's position, only what is open now.
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 31.2201, "longitude": 121.4201})
    page.goto("/network/sites/")
    page.get_by_role("button", name="按离我最近排序").click()
    page.wait_for_url("**lat=*")
    cards = page.get_by_test_id("site-card")
    assert cards.first.locator("h3").inner_text() == "安顺心理咨询室"
    assert "15米" in cards.first.inner_text() and "现在开放" in cards.first.inner_text()
    second, third = cards.nth(1).inner_text(), cards.nth(2).inner_text()
    assert "华阳路健心客厅" in second and "1.1公里" in second and "现在未开放" in second
    assert "新泾心理驿站" in third and "4.9公里" in third
    assert cards.nth(2).get_by_role("link", name="预约咨询").count() == 0  # by phone only
    page.get_by_label("只看现在开放").check()
    page.get_by_role("button", name="查找").click()
    assert "华阳路健心客厅" not in page.locator("#results").inner_text()
    assert page.locator("a[href='tel:021-62000001']").is_visible()
    screenshot(page, "2-finder")

    # Book the counsellor with the voucher.
    cards.first.get_by_role("link", name="预约咨询").click()
    page.get_by_test_id("slot").first.click()
    assert "安顺心理咨询室" in page.locator("main").inner_text()
    assert page.get_by_label("使用心理服务券").input_value() != ""
    screenshot(page, "3-confirm")
    page.get_by_role("button", name="确认预约").click()
    page.get_by_text("预约成功").wait_for()
    assert page.get_by_test_id("voucher").is_visible()
    screenshot(page, "4-booked")
    a = Appointment.objects.get()
    assert a.counsellor == counsellor and Voucher.objects.get().status == "redeemed"

    # The reminder sweep runs when the first reminder is due (or at once if it is near).
    due = min(r.due_at for r in a.reminders.all()) if a.reminders.exists() else None
    if due is None:
        pytest.fail("a booking in the future must schedule a reminder")
    assert sweeps.send_reminders(max(due, timezone.now())) >= 1
    page.goto("/booking/mine/")
    assert "提醒：您预约的心理咨询将于" in page.get_by_test_id("reminder").first.inner_text()
    screenshot(page, "5-reminder")

    # After the session the counsellor records it, and their record shows it.
    time_machine.move_to(a.ends_at + dt.timedelta(minutes=5), tick=True)
    desk = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    login_as(desk, counsellor)
    desk.goto("/booking/sessions/")
    desk.get_by_test_id("coming").get_by_role("button", name="已完成").click()
    desk.get_by_text("已登记").wait_for()
    assert "周丽" in desk.get_by_test_id("delivered").first.inner_text()
    assert "已完成的咨询（共1次）" in desk.locator("#delivered").inner_text()
    screenshot(desk, "6-counsellor-record")
    a.refresh_from_db()
    assert a.status == Status.COMPLETED
    event = OutboxEvent.objects.get(topic=SESSION_COMPLETED)
    assert event.payload["appointment_id"] == a.pk and event.payload["person_id"] == a.person_id

    # The person's case records it (cases' consumer, delivered by hand until the worker does).
    from xinan.cases.consumers import record_booked_session
    from xinan.cases.models import Intervention

    record_booked_session(Event(id=event.pk, topic=event.topic, payload=event.payload))
    intervention = Intervention.objects.get(appointment_id=a.pk)
    desk.goto(f"/cases/{intervention.case_id}/")
    assert "周丽" in desk.locator("main").inner_text()
    screenshot(desk, "6b-case")

    # The resident rates it afterwards, signing in afresh: whether the session ran out while
    # the clock moved to the session's end depends on the hour the test runs (a signed-in
    # visitor to the login page is sent on, and finds no form to fill).
    page.context.clear_cookies()
    login_as(page, resident_user, "Resident2026x")
    page.goto(f"/booking/appointments/{a.pk}/")
    page.get_by_text("★★★★★", exact=True).click()
    page.get_by_role("button", name="提交评价").click()
    page.get_by_text("谢谢您的评价").wait_for()
    a.refresh_from_db()
    assert a.rating == 5
    screenshot(page, "7-rated")
