import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.cases.models import Task
from xinan.core.models import AuditEntry
from xinan.crisis import runner, services
from xinan.crisis.models import (
    Alert,
    AlertEvent,
    CallbackTask,
    EventKind,
    HotlineCall,
    Status,
)
from xinan.crisis.tests.conftest import emit, item9


@pytest.fixture
def alert_a(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    return Alert.objects.get()


def _login(client, user):
    client.force_login(user)
    return client


ALERT_VIEWS = [
    ("get", "crisis:alert", {}),
    ("post", "crisis:acknowledge", {}),
    ("post", "crisis:contact", {"outcome": "reached"}),
    ("post", "crisis:risk", {"level": "red"}),
    ("post", "crisis:disposition", {"disposition": "hospital"}),
    ("post", "crisis:close", {"reason": "x"}),
    ("post", "crisis:reopen", {}),
    ("post", "crisis:reveal", {}),
    ("post", "crisis:handover", {"to_user": 1, "note": "x"}),
]


@pytest.mark.parametrize(("method", "name", "data"), ALERT_VIEWS)
def test_it_404s_outside_scope(client, alert_a, crisis_b, method, name, data):
    _login(client, crisis_b)
    response = getattr(client, method)(reverse(name, args=[alert_a.pk]), data)
    assert response.status_code == 404
    missing = getattr(client, method)(reverse(name, args=[999999]), data)
    assert missing.status_code == 404
    alert_a.refresh_from_db()
    assert alert_a.status == Status.OPEN and alert_a.events.count() == 1


@pytest.mark.parametrize(("method", "name", "data"), ALERT_VIEWS)
def test_it_404s_for_staff_without_the_crisis_role(client, alert_a, counsellor, method, name, data):
    _login(client, counsellor)
    assert getattr(client, method)(reverse(name, args=[alert_a.pk]), data).status_code == 404


def test_the_board_shows_only_alerts_routed_to_my_areas(client, alert_a, crisis_a, crisis_b):
    page = _login(client, crisis_a).get(reverse("crisis:board"))
    assert page.status_code == 200
    assert "PHQ9 第9题" in page.text.upper().replace("-", "") or "第9题" in page.text
    assert "张三" in page.text
    assert AuditEntry.objects.filter(action="crisis.alert.list", actor=crisis_a).exists()
    other = _login(client, crisis_b).get(reverse("crisis:board"))
    assert "张三" not in other.text and "暂无待处理预警" in other.text


def test_the_district_team_sees_every_town_and_placeless_alerts(client, alert_a, crisis_district):
    emit(critical=item9(), area_code="")
    runner.run_once("test")
    page = _login(client, crisis_district).get(reverse("crisis:board"))
    assert page.text.count('class="alert-row') == 2


def test_the_feed_delivers_new_alerts_after_an_id_and_marks_delivery(
    client, person_a, crisis_a, crisis_b
):
    _login(client, crisis_a)
    start = client.get(reverse("crisis:feed", args=[0])).json()
    assert start["events"] == [] and start["unacked"] == 0
    emit(person_id=person_a.pk, critical=item9(2))
    runner.run_once("test")
    data = client.get(reverse("crisis:feed", args=[start["last"]])).json()
    assert data["unacked"] == 1
    [event] = data["events"]
    assert event["kind"] == "raised"
    assert event["alert"]["level"] == "red" and event["alert"]["mine"] is True
    assert "张三" not in str(data)  # the feed carries no names
    alert = Alert.objects.get()
    assert alert.events.filter(kind=EventKind.DELIVERED, target=crisis_a).exists()
    assert client.get(reverse("crisis:feed", args=[data["last"]])).json()["events"] == []
    _login(client, crisis_b)
    assert client.get(reverse("crisis:feed", args=[start["last"]])).json()["events"] == []


def test_an_event_that_commits_after_a_later_one_still_reaches_the_board(
    client, person_a, crisis_a
):
    """On PostgreSQL an event id is handed out at insert: an alert event inserted first can
    commit after one inserted later. Here the earlier row is held back and written with its id
    after the board has moved past it, as that late commit would be."""
    _login(client, crisis_a)
    emit(person_id=person_a.pk, critical=item9(2))
    runner.run_once("test")
    alert = Alert.objects.get()
    start = client.get(reverse("crisis:feed", args=[0])).json()
    late = AlertEvent.objects.create(alert=alert, kind=EventKind.ESCALATED, note="late")
    AlertEvent.objects.create(alert=alert, kind=EventKind.REPEATED)
    held = {"id": late.id, "alert": alert, "kind": late.kind, "at": late.at, "note": "late"}
    late.delete()

    data = client.get(reverse("crisis:feed", args=[start["last"]])).json()
    assert [e["kind"] for e in data["events"]] == ["repeated"]
    assert data["gaps"] == [held["id"]]
    AlertEvent.objects.create(**held)  # the slow transaction commits
    url = reverse("crisis:feed", args=[data["last"]]) + f"?gaps={held['id']}"
    again = client.get(url).json()
    assert [e["id"] for e in again["events"]] == [held["id"]]
    assert again["events"][0]["kind"] == "escalated" and again["filled"] == [held["id"]]
    assert again["last"] == data["last"]


def test_the_board_starts_with_the_ids_below_its_start_that_have_not_committed(
    client, person_a, crisis_a
):
    _login(client, crisis_a)
    emit(person_id=person_a.pk, critical=item9(2))
    runner.run_once("test")
    alert = Alert.objects.get()
    pending = AlertEvent.objects.create(alert=alert, kind=EventKind.ESCALATED)
    newest = AlertEvent.objects.create(alert=alert, kind=EventKind.REPEATED)
    pending_id = pending.id
    pending.delete()
    page = client.get(reverse("crisis:board")).text
    assert f'data-last="{newest.id}"' in page
    assert f'data-gaps="{pending_id}"' in page


def test_the_feed_ignores_gaps_that_are_not_ids(client, crisis_a):
    _login(client, crisis_a)
    data = client.get(reverse("crisis:feed", args=[5]) + "?gaps=1,x,-3,,2%3B").json()
    assert data["events"] == [] and data["filled"] == []


def test_the_detail_page_is_audited_and_shows_the_timeline(client, alert_a, crisis_a):
    page = _login(client, crisis_a).get(reverse("crisis:alert", args=[alert_a.pk]))
    assert page.status_code == 200
    assert "确认接收" in page.text and "触发预警" in page.text and "张三" in page.text
    entry = AuditEntry.objects.get(action="crisis.alert.view")
    assert entry.actor == crisis_a and entry.object_id == str(alert_a.pk)


def test_working_an_alert_in_the_browser_forms(client, alert_a, crisis_a, crisis_a2):
    _login(client, crisis_a)
    url = reverse("crisis:alert", args=[alert_a.pk])
    client.post(reverse("crisis:acknowledge", args=[alert_a.pk]))
    page = client.get(url)
    assert "已确认，请立即联系当事人" in page.text and "联系尝试" in page.text
    _login(client, crisis_a2)
    again = client.post(reverse("crisis:acknowledge", args=[alert_a.pk]), follow=True)
    assert "无需重复确认" in again.text
    _login(client, crisis_a)
    refused = client.post(
        reverse("crisis:close", args=[alert_a.pk]), {"reason": "好了"}, follow=True
    )
    assert "红色预警必须先记录处置结果" in refused.text
    client.post(reverse("crisis:contact", args=[alert_a.pk]), {"outcome": "reached", "note": ""})
    client.post(reverse("crisis:risk", args=[alert_a.pk]), {"level": "orange", "note": ""})
    client.post(
        reverse("crisis:disposition", args=[alert_a.pk]),
        {"disposition": "police_120", "note": "120已到场"},
    )
    closed = client.post(
        reverse("crisis:close", args=[alert_a.pk]), {"reason": "已送医"}, follow=True
    )
    assert "预警已关闭" in closed.text and "不能重新打开" in closed.text
    reopened = client.post(reverse("crisis:reopen", args=[alert_a.pk]), follow=True)
    assert "已关闭的预警不能重新打开" in reopened.text
    alert_a.refresh_from_db()
    assert alert_a.status == Status.CLOSED and alert_a.disposition == "police_120"


def test_a_staff_member_raises_an_alert_from_a_person_in_scope(
    client, person_a, person_b, grid_worker, crisis_a
):
    _login(client, grid_worker)
    url = reverse("crisis:manual_alert", args=[person_a.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"level": "orange", "reason": "家属反映其多日不进食、说不想活"})
    assert response.status_code == 302
    assert Alert.objects.get().assigned_to == crisis_a
    other = reverse("crisis:manual_alert", args=[person_b.pk])
    assert client.post(other, {"level": "red", "reason": "x"}).status_code == 404


def test_the_hotline_desk_records_a_high_risk_call_with_alert_and_callback(
    client, person_a, crisis_a
):
    _login(client, crisis_a)
    response = client.post(
        reverse("crisis:hotline"),
        {
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "wait_seconds": 12,
            "duration_seconds": 900,
            "topic": "suicide",
            "risk": "high",
            "person_query": "张三",
            "phone": "139 1234 5678",
            "notes": "来电者表示已写好遗书",
        },
        follow=True,
    )
    assert "高危来电：已触发危机预警并生成回电任务" in response.text
    call = HotlineCall.objects.get()
    assert call.notes == "来电者表示已写好遗书" and call.caller_phone_masked == "139****5678"
    assert call.alert.level == "red" and call.alert.trigger == "hotline_high_risk"
    task = CallbackTask.objects.get()
    assert task.alert == call.alert
    assert "待回电" in response.text and "139****5678" in response.text
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM crisis_hotlinecall")
        assert "遗书" not in cursor.fetchone()[0]  # encrypted at rest


def test_the_hotline_desk_lists_missed_callbacks_and_volume_per_hour(client, crisis_a, areas):
    _login(client, crisis_a)
    services.record_call(
        actor=crisis_a,
        topic="emotion",
        risk="low",
        area_code="310105001000",
        received_at=timezone.now(),
        wait_seconds=20,
        duration_seconds=300,
    )
    services.request_callback(phone="13800001111", area_code=areas["village_a"].code)
    Task.objects.filter(kind="crisis_callback").update(
        due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    page = client.get(reverse("crisis:hotline"))
    assert page.context["missed"] and not page.context["due"]
    row = next(r for h, r in page.context["hours"] if r)
    assert row["n"] == 1 and row["wait"] == 20
    task = CallbackTask.objects.get()
    client.post(reverse("crisis:callback_done", args=[task.pk]), {"outcome": "reached"})
    task.refresh_from_db()
    assert task.done_by == crisis_a


def test_the_hotline_pages_404_outside_scope(client, crisis_a, crisis_b):
    call = services.record_call(
        actor=crisis_a,
        topic="emotion",
        risk="low",
        area_code="310105001000",
        received_at=timezone.now(),
    )
    task = services.request_callback(phone="13800003333", area_code="310105001000")
    _login(client, crisis_b)
    assert client.get(reverse("crisis:call", args=[call.pk])).status_code == 404
    assert (
        client.post(
            reverse("crisis:callback_done", args=[task.pk]), {"outcome": "reached"}
        ).status_code
        == 404
    )
    _login(client, crisis_a)
    assert client.get(reverse("crisis:call", args=[call.pk])).status_code == 200
    assert AuditEntry.objects.filter(action="crisis.call.view").count() == 1


def test_an_anonymous_resident_asks_for_a_callback_from_the_crisis_screen(client, areas, crisis_b):
    page = client.get(reverse("crisis:callback") + f"?area={areas['village_b'].code}")
    assert page.text.index("12356") < page.text.index("请给我回电")  # hotline first
    bad = client.post(reverse("crisis:callback"), {"phone": "12345", "area_code": ""})
    assert "手机号应为11位" in bad.text and not Alert.objects.exists()
    data = {"phone": "138-0000-2222", "note": "晚上睡不着", "area_code": areas["village_b"].code}
    ok = client.post(reverse("crisis:callback"), data)
    assert "已收到您的请求" in ok.text
    client.post(reverse("crisis:callback"), data)  # a double tap pages nobody twice
    alert = Alert.objects.get()
    assert alert.assigned_to == crisis_b and alert.level == "orange" and alert.repeats == 1
    assert CallbackTask.objects.get().note == "晚上睡不着"


def test_the_roster_page_shows_gaps_and_refuses_overlaps(client, areas, crisis_a):
    _login(client, crisis_a)
    page = client.get(reverse("crisis:roster"))
    assert page.status_code == 200 and "小时无人值班" in page.text
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    response = client.post(
        reverse("crisis:roster"),
        {
            "user": crisis_a.pk,
            "area": areas["town_a"].code,
            "starts_at": now.strftime(fmt),
            "ends_at": (now + dt.timedelta(hours=2)).strftime(fmt),
        },
    )
    assert "班次不能重叠" in response.text


def test_crisis_workers_find_the_board_in_the_nav_and_staff_the_alert_button(
    client, crisis_a, grid_worker, person_a
):
    assert "危机预警" in _login(client, crisis_a).get(reverse("workbench")).text
    assert reverse("crisis:board") not in _login(client, grid_worker).get(reverse("workbench")).text
    detail = client.get(reverse("people:detail", args=[person_a.pk]))
    assert reverse("crisis:manual_alert", args=[person_a.pk]) in detail.text


def test_the_board_and_feed_cost_the_same_queries_for_one_alert_or_thirty(client, areas, crisis_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(url):
        _login(client, crisis_a)
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    emit(critical=item9(), area_code=areas["grid_a"].code)
    runner.run_once("test")
    feed = reverse("crisis:feed", args=[0])
    one = (cost(reverse("crisis:board")), cost(feed))
    for _ in range(29):
        emit(critical=item9(), area_code=areas["grid_a"].code)
    runner.run_once("test")
    thirty = (cost(reverse("crisis:board")), cost(feed))
    assert one == thirty
    assert thirty[1] <= 10


def test_a_forged_cross_site_post_changes_nothing(alert_a, crisis_a, areas):
    from django.test import Client

    forger = Client(enforce_csrf_checks=True)
    forger.force_login(crisis_a)
    assert forger.post(reverse("crisis:acknowledge", args=[alert_a.pk])).status_code == 403
    assert forger.post(reverse("crisis:close", args=[alert_a.pk]), {"reason": "x"}).status_code == (
        403
    )
    alert_a.refresh_from_db()
    assert alert_a.status == Status.OPEN and alert_a.events.count() == 1
    anonymous = Client(enforce_csrf_checks=True)
    data = {"phone": "13800004444", "area_code": areas["village_a"].code}
    assert anonymous.post(reverse("crisis:callback"), data).status_code == 403
    assert Alert.objects.count() == 1


def test_a_forged_assessment_event_is_routed_safely(areas, crisis_district, person_a):
    # A payload that names a person who does not exist, an area code that is not one, and
    # critical entries of the wrong shape: the alert is raised for the anonymous assessment and
    # goes to the district team, never to a person or place the payload made up.
    emit(
        person_id=987654,
        area_code="310105001001001' OR 1=1",
        critical=["9", None, {"item": "q9", "level": "red", "answer": 3}],
    )
    assert runner.run_once("test").alerts == 1
    alert = Alert.objects.get()
    assert alert.person is None and alert.subject_key.startswith("assessment:")
    assert alert.area_code == "" and alert.assigned_to == crisis_district


def test_a_replayed_feed_poll_neither_repeats_nor_hides_an_alert(client, alert_a, crisis_a):
    _login(client, crisis_a)
    first = client.get(reverse("crisis:feed", args=[0])).json()
    last = first["last"]
    again = client.get(reverse("crisis:feed", args=[last])).json()
    assert again["events"] == [] and again["unacked"] == 1
    replay = client.get(reverse("crisis:feed", args=[0])).json()
    assert {e["alert"]["id"] for e in replay["events"]} <= {alert_a.pk}
    assert alert_a.events.filter(kind=EventKind.DELIVERED).count() == 1  # delivered once
