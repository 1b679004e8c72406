"""A membership that opens resident records, in a real browser: one sysadmin asks for it in
the admin, a second one approves it from the workbench's queue (finding 11.1)."""

import pytest

from xinan.accounts.models import Membership
from xinan.testing import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def second_sysadmin(db):
    user = factories.staff("sysadmin", username="root_two")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_a_second_administrator_approves_a_psychiatrist_role(
    page, login_as, screenshot, sysadmin, second_sysadmin, areas, person_a
):
    newcomer = factories.UserFactory(username="dr_new", display_name="新医生")
    login_as(page, sysadmin)
    page.goto(f"/admin/accounts/user/{newcomer.pk}/change/")
    page.select_option("select[name=memberships-0-role]", "psychiatrist")
    page.fill("input[name=memberships-0-area]", areas["district"].code)
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert "需由另一位系统管理员审批后生效" in page.inner_text("body")
    screenshot(page, "membership-requested")
    m = Membership.objects.get(user=newcomer)
    assert m.pending and not m.active

    # The one who asked sees it waiting, marked as not theirs to approve.
    page.goto("/workbench/")
    queue = page.locator("[data-testid=pending-memberships]")
    assert "须由另一位管理员审批" in queue.inner_text()

    page.context.clear_cookies()
    login_as(page, second_sysadmin)
    page.goto("/workbench/")
    queue = page.locator("[data-testid=pending-memberships]")
    assert "新医生" in queue.inner_text() and "精神科医生" in queue.inner_text()
    screenshot(page, "workbench-approval-queue")
    queue.get_by_role("link", name="去审批").click()
    page.wait_for_load_state()
    page.check(f"input[name=_selected_action][value='{m.pk}']")
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert "已批准 1 项角色分配" in page.inner_text("body")
    screenshot(page, "membership-approved")
    m.refresh_from_db()
    assert m.active and m.approved_by == second_sysadmin
