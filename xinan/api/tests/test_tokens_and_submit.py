import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from xinan.api import services
from xinan.api.models import ApiToken
from xinan.core.models import AuditEntry, OutboxEvent
from xinan.screening.models import Assessment

URL = "/api/v1/screening/assessments"
PHQ9_CODES = "1,2,0,1,2,3,0,1,1"  # total 11, item 9 answered


@pytest.fixture(autouse=True)
def _fresh_cache():
    services.forget()
    yield
    services.forget()


def post(client, key, body):
    return client.post(
        URL, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def test_a_token_is_shown_once_and_only_its_keyed_hash_is_stored(grid_worker):
    token, key = services.issue(grid_worker, "学校筛查系统")
    assert key.startswith("xn_") and len(key) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.key_hash, stored.prefix) and stored.prefix == key[:10]
    assert services.authenticate(key) == grid_worker
    assert services.authenticate(key + "x") is None
    assert AuditEntry.objects.filter(action="api.token.issue", object_id=str(token.pk)).exists()


def test_a_token_needs_a_purpose_and_an_active_user(grid_worker):
    with pytest.raises(services.TokenError, match="用途"):
        services.issue(grid_worker, "  ")
    grid_worker.is_active = False
    grid_worker.save()
    with pytest.raises(services.TokenError, match="停用"):
        services.issue(grid_worker, "x")


def test_revoked_expired_and_deactivated_tokens_stop_working(grid_worker, counsellor):
    revoked, k1 = services.issue(grid_worker, "a")
    services.revoke(revoked)
    assert services.authenticate(k1) is None

    expired, k2 = services.issue(grid_worker, "b", days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    assert services.authenticate(k2) is None

    _t, k3 = services.issue(counsellor, "c")
    counsellor.is_active = False
    counsellor.save()
    assert services.authenticate(k3) is None


def test_the_cache_holds_a_resolved_token_only_for_its_time(grid_worker, settings):
    token, key = services.issue(grid_worker, "a")
    assert services.authenticate(key) == grid_worker
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())  # behind its back
    assert services.authenticate(key) == grid_worker  # still cached
    settings.API_TOKEN_CACHE_SECONDS = 0
    assert services.authenticate(key) is None


def test_the_command_issues_lists_and_revokes(grid_worker, capsys):
    call_command("api_token", "issue", grid_worker.username, "导入程序", "--days", "30")
    key = capsys.readouterr().out.strip()
    assert services.authenticate(key) == grid_worker
    call_command("api_token", "list")
    assert "导入程序" in capsys.readouterr().out
    call_command("api_token", "revoke", key[:10])
    services.forget()
    assert services.authenticate(key) is None


def test_a_submission_is_scored_saved_audited_and_emitted(client, counsellor, person_a):
    _t, key = services.issue(counsellor, "paper forms")
    r = post(
        client,
        key,
        {"instrument": "phq-9", "id_number": person_a.id_number, "answers": PHQ9_CODES},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["instrument"], body["total"], body["band"], body["positive"]) == (
        "PHQ-9",
        11,
        "moderate",
        True,
    )
    assert body["critical"] == [{"item": "9", "level": "red", "answer": 1}]
    a = Assessment.objects.get(pk=body["id"])
    assert (a.person, a.entered_by, a.mode, a.area_code) == (
        person_a,
        counsellor,
        "paper",
        person_a.home_area_id,
    )
    assert AuditEntry.objects.filter(
        action="screening.assessment.submit", object_id=str(a.pk), actor=counsellor
    ).exists()
    event = OutboxEvent.objects.get(topic="assessment.scored", payload__assessment_id=a.pk)
    assert event.payload["critical"][0]["item"] == "9"


def test_answers_may_be_a_list_and_a_past_date_is_kept(client, grid_worker, person_a):
    _t, key = services.issue(grid_worker, "x")
    day = timezone.localdate() - dt.timedelta(days=3)
    r = post(
        client,
        key,
        {
            "instrument": "GAD-7",
            "id_number": person_a.id_number,
            "answers": [0, 1, 0, 1, 0, 1, 0],
            "assessed_on": day.isoformat(),
            "mode": "interview",
            "site": "华阳路街道卫生服务中心",
        },
    )
    assert r.status_code == 201, r.content
    a = Assessment.objects.get(pk=r.json()["id"])
    assert (a.total, a.mode, a.site, timezone.localtime(a.submitted_at).date()) == (
        3,
        "interview",
        "华阳路街道卫生服务中心",
        day,
    )


def test_bad_submissions_get_a_chinese_reason_and_save_nothing(client, grid_worker, person_a):
    _t, key = services.issue(grid_worker, "x")
    cases = [
        ({"instrument": "NOPE", "answers": "1"}, "instrument", "没有这个量表"),
        ({"answers": "1,2,3"}, "answers", "收到 3 个答案"),
        ({"answers": "1,2,0,1,2,3,0,1,9"}, "answers", ""),
        ({"id_number": "110101198001010000"}, "id_number", ""),
        ({"assessed_on": "2999-01-01"}, "submitted_at", "晚于"),
    ]
    for change, field, words in cases:
        body = {
            "instrument": "PHQ-9",
            "id_number": person_a.id_number,
            "answers": PHQ9_CODES,
            **change,
        }
        r = post(client, key, body)
        assert r.status_code == 400, (change, r.content)
        assert r.json()["field"] == field and words in r.json()["detail"]
    r = post(client, key, {"instrument": "PHQ-9"})
    assert r.status_code == 422 and r.json()["detail"] == "提交的数据格式不对"
    assert not Assessment.objects.exists() and not OutboxEvent.objects.exists()


def test_a_person_outside_the_callers_scope_is_not_found(client, grid_worker, person_b):
    _t, key = services.issue(grid_worker, "x")
    r = post(
        client, key, {"instrument": "PHQ-9", "id_number": person_b.id_number, "answers": PHQ9_CODES}
    )
    assert r.status_code == 400 and r.json()["field"] == "id_number"
    assert "管辖范围" in r.json()["detail"] and not Assessment.objects.exists()


def test_without_a_valid_token_nothing_happens(client, person_a):
    for key in ("", "xn_wrong", "Basic abc"):
        r = post(client, key, {"instrument": "PHQ-9", "id_number": "x", "answers": "1"})
        assert r.status_code in (401, 403)
    assert not Assessment.objects.exists()


def test_a_logged_in_session_needs_its_csrf_token(client, grid_worker, person_a):
    client.force_login(grid_worker)
    body = {"instrument": "PHQ-9", "id_number": person_a.id_number, "answers": PHQ9_CODES}
    r = client.post(URL, json.dumps(body), content_type="application/json")
    assert r.status_code == 201  # Django's test client skips CSRF checks by default
    strict = type(client)(enforce_csrf_checks=True)
    strict.force_login(grid_worker)
    r = strict.post(URL, json.dumps(body), content_type="application/json")
    assert r.status_code == 403


def test_the_same_idempotency_key_saves_once_per_caller(client, grid_worker, areas, person_a):
    from xinan.testing import factories

    other = factories.staff("counsellor", area=areas["town_a"], username="other_system")
    _t, key = services.issue(grid_worker, "x")
    _t2, other_key = services.issue(other, "y")
    body = {
        "instrument": "PHQ-9",
        "id_number": person_a.id_number,
        "answers": PHQ9_CODES,
        "idempotency_key": "form-0001",
    }
    first = post(client, key, body).json()["id"]
    assert post(client, key, body).json()["id"] == first
    assert post(client, other_key, body).json()["id"] != first  # another caller's own key
    assert Assessment.objects.count() == 2


def test_the_api_describes_itself(client, counsellor):
    client.force_login(counsellor)  # to staff: see test_detail_levels
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/screening/assessments" in r.json()["paths"]
