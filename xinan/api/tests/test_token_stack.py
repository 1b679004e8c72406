"""Bearer-token calls take the short middleware stack (xinan/api/handler.py); the effects,
headers, language and audit trail are those of the full one."""

import io
import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from xinan.api import services
from xinan.api.handler import ApiHandler, is_token_call, with_token_calls
from xinan.core.models import AuditEntry
from xinan.screening.api import AssessmentOut
from xinan.screening.models import Assessment

URL = "/api/v1/screening/assessments"
PHQ9_CODES = "1,2,0,1,2,3,0,1,1"


@pytest.fixture(autouse=True)
def _fresh_cache():
    services.forget()
    yield
    services.forget()


@pytest.fixture
def app():
    # As Django's test client does: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        site, api = WSGIHandler(), ApiHandler()
        yield with_token_calls(site, api), site, api
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(app, method, path, body=None, **headers):
    raw = json.dumps(body).encode() if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "10.1.2.3",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    result = app(environ, start_response)
    try:
        seen["body"] = b"".join(result)
    finally:
        result.close()
    return seen


def submit(application, key, id_number):
    body = {"instrument": "PHQ-9", "id_number": id_number, "answers": PHQ9_CODES}
    return call(application, "POST", URL, body, authorization=f"Bearer {key}")


def test_only_bearer_calls_to_the_api_take_the_short_stack():
    assert is_token_call({"PATH_INFO": URL, "HTTP_AUTHORIZATION": "Bearer xn_abc"})
    assert is_token_call({"PATH_INFO": URL, "HTTP_AUTHORIZATION": "bearer xn_abc"})
    assert not is_token_call({"PATH_INFO": URL})  # a browser session: the full stack, CSRF
    assert not is_token_call({"PATH_INFO": "/screening/", "HTTP_AUTHORIZATION": "Bearer x"})
    assert not is_token_call({"PATH_INFO": URL, "HTTP_AUTHORIZATION": "Basic eDp5"})


def test_a_token_submission_through_the_short_stack_is_saved_audited_and_documented(
    app, counsellor, person_a
):
    application, _site, _api = app
    _t, key = services.issue(counsellor, "paper forms")
    r = submit(application, key, person_a.id_number)
    assert r["status"] == 201, r["body"]
    body = json.loads(r["body"])
    # The body is what the OpenAPI description promises, field for field.
    assert set(body) == set(AssessmentOut.model_fields)
    AssessmentOut.model_validate(body)
    assert (body["total"], body["band"], body["critical"][0]["level"]) == (11, "moderate", "red")
    a = Assessment.objects.get(pk=body["id"])
    assert a.entered_by == counsellor
    entry = AuditEntry.objects.get(action="screening.assessment.submit", object_id=str(a.pk))
    assert (entry.actor, entry.ip_address) == (counsellor, "10.1.2.3")
    # Security headers still apply, stricter for JSON; no session cookie is set.
    headers = r["headers"]
    assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Language"] == "zh-hans"
    assert "Set-Cookie" not in headers and "Cookie" not in headers.get("Vary", "")


def test_a_wrong_token_is_refused_in_chinese_and_nothing_is_saved(app, person_a):
    application, _site, _api = app
    r = submit(application, "xn_not-a-key", person_a.id_number)
    assert r["status"] == 401
    assert json.loads(r["body"])["detail"] == "未登录或令牌无效"
    assert not Assessment.objects.exists()


def test_problems_come_back_in_chinese_with_the_field(app, grid_worker):
    application, _site, _api = app
    _t, key = services.issue(grid_worker, "paper forms")
    r = submit(application, key, "110101199003071234")
    assert r["status"] == 400
    assert json.loads(r["body"])["field"] == "id_number"


def test_everything_else_takes_the_full_stack(app, db):
    application, _site, _api = app
    # No token: the session stack, which puts the site's page policy on the docs page (and
    # sends a visitor without a staff session to log in first).
    page = call(application, "GET", "/api/v1/docs")
    assert page["status"] == 302 and "/accounts/login/" in page["headers"]["Location"]
    assert "script-src 'self'" in page["headers"]["Content-Security-Policy"]


def test_the_short_stack_chooses_the_language_as_the_site_does(app, grid_worker):
    from django.utils import translation

    application, _site, _api = app
    _t, key = services.issue(grid_worker, "paper forms")
    unknown = {"instrument": "NOPE", "id_number": "x", "answers": "1"}

    def ask(**headers):
        r = call(application, "POST", URL, unknown, authorization=f"Bearer {key}", **headers)
        assert r["status"] == 400 and "Accept-Language" in r["headers"]["Vary"]
        return r["headers"]["Content-Language"], json.loads(r["body"])["detail"]

    # The language cookie of the switcher: English, and the response says so.
    assert ask(cookie="django_language=en") == ("en", "No such instrument: NOPE")
    # A thread left in English by an earlier request serves the next call in Chinese.
    translation.activate("en")
    assert ask() == ("zh-hans", "没有这个量表：NOPE")


def test_the_system_check_passes_for_the_stacks_as_configured():
    from xinan.api import checks

    assert checks.check_token_stack(None) == []


def test_a_middleware_added_to_the_site_only_fails_the_system_check(settings):
    from xinan.api import checks

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "xinan.core.middleware.new_site_rule"]
    problems = checks.check_token_stack(None)
    assert [(p.id, p.msg) for p in problems] == [
        (
            "xinan.E401",
            "xinan.core.middleware.new_site_rule is in MIDDLEWARE but token calls to /api/ skip it",
        )
    ]
    settings.API_MIDDLEWARE = [*settings.API_MIDDLEWARE, "xinan.core.middleware.new_site_rule"]
    assert checks.check_token_stack(None) == []
