"""An API error is always JSON, and a connection the database dropped is reopened before the
next call's first statement (the fast statement path included)."""

import json
from unittest import mock

import pytest
from django.db import connection

from xinan.api import services
from xinan.api.handler import ApiHandler, with_token_calls
from xinan.api.tests.test_token_stack import app, submit  # noqa: F401 — the fixture
from xinan.screening.models import Assessment


def test_a_bug_behind_the_api_answers_json_in_chinese(app, counsellor, person_a):  # noqa: F811
    application, _site, _api = app
    _t, key = services.issue(counsellor, "paper forms")
    with mock.patch("xinan.screening.api.services.submit_assessment", side_effect=KeyError("x")):
        r = submit(application, key, person_a.id_number)
    assert r["status"] == 500
    assert r["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(r["body"]) == {"detail": "服务器暂时出错，请稍后重试", "code": "server_error"}


def test_an_error_outside_the_api_s_handlers_is_json_too(app, counsellor, person_a):  # noqa: F811
    application, _site, _api = app
    _t, key = services.issue(counsellor, "paper forms")
    # the short stack's own middleware fails before any view runs
    with mock.patch("xinan.api.handler.translation.activate", side_effect=RuntimeError("boom")):
        r = submit(application, key, person_a.id_number)
    assert r["status"] == 500 and json.loads(r["body"])["code"] == "server_error"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_reopened_before_the_next_api_call(counsellor, person_a):
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, this run uses {connection.vendor}")
    import psycopg
    from django.core.handlers.wsgi import WSGIHandler

    application = with_token_calls(WSGIHandler(), ApiHandler())
    _t, key = services.issue(counsellor, "paper forms")
    assert submit(application, key, person_a.id_number)["status"] == 201
    # The database drops this thread's connection (a restart, a failover, an idle timeout).
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The token is cached, so the call's first statement is the fast path's: it must still
    # find the connection gone and open another before it runs.
    r = submit(application, key, person_a.id_number)
    assert r["status"] == 201, r["body"]
    assert Assessment.objects.count() == 2
