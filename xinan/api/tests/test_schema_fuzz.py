"""schemathesis against the API's own OpenAPI schema, in-process through the deployed WSGI stack
(the short token stack included): generated calls, valid and not, with a counsellor's bearer
token for a resident in scope. Every answer must be documented (status, content type, body
schema, headers), none may be a 5xx, and invalid data must be refused. (Not checked: that every
schema-valid call is accepted — a valid ID number of nobody in the caller's scope is a
documented 400.) Runs on SQLite and, with DATABASE_URL, on PostgreSQL.

The schema is loaded from the app itself (`/api/v1/openapi.json`), so a new operation is
fuzzed without touching this file. Examples per operation: `XINAN_SCHEMA_EXAMPLES` (default 40,
about 20 s here).
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode, checks

from xinan.api import services as api_services
from xinan.api.handler import with_token_calls
from xinan.core.lib.wsgi import whole_bodies
from xinan.testing import factories

EXAMPLES = int(os.environ.get("XINAN_SCHEMA_EXAMPLES", "40"))


@pytest.fixture
def api_schema(caller):
    # the schema is for logged-in staff (docs/api.md): fetched with the counsellor's session,
    # then every call goes to the deployed WSGI stack
    browser = Client()
    browser.force_login(caller[2])
    response = browser.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = schemathesis.openapi.from_dict(response.json())
    schema.app = whole_bodies(with_token_calls(get_wsgi_application()))
    # as Django's test client does: a request's end must not close the test's connection (in
    # its transaction, PostgreSQL's would be closed as "obsolete")
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schema
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def caller(areas, db):  # noqa: D401
    """A counsellor's bearer header and the ID number of a resident in their scope."""
    user = factories.staff("counsellor", area=areas["town_a"], username="fuzz_counsellor")
    person = factories.PersonFactory(
        name="模糊测试居民", home_area=areas["grid_a"], id_number=factories.valid_id_number()
    )
    key = api_services.issue(user, "schemathesis")[1]
    return {"Authorization": f"Bearer {key}"}, person.id_number, user


def test_every_operation_answers_as_documented(api_schema, caller):
    bearer, id_number, _user = caller
    # Each operation's generated cases through hypothesis directly: schemathesis's own pytest
    # plugin (from_fixture) does not run under pytest 9.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    submit = next(op for op in operations if op.path.endswith("/screening/assessments"))
    statuses = []

    def validate(case):
        response = case.call_and_validate(
            headers=bearer, excluded_checks=[checks.positive_data_acceptance]
        )
        statuses.append(response.status_code)

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def fuzz(case):
                validate(case)

            fuzz()
    # and the documented success, its body checked against the schema like the rest
    body = {"instrument": "PHQ-9", "id_number": id_number, "answers": "1,2,0,1,2,3,0,1,0"}
    validate(submit.Case(body=body, media_type="application/json"))
    assert 201 in statuses and any(400 <= s < 500 for s in statuses), sorted(set(statuses))
