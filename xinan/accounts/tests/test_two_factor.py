"""Finding 11.5: the second factor is rate-limited, its secret shown only while enrolling, and
required of staff tokens when the deployment requires it."""

import json

import pyotp
import pytest
from django.utils import timezone

from xinan.accounts import services
from xinan.api import services as token_services
from xinan.core.models import AuditEntry


@pytest.fixture
def enrolled(counsellor):
    services.start_totp_enrolment(counsellor)
    counsellor.totp_confirmed = True
    counsellor.save()
    return counsellor


def _wrong(secret: str) -> str:
    right = pyotp.TOTP(secret)
    now = timezone.now()
    step = right.timecode(now)
    window = {right.generate_otp(step + offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


def _password_step(client):
    response = client.post(
        "/accounts/login/", {"username": "counsellor_a", "password": "Passw0rd-test"}
    )
    assert response.url == "/accounts/2fa/verify/"


def test_it_locks_the_account_after_repeated_wrong_codes(client, enrolled, settings):
    _password_step(client)
    wrong = _wrong(enrolled.totp_secret)
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        body = client.post("/accounts/2fa/verify/", {"code": wrong}).content.decode()
        assert "动态口令不正确" in body
    response = client.post("/accounts/2fa/verify/", {"code": wrong}, follow=True)
    assert "动态口令错误次数过多，账号已锁定" in response.content.decode()
    enrolled.refresh_from_db()
    assert enrolled.is_locked()
    assert AuditEntry.objects.filter(action="accounts.totp.locked", object_id=str(enrolled.pk))
    assert (
        AuditEntry.objects.filter(action="accounts.totp.failed").count()
        == settings.LOGIN_MAX_FAILURES
    )

    # The right code now does not log in; neither does starting over with the password.
    client.post("/accounts/2fa/verify/", {"code": pyotp.TOTP(enrolled.totp_secret).now()})
    assert client.get("/workbench/").status_code == 302
    body = client.post(
        "/accounts/login/", {"username": "counsellor_a", "password": "Passw0rd-test"}
    ).content.decode()
    assert "账号已锁定" in body


def test_a_right_password_does_not_reset_the_wrong_code_count(client, enrolled, settings):
    wrong = _wrong(enrolled.totp_secret)
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _password_step(client)
        client.post("/accounts/2fa/verify/", {"code": wrong})
    _password_step(client)
    client.post("/accounts/2fa/verify/", {"code": wrong})
    enrolled.refresh_from_db()
    assert enrolled.is_locked()


def test_the_setup_page_no_longer_shows_the_secret_after_enrolment(client, enrolled):
    client.force_login(enrolled)
    body = client.get("/accounts/2fa/setup/").content.decode()
    assert enrolled.totp_secret not in body and "<svg" not in body
    assert "已启用两步验证" in body
    secret = enrolled.totp_secret
    client.post("/accounts/2fa/setup/", {"code": "123456"})
    enrolled.refresh_from_db()
    assert enrolled.totp_secret == secret and enrolled.totp_confirmed


def _submit(client, key):
    return client.post(
        "/api/v1/screening/assessments",
        json.dumps({"instrument": "PHQ-9", "id_number": "x", "answers": "0,0,0,0,0,0,0,0,0"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_a_staff_token_without_two_factor_is_refused_when_the_deployment_requires_it(
    client, grid_worker, settings
):
    token_services.forget()
    _token, key = token_services.issue(grid_worker, "学校系统")
    settings.REQUIRE_STAFF_2FA = True
    response = _submit(client, key)
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"
    assert "两步验证" in response.json()["detail"]

    grid_worker.totp_confirmed = True
    grid_worker.save()
    token_services.forget()
    assert _submit(client, key).status_code == 400  # past the gate: the bad ID number answers

    settings.REQUIRE_STAFF_2FA = False
    grid_worker.totp_confirmed = False
    grid_worker.save()
    token_services.forget()
    assert _submit(client, key).status_code == 400
