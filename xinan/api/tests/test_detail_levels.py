"""Findings 11.4 and 11.9: the API answers at the caller's detail level, refuses a reused
idempotency key with another payload, refuses absurd dates, and describes itself to staff."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinan.api import services
from xinan.core.models import OutboxEvent
from xinan.people.models import Person
from xinan.screening.api import AssessmentOut, AssessmentReceived
from xinan.screening.models import Assessment
from xinan.testing import factories

URL = "/api/v1/screening/assessments"
PHQ9_CODES = "1,2,0,1,2,3,0,1,1"  # total 11, item 9 answered
SCORE_FIELDS = {"total", "band", "band_label", "positive", "critical"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    services.forget()
    yield
    services.forget()


def post(client, key, body):
    return client.post(
        URL, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def submit(client, user, person, **extra):
    _t, key = services.issue(user, "系统")
    body = {"instrument": "PHQ-9", "id_number": person.id_number, "answers": PHQ9_CODES, **extra}
    return post(client, key, body)


ROLES_WITHOUT_SCORES = [
    ("grid_worker", "grid_a"),
    ("social_worker", "village_a"),
    ("area_admin", "town_a"),
    ("area_admin", "district"),
]
ROLES_WITH_SCORES = [
    ("counsellor", "town_a"),
    ("doctor", "town_a"),
    ("crisis_worker", "district"),
    ("psychiatrist", "district"),
]


@pytest.mark.parametrize(("role", "where"), ROLES_WITHOUT_SCORES)
def test_roles_that_see_no_scores_get_no_score(client, areas, person_a, role, where):
    user = factories.staff(role, area=areas[where])
    r = submit(client, user, person_a)
    assert r.status_code == 201, r.content
    body = r.json()
    assert not SCORE_FIELDS & set(body) and body["scores_shown"] is False
    assert set(body) == set(AssessmentReceived.model_fields)
    AssessmentReceived.model_validate(body)
    # Saved and scored all the same: the critical answer still reaches the crisis team.
    a = Assessment.objects.get(pk=body["id"])
    assert a.total == 11 and a.critical
    assert OutboxEvent.objects.filter(payload__assessment_id=a.pk).exists()


@pytest.mark.parametrize(("role", "where"), ROLES_WITH_SCORES)
def test_roles_that_see_scores_get_the_score(client, areas, person_a, role, where):
    user = factories.staff(role, area=areas[where])
    body = submit(client, user, person_a).json()
    assert body["scores_shown"] is True and set(body) == set(AssessmentOut.model_fields)
    AssessmentOut.model_validate(body)
    assert (body["total"], body["band"], body["critical"][0]["level"]) == (11, "moderate", "red")


def test_an_institution_counsellor_sees_the_score_of_a_client(client, areas, person_a):
    clinic = factories.institution(areas["town_a"])
    Person.institutions.through.objects.create(person_id=person_a.pk, institution_id=clinic.pk)
    user = factories.staff("counsellor", institution=clinic)
    body = submit(client, user, person_a).json()
    assert body["scores_shown"] is True and body["total"] == 11


def test_the_detail_level_costs_no_query(client, areas, person_a, grid_worker, counsellor):
    counts = {}
    for user in (grid_worker, counsellor):
        _t, key = services.issue(user, "系统")
        body = {"instrument": "PHQ-9", "id_number": person_a.id_number, "answers": PHQ9_CODES}
        post(client, key, body)  # the token is resolved and cached
        with CaptureQueriesContext(connection) as queries:
            assert post(client, key, body).status_code == 201
        counts[user.username] = len(queries)
    assert counts[grid_worker.username] == counts[counsellor.username]


def test_the_schema_documents_both_answers(client, counsellor):
    client.force_login(counsellor)
    spec = client.get("/api/v1/openapi.json").json()
    created = spec["paths"][URL]["post"]["responses"]["201"]["content"]["application/json"]
    refs = json.dumps(created["schema"])
    assert "AssessmentOut" in refs and "AssessmentReceived" in refs
    assert "409" in spec["paths"][URL]["post"]["responses"]


def test_a_reused_idempotency_key_with_another_payload_is_a_conflict(client, counsellor, person_a):
    _t, key = services.issue(counsellor, "系统")
    body = {
        "instrument": "PHQ-9",
        "id_number": person_a.id_number,
        "answers": PHQ9_CODES,
        "idempotency_key": "form-7",
    }
    first = post(client, key, body)
    assert first.status_code == 201
    again = post(client, key, body)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]

    other_answers = post(client, key, {**body, "answers": "0,0,0,0,0,0,0,0,0"})
    assert other_answers.status_code == 409
    assert other_answers.json()["field"] == "idempotency_key"
    assert "幂等键已用于另一份不同的测评" in other_answers.json()["detail"]
    other_instrument = post(
        client, key, {**body, "instrument": "GAD-7", "answers": "0,1,0,1,0,1,0"}
    )
    assert other_instrument.status_code == 409
    assert Assessment.objects.count() == 1


@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01", "1999-12-31"])
def test_an_absurdly_old_date_is_refused(client, counsellor, person_a, day):
    r = submit(client, counsellor, person_a, assessed_on=day)
    assert r.status_code == 400, r.content
    assert r.json()["field"] == "submitted_at" and "不能早于2000年1月1日" in r.json()["detail"]
    assert not Assessment.objects.exists()


def test_the_schema_and_docs_need_a_staff_login(client, counsellor, resident_user):
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):
        assert client.get(path).status_code in (302, 401, 403), path
    client.force_login(resident_user)
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):
        assert client.get(path).status_code in (302, 403, 404), path
    client.force_login(counsellor)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
