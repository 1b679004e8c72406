"""Accounts in a real browser: login, lockout, registration on a phone, password, logout, 2FA."""

import time

import pyotp
import pytest

from xinan.accounts.models import User
from xinan.core.lib import crypto

pytestmark = pytest.mark.browser


def errors(page) -> str:
    return " ".join(page.locator(".errorlist").all_inner_texts())


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_wrong_password_shows_the_chinese_message(page, login_as, grid_worker, screenshot):
    login_as(page, grid_worker, "wrong-password1", expect_success=False)
    assert page.url.endswith("/accounts/login/")
    assert "用户名/手机号或密码不正确" in errors(page)
    assert page.input_value("input[name=username]") == "gw_a"  # what was typed is kept
    screenshot(page, "login-error")


def test_five_failures_lock_the_account(page, login_as, grid_worker, settings, screenshot):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        login_as(page, grid_worker, "wrong-password1", expect_success=False)
    login_as(page, grid_worker, expect_success=False)  # the right password, but locked
    assert "账号已锁定" in errors(page)
    assert "15分钟后再试" in errors(page)
    screenshot(page, "locked")
    grid_worker.refresh_from_db()
    assert grid_worker.is_locked()


def test_a_resident_registers_on_a_phone_and_sees_the_hotline(mobile_page, screenshot):
    page = mobile_page
    page.goto("/")
    assert page.url.endswith("/me/")
    page.get_by_role("link", name="注册").last.click()
    screenshot(page, "register")
    page.fill("input[name=phone]", "138 0013 8000")
    page.fill("input[name=display_name]", "小王")
    page.fill("input[name=password]", "Resident2026x")
    page.fill("input[name=password2]", "Resident2026x")
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/me/")
    assert "小王，您好" in page.inner_text("h1") or "您好" in page.inner_text("h1")
    hotline = page.locator("a.hotline").first
    assert hotline.get_attribute("href") == "tel:12356"
    assert "12356" in hotline.inner_text()
    box = hotline.bounding_box()
    assert box["height"] >= 44  # a thumb can hit it
    assert no_horizontal_scroll(page)
    assert "尚未关联居民档案" in page.inner_text("#sites")  # registered, not yet on a record
    screenshot(page, "resident-home")
    user = User.objects.get(phone_hash=crypto.lookup_hash("13800138000"))
    assert user.roles() == {"resident"} or "resident" in user.roles()


def test_registration_errors_name_the_field(mobile_page, resident_user):
    page = mobile_page
    page.goto("/accounts/register/")
    page.fill("input[name=phone]", "13700001111")  # taken
    page.fill("input[name=password]", "Resident2026x")
    page.fill("input[name=password2]", "Resident2026y")
    page.get_by_role("button", name="注册").click()
    assert "两次输入的密码不一致" in errors(page)
    assert page.input_value("input[name=phone]") == "13700001111"
    page.fill("input[name=password]", "Resident2026x")  # password fields come back empty
    page.fill("input[name=password2]", "Resident2026x")
    page.get_by_role("button", name="注册").click()
    assert "该手机号已注册" in errors(page)


def test_staff_change_their_password_and_log_out(page, login_as, counsellor, screenshot):
    login_as(page, counsellor)
    page.get_by_role("link", name="修改密码").click()
    page.fill("input[name=old_password]", "Passw0rd-test")
    page.fill("input[name=new_password1]", "Changed-2026x")
    page.fill("input[name=new_password2]", "Changed-2026x")
    screenshot(page, "password-change")
    page.get_by_role("button", name="保存新密码").click()
    page.wait_for_url("**/accounts/password/done/")
    assert "密码已修改" in page.inner_text("h1")

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/accounts/login/")
    assert page.get_by_role("link", name="登录").count()
    page.goto("/workbench/")
    assert "/accounts/login/" in page.url  # the session is gone

    login_as(page, counsellor, "Passw0rd-test", expect_success=False)
    assert "用户名/手机号或密码不正确" in errors(page)
    login_as(page, counsellor, "Changed-2026x")
    assert page.url.endswith("/workbench/")


def test_two_factor_setup_then_login_asks_for_the_code(page, login_as, counsellor, screenshot):
    login_as(page, counsellor)
    page.get_by_role("link", name="启用两步验证").click()
    page.wait_for_url("**/accounts/2fa/setup/")
    assert page.locator(".qr svg").count() == 1
    screenshot(page, "totp-setup")
    secret = page.inner_text("main code").strip()
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", "000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="启用").click()
    assert "动态口令不正确" in errors(page)
    secret = page.inner_text("main code").strip()  # the same secret survives a wrong code
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="启用").click()
    page.wait_for_url("**/workbench/")
    assert "两步验证已启用" in page.inner_text(".messages")
    counsellor.refresh_from_db()
    assert counsellor.totp_confirmed

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/accounts/login/")
    login_as(page, counsellor)
    assert page.url.endswith("/accounts/2fa/verify/")
    page.goto("/workbench/")
    assert "/accounts/login/" in page.url  # no session before the second factor
    login_as(page, counsellor)
    page.fill("input[name=code]", "123456" if totp.now() != "123456" else "654321")
    page.get_by_role("button", name="验证").click()
    assert "动态口令不正确" in errors(page)
    screenshot(page, "totp-verify")
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))  # enrol step spent
    page.get_by_role("button", name="验证").click()
    page.wait_for_url("**/workbench/")
    assert page.locator("[data-testid=person-total]").count() == 1
