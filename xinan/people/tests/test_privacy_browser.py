"""个人信息导出与删除 in a real browser: an area admin exports a resident's data, is stopped by
an open alert, then erases once it is closed."""

import json
from pathlib import Path

import pytest

from xinan.crisis import services as crisis
from xinan.people.models import Person
from xinan.testing import factories

pytestmark = pytest.mark.browser
REASON = "本人书面申请，2026-12-01受理"


def test_an_area_admin_exports_then_erases_a_resident(
    page, login_as, town_admin, grid_worker, person_a, areas, screenshot
):
    alert = crisis.raise_manual_alert(person_a, actor=grid_worker, level="orange", reason="失眠")
    login_as(page, town_admin)
    page.goto(f"/people/{person_a.pk}/")
    page.get_by_role("link", name="个人信息导出与删除").click()
    page.wait_for_url(f"**/people/{person_a.pk}/privacy/")
    assert "1 条未关闭的危机预警" in page.inner_text("main")
    assert page.locator("#erase-form").count() == 0
    screenshot(page, "blocked")

    page.fill("#export-form input[name=reason]", REASON)
    with page.expect_download() as info:
        page.locator("#export-form button").click()
    download = info.value
    assert download.suggested_filename == f"person-{person_a.pk}-data.json"
    document = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert document["data"]["people"]["record"]["name"] == "张三"
    assert document["data"]["crisis"]["alerts"][0]["summary"] == "失眠"

    worker = factories.staff("crisis_worker", area=areas["town_a"], username="cw_browser")
    crisis.acknowledge_alert(alert, actor=worker)
    crisis.close_alert(alert, actor=worker, reason="已随访")
    page.reload()
    page.fill("#erase-form input[name=reason]", REASON)
    page.locator("#erase-form button").click()
    assert "请勾选确认后再删除" in page.inner_text("main")
    assert Person.objects.get(pk=person_a.pk).erased_at is None
    page.fill("#erase-form input[name=reason]", REASON)
    page.check("#erase-form input[name=confirm]")
    page.locator("#erase-form button").click()
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert "已删除该居民的个人信息" in main and "张三" not in main
    screenshot(page, "erased")
    person = Person.objects.get(pk=person_a.pk)
    assert person.erased_at is not None and person.id_number == ""
