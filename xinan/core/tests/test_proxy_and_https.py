"""Finding 11.9 (the proxy setting) and the HTTPS settings: the audit records the real client
behind a trusted proxy, never a client-written header; production settings pass the deploy
checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from xinan.core import audit
from xinan.core.middleware import client_ip
from xinan.core.models import AuditEntry


def _request(remote, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


def test_without_the_setting_the_header_is_ignored(settings):
    settings.TRUST_X_FORWARDED_FOR = False
    assert client_ip(_request("127.0.0.1", "203.0.113.7")) == "127.0.0.1"


def test_behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_hop(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert client_ip(_request("127.0.0.1", "203.0.113.7")) == "203.0.113.7"
    # The client wrote a first hop itself; the proxies appended the real ones.
    assert client_ip(_request("127.0.0.1", "1.2.3.4, 203.0.113.7, 10.0.0.5")) == "203.0.113.7"
    # IPv6 and spaces.
    assert client_ip(_request("127.0.0.1", " 2001:db8::1 ")) == "2001:db8::1"
    # Garbage stops the walk at the last real address.
    assert client_ip(_request("127.0.0.1", "203.0.113.7, not-an-ip")) == "127.0.0.1"
    assert client_ip(_request("127.0.0.1", "")) == "127.0.0.1"
    # Every hop a proxy: the left-most is the best there is.
    assert client_ip(_request("127.0.0.1", "10.0.0.9, 10.0.0.5")) == "10.0.0.9"


def test_a_request_not_from_a_trusted_proxy_keeps_its_own_address(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(_request("198.51.100.2", "203.0.113.7")) == "198.51.100.2"


def test_the_audit_records_the_client_behind_the_proxy(client, settings, grid_worker):
    settings.TRUST_X_FORWARDED_FOR = True
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    client.post(
        "/accounts/login/",
        {"username": "gw_a", "password": "Passw0rd-test"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7",
    )
    entry = AuditEntry.objects.get(action="accounts.login")
    assert entry.ip_address == "203.0.113.7"
    assert audit  # the module that wrote it


def test_https_settings_send_hsts_and_secure_cookies(client, settings, grid_worker):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    response = client.post(
        "/accounts/login/", {"username": "gw_a", "password": "Passw0rd-test"}, secure=True
    )
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.cookies["sessionid"]["secure"]


PRODUCTION = {
    "XINAN_HTTPS": "true",
    "XINAN_DEBUG": "false",
    "XINAN_ALLOWED_HOSTS": "xinan.changning.example.gov.cn",
    "XINAN_CSRF_TRUSTED_ORIGINS": "https://xinan.changning.example.gov.cn",
    "XINAN_SECRET_KEY": "kq3-Fh7_Zp0s!Lw9@Xc2#Vb5$Nm8%Qa1^Er4&Ty6*Ui0(Oj3)Pg7+Hd2=Ks5~Ld8",
    "XINAN_FIELD_KEYS": "production-field-key-of-a-decent-length-0123456789",
    "XINAN_HASH_KEY": "production-hash-key-of-a-decent-length-0123456789",
    "XINAN_TRUST_X_FORWARDED_FOR": "true",
}


@pytest.mark.parametrize("extra", [{}, {"XINAN_HSTS_PRELOAD": "true"}])
def test_the_deploy_checks_pass_under_production_settings(tmp_path, extra):
    # A production environment: none of this machine's or the test run's own variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XINAN_", "DJANGO_"))}
    env.update(PRODUCTION, XINAN_VAR_DIR=str(tmp_path), **extra)
    env.pop("DATABASE_URL", None)
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(  # noqa: S603 — our own interpreter and module
        [sys.executable, "-m", "xinan.cli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
