import datetime as dt

import pyotp
import pytest
import time_machine
from django.utils import timezone

from xinan.accounts import services
from xinan.accounts.models import User
from xinan.core.lib import crypto
from xinan.core.models import AuditEntry


def _login(client, username, password="Passw0rd-test"):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_staff_log_in_with_username(client, grid_worker):
    response = _login(client, "gw_a")
    assert response.status_code == 302
    assert client.get("/workbench/").status_code == 200
    assert AuditEntry.objects.filter(action="accounts.login", actor=grid_worker).exists()


def test_residents_log_in_with_their_phone(client, resident_user):
    response = _login(client, "13700001111", "Resident2026x")
    assert response.status_code == 302


def test_wrong_password_gives_a_chinese_message(client, grid_worker):
    body = _login(client, "gw_a", "wrong").content.decode()
    assert "用户名/手机号或密码不正确" in body


def test_it_locks_after_repeated_failures(client, grid_worker, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _login(client, "gw_a", "wrong")
    body = _login(client, "gw_a").content.decode()  # right password, but locked
    assert "账号已锁定" in body
    grid_worker.refresh_from_db()
    assert grid_worker.is_locked()
    later = timezone.now() + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    with time_machine.travel(later):
        assert _login(client, "gw_a").status_code == 302


def test_a_success_resets_the_failure_count(client, grid_worker):
    _login(client, "gw_a", "wrong")
    _login(client, "gw_a")
    grid_worker.refresh_from_db()
    assert grid_worker.failed_logins == 0


def test_sessions_expire(client, grid_worker, settings):
    _login(client, "gw_a")
    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 5)
    ):
        assert client.get("/workbench/").status_code == 302


def test_register_a_resident(client, db):
    response = client.post(
        "/accounts/register/",
        {"phone": "138 0013 8000", "password": "Anxin2026ok", "password2": "Anxin2026ok"},
    )
    assert response.url == "/me/"
    user = User.objects.get(phone_hash=crypto.lookup_hash("13800138000"))
    assert user.is_resident and user.password.startswith("md5$")  # test hasher; argon2 in prod


@pytest.mark.parametrize(
    ("phone", "password", "message"),
    [
        ("12345", "Anxin2026ok", "手机号：手机号应为11位"),
        ("13800138000", "short1", "密码："),
        ("13800138000", "onlyletterspassword", "字母和数字"),
    ],
)
def test_register_refuses_bad_input(client, db, phone, password, message):
    response = client.post(
        "/accounts/register/", {"phone": phone, "password": password, "password2": password}
    )
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_register_refuses_a_taken_phone(client, resident_user):
    response = client.post(
        "/accounts/register/",
        {"phone": "13700001111", "password": "Anxin2026ok", "password2": "Anxin2026ok"},
    )
    assert "已注册" in response.content.decode()


def test_argon2_is_the_production_hasher():
    from django.conf import settings as django_settings

    from xinan import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert django_settings.AUTH_USER_MODEL == "accounts.User"


def test_two_factor_enrolment_and_login(client, counsellor):
    client.force_login(counsellor)
    page = client.get("/accounts/2fa/setup/")
    assert "<svg" in page.content.decode()
    counsellor.refresh_from_db()
    code = pyotp.TOTP(counsellor.totp_secret).now()
    client.post("/accounts/2fa/setup/", {"code": "000000" if code != "000000" else "111111"})
    counsellor.refresh_from_db()
    assert not counsellor.totp_confirmed
    client.post("/accounts/2fa/setup/", {"code": code})
    counsellor.refresh_from_db()
    assert counsellor.totp_confirmed
    client.logout()
    response = _login(client, "counsellor_a")
    assert response.url == "/accounts/2fa/verify/"
    assert client.get("/workbench/").status_code == 302  # not logged in yet
    body = client.post("/accounts/2fa/verify/", {"code": "123456"}).content.decode()
    if pyotp.TOTP(counsellor.totp_secret).verify("123456"):
        return  # astronomically unlikely collision with the real code
    assert "动态口令不正确" in body
    replay = pyotp.TOTP(counsellor.totp_secret).now()  # the enrolment step is spent
    if counsellor.totp_last_step == pyotp.TOTP(counsellor.totp_secret).timecode(timezone.now()):
        client.post("/accounts/2fa/verify/", {"code": replay})
        assert client.get("/workbench/").status_code == 302
    next_code = pyotp.TOTP(counsellor.totp_secret).at(timezone.now() + dt.timedelta(seconds=30))
    client.post("/accounts/2fa/verify/", {"code": next_code})
    assert client.get("/workbench/").status_code == 200


def test_the_deployment_can_require_two_factor_for_staff(
    client, counsellor, resident_user, settings
):
    settings.REQUIRE_STAFF_2FA = True
    client.force_login(counsellor)
    assert client.get("/workbench/").url == "/accounts/2fa/setup/"
    client.force_login(resident_user)
    assert client.get("/me/").status_code == 200


def test_totp_secrets_are_encrypted_at_rest(counsellor):
    from django.db import connection

    secret = services.start_totp_enrolment(counsellor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE id = %s", [counsellor.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored and stored.startswith("gAAAAA")


def test_password_change(client, grid_worker):
    client.force_login(grid_worker)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "Passw0rd-test",
            "new_password1": "Another2026pw",
            "new_password2": "Another2026pw",
        },
    )
    assert response.url == "/accounts/password/done/"
    grid_worker.refresh_from_db()
    assert grid_worker.check_password("Another2026pw")


def test_logout_requires_post(client, grid_worker):
    client.force_login(grid_worker)
    client.post("/accounts/logout/")
    assert client.get("/workbench/").status_code == 302


def test_a_totp_code_cannot_be_used_twice(counsellor):
    secret = services.start_totp_enrolment(counsellor)
    code = pyotp.TOTP(secret).now()
    assert services.verify_totp(counsellor, code)
    assert not services.verify_totp(counsellor, code)
    counsellor.refresh_from_db()
    later = timezone.now() + dt.timedelta(seconds=60)
    assert services.verify_totp(counsellor, pyotp.TOTP(secret).at(later), now=later)
