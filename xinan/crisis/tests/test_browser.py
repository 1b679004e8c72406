"""The crisis board in a real browser: a new alert arrives live, with badge and sound.

Uses the shared Playwright fixtures from xinan.testing.browser when they exist; until then a
small local pair (`crisis_browser`, `crisis_login`) drives Debian's chromium directly.
"""

import os
import shutil

import pytest
from django.conf import settings as django_settings
from django.test import Client

from xinan.crisis import runner
from xinan.crisis.models import Alert, Status
from xinan.crisis.tests.conftest import emit, item9

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("XINAN_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


@pytest.fixture
def crisis_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright runs a loop
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
        )
        yield browser
        browser.close()


@pytest.fixture
def crisis_login(crisis_browser, live_server):
    def login(user):
        client = Client()
        client.force_login(user)
        context = crisis_browser.new_context(base_url=live_server.url, locale="zh-CN")
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        return context.new_page()

    return login


def test_a_new_alert_appears_live_with_badge_and_sound(crisis_login, person_a, crisis_a):
    page = crisis_login(crisis_a)
    page.goto("/crisis/")
    badge = page.get_by_test_id("unacked-badge")
    assert badge.inner_text() == "0"
    page.wait_for_timeout(600)  # the first poll has run
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("browser-test")
    row = page.locator("tr.alert-row.level-red")
    row.wait_for(timeout=3000)  # live, without a reload; how fast is `make bench`'s (d)
    assert badge.inner_text() == "1"
    assert "第9题" in row.inner_text()
    assert page.locator("#alert-board").get_attribute("data-beeps") == "1"
    assert page.title().startswith("(1)")


def test_a_crisis_worker_acknowledges_the_alert_from_the_board(crisis_login, person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9(2))
    runner.run_once("browser-test")
    page = crisis_login(crisis_a)
    page.goto("/crisis/")
    page.locator("tr.alert-row a").first.click()
    page.get_by_test_id("acknowledge").click()
    assert "已确认，请立即联系当事人" in page.content()
    assert page.get_by_test_id("alert-status").inner_text() == "处置中"
    assert Alert.objects.get().status == Status.ACKNOWLEDGED
    page.select_option("select[name=outcome]", "reached")
    page.locator("form[action$='/contact/'] button").click()
    assert "已记录联系尝试" in page.content()
    assert "已接通" in page.get_by_test_id("timeline").inner_text()


def test_the_board_reconnects_and_fetches_what_it_missed(crisis_login, person_a, crisis_a):
    page = crisis_login(crisis_a)
    page.goto("/crisis/")
    page.route("**/crisis/alerts/since/**", lambda route: route.abort())
    page.get_by_test_id("live-status").locator("text=连接中断").wait_for(timeout=3000)
    emit(person_id=person_a.pk, critical=item9(1))
    runner.run_once("browser-test")
    page.unroute("**/crisis/alerts/since/**")
    page.locator("tr.alert-row.level-red").wait_for(timeout=8000)
    assert page.get_by_test_id("unacked-badge").inner_text() == "1"


def test_a_new_alert_takes_its_place_and_only_it_flashes(crisis_login, areas, person_a, crisis_a):
    """Red before orange, the newest first within a level; a row flashes when it arrives, and an
    older row does not flash again (or move) when another arrives."""
    from xinan.testing import factories

    others = [factories.PersonFactory(name=f"居民{i}", home_area=areas["grid_a"]) for i in (1, 2)]
    emit(person_id=person_a.pk, critical=item9(2))
    runner.run_once("browser-test")
    first_red = Alert.objects.get()
    page = crisis_login(crisis_a)
    page.goto("/crisis/")
    page.wait_for_timeout(600)
    emit(person_id=others[0].pk, band="severe", total=22, positive=True)
    runner.run_once("browser-test")
    orange = Alert.objects.get(level="orange")
    orange_row = page.locator(f'tr[data-alert="{orange.pk}"]')
    orange_row.wait_for(timeout=3000)
    assert "fresh" in orange_row.get_attribute("class")
    page.wait_for_function(  # the flash (3 × 1.2 s) has ended
        f"() => !document.querySelector('tr[data-alert=\"{orange.pk}\"]').classList"
        ".contains('fresh')",
        timeout=6000,
    )
    emit(person_id=others[1].pk, critical=item9(3))
    runner.run_once("browser-test")
    new_red = Alert.objects.exclude(pk__in=[first_red.pk, orange.pk]).get()
    page.locator(f'tr[data-alert="{new_red.pk}"]').wait_for(timeout=3000)
    order = page.locator("tr.alert-row").evaluate_all("rows => rows.map(r => r.dataset.alert)")
    assert order == [str(new_red.pk), str(first_red.pk), str(orange.pk)]
    assert "fresh" not in orange_row.get_attribute("class")
