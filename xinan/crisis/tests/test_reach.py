"""Reaching the person: the holder's audited reveal, fallback when nobody is on duty, handover,
callback deadlines and their escalation, and what the resident is told."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.cases.models import Task
from xinan.core import schedule
from xinan.core.models import AuditEntry
from xinan.crisis import reach, runner, services
from xinan.crisis.models import (
    Alert,
    CallbackTask,
    CrisisFallback,
    EventKind,
    FallbackMode,
)
from xinan.crisis.tests.conftest import emit, item9
from xinan.testing import factories


@pytest.fixture
def alert_a(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    return Alert.objects.get()


@pytest.fixture
def lead(areas):
    """The district crisis team lead: not on shift, named as the district's fallback."""
    user = factories.staff("crisis_worker", area=areas["district"], username="lead")
    CrisisFallback.objects.create(area=areas["district"], mode=FallbackMode.LEAD, user=user)
    return user


def test_only_the_holder_reveals_the_number_and_each_reveal_is_audited(
    client, alert_a, crisis_a, crisis_a2
):
    client.force_login(crisis_a2)  # on duty too, but not holding it
    page = client.get(reverse("crisis:alert", args=[alert_a.pk]))
    assert "139****5678" in page.text and "13912345678" not in page.text
    assert 'data-testid="reveal"' not in page.text
    refused = client.post(reverse("crisis:reveal", args=[alert_a.pk]), follow=True)
    assert "只有当前负责该预警的值班人员可以查看完整号码" in refused.text
    assert "13912345678" not in refused.text
    assert not AuditEntry.objects.filter(action="crisis.alert.reveal_phone").exists()

    client.force_login(crisis_a)
    page = client.get(reverse("crisis:alert", args=[alert_a.pk]))
    assert 'data-testid="reveal"' in page.text and "13912345678" not in page.text
    shown = client.post(reverse("crisis:reveal", args=[alert_a.pk]))
    assert 'href="tel:13912345678"' in shown.text
    entry = AuditEntry.objects.get(action="crisis.alert.reveal_phone")
    assert entry.actor == crisis_a and f"#{alert_a.pk}" in entry.reason
    assert entry.object_type == "people.person" and entry.object_id == str(alert_a.person_id)
    assert alert_a.events.filter(kind=EventKind.REVEALED, actor=crisis_a).exists()
    # The next visit is masked again: every reveal is its own audited tap.
    assert "13912345678" not in client.get(reverse("crisis:alert", args=[alert_a.pk])).text


def test_an_anonymous_callback_request_is_worked_from_its_alert(client, areas, crisis_a):
    task = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    alert = task.alert
    assert alert.assigned_to == crisis_a and task.assigned_to == crisis_a
    services.acknowledge_alert(alert, actor=crisis_a)
    client.force_login(crisis_a)
    shown = client.post(reverse("crisis:reveal", args=[alert.pk]))
    assert 'href="tel:13800001234"' in shown.text
    services.record_contact(alert, actor=crisis_a, outcome="reached")
    task.refresh_from_db()
    assert task.done_by == crisis_a and task.outcome == "reached"


def test_a_high_risk_call_s_callback_is_due_within_the_red_deadline(areas, crisis_a):
    call = services.record_call(
        actor=crisis_a,
        topic="suicide",
        risk="high",
        received_at=timezone.now() - dt.timedelta(minutes=30),
        area_code=areas["village_a"].code,
        phone="13900001111",
    )
    task = call.callbacks.get()
    assert task.due_at <= timezone.now() + dt.timedelta(minutes=5)
    assert task.assigned_to == crisis_a


def test_an_overdue_callback_is_escalated_by_its_sweep_once(areas, crisis_a, crisis_a2):
    call = services.record_call(
        actor=crisis_a,
        topic="suicide",
        risk="high",
        received_at=timezone.now(),
        area_code=areas["village_a"].code,
        phone="13900001111",
    )
    services.acknowledge_alert(call.alert, actor=crisis_a)
    Task.objects.filter(kind="crisis_callback").update(
        due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    sweep = schedule.get("crisis.escalate_overdue_callbacks")
    now = timezone.now()
    assert sweep.func(now) == 1
    assert sweep.func(now) == 0  # claimed: its due time moved on
    task = CallbackTask.objects.get()
    assert task.assigned_to == crisis_a2 and task.escalations == 1 and task.due_at > now
    alert = Alert.objects.get()
    assert alert.assigned_to == crisis_a2
    event = alert.events.get(kind=EventKind.CALLBACK_OVERDUE)
    assert event.target == crisis_a2 and "回电逾期" in event.note
    assert AuditEntry.objects.filter(action="crisis.callback.escalate").count() == 1


def test_the_worker_s_pass_escalates_overdue_callbacks(areas, crisis_a, crisis_a2):
    task = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    services.acknowledge_alert(task.alert, actor=crisis_a)
    Task.objects.filter(kind="crisis_callback").update(
        due_at=timezone.now() - dt.timedelta(seconds=1)
    )
    runner.run_once("test")  # the worker's pass runs every sweep that is due
    assert CallbackTask.objects.get().assigned_to == crisis_a2


def test_a_callback_waiting_on_an_unacknowledged_alert_rides_on_the_alert_s_escalation(
    areas, crisis_a, crisis_a2
):
    services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    Task.objects.filter(kind="crisis_callback").update(
        due_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert reach.escalate_overdue_callbacks() == []


def test_nobody_on_duty_sends_the_alert_to_the_named_fallback(person_a, lead, areas):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    alert = Alert.objects.get()
    assert alert.assigned_to == lead and alert.via_fallback
    raised = alert.events.get(kind=EventKind.RAISED)
    assert raised.target == lead and "已转交后备负责人" in raised.note


def test_without_a_configured_fallback_the_area_admins_above_receive_it(
    client, person_a, town_admin, areas
):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    alert = Alert.objects.get()
    assert alert.assigned_to == town_admin and alert.via_fallback
    client.force_login(town_admin)
    assert "张三" in client.get(reverse("crisis:board")).text
    page = client.get(reverse("crisis:alert", args=[alert.pk]))
    assert page.status_code == 200 and "无人值班，已交后备负责人" in page.text
    assert "我的危机预警" in client.get(reverse("workbench")).text


def test_it_404s_outside_scope_for_an_area_admin_who_does_not_hold_it(client, alert_a, areas):
    other = factories.staff("area_admin", area=areas["town_b"], username="admin_b")
    client.force_login(other)
    for name in ("crisis:alert", "crisis:reveal", "crisis:handover"):
        method = client.get if name == "crisis:alert" else client.post
        assert method(reverse(name, args=[alert_a.pk])).status_code == 404


def test_the_holder_hands_an_alert_over_to_another_worker_on_duty(
    client, alert_a, crisis_a, crisis_a2, crisis_b
):
    client.force_login(crisis_a)
    page = client.get(reverse("crisis:alert", args=[alert_a.pk]))
    assert "crisis_a2" in page.text and 'data-testid="handover"' in page.text
    refused = client.post(
        reverse("crisis:handover", args=[alert_a.pk]), {"to_user": crisis_b.pk}, follow=True
    )
    assert "当前不在该区域值班" in refused.text
    client.post(
        reverse("crisis:handover", args=[alert_a.pk]),
        {"to_user": crisis_a2.pk, "note": "我去处理另一条红色预警"},
    )
    alert_a.refresh_from_db()
    assert alert_a.assigned_to == crisis_a2
    event = alert_a.events.get(kind=EventKind.HANDED_OVER)
    assert (event.actor, event.target) == (crisis_a, crisis_a2)
    assert event.note == "我去处理另一条红色预警"
    assert AuditEntry.objects.filter(action="crisis.alert.handover", actor=crisis_a).exists()
    # The one who handed it over no longer holds it.
    with pytest.raises(services.CrisisError):
        reach.hand_over(alert_a, actor=crisis_a, to_user=crisis_a2)


def test_the_board_puts_overdue_first_and_shows_who_is_on_duty(
    client, areas, person_a, person_b, crisis_a, crisis_a2
):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    late = Alert.objects.get()
    Alert.objects.filter(pk=late.pk).update(raised_at=timezone.now() - dt.timedelta(minutes=30))
    services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    client.force_login(crisis_a)
    page = client.get(reverse("crisis:board"))
    before, *rows = page.text.split('data-alert="')
    assert rows[0].startswith(str(late.pk)) and "overdue" in before[-80:]
    assert "已超时" in rows[0]
    duty = page.text.split('data-testid="on-duty"')[1]
    assert "crisis_a2" in duty and "转交" in duty


def test_the_board_and_the_roster_say_loudly_when_nobody_is_on_duty(client, areas, lead):
    worker = factories.staff("crisis_worker", area=areas["district"], username="off_duty")
    client.force_login(worker)
    for name in ("crisis:board", "crisis:roster"):
        page = client.get(reverse(name))
        assert 'data-testid="nobody"' in page.text
        assert "长宁区" in page.text and "新预警转交后备负责人 lead" in page.text


@pytest.mark.parametrize(
    ("setup", "before", "after"),
    [
        ("on_duty", "现在有危机干预人员值班", "会尽快给您回电"),
        ("fallback", "此刻没有危机干预人员值班", "可能无法马上回电"),
        ("nobody", "此刻没有人能给您回电", "此刻没有人能给您回电"),
    ],
)
def test_the_resident_is_told_only_what_is_true_now(client, areas, setup, before, after):
    if setup == "on_duty":
        from xinan.crisis.tests.conftest import on_shift

        on_shift(factories.staff("crisis_worker", area=areas["town_b"]), areas["town_b"])
    elif setup == "fallback":
        factories.staff("area_admin", area=areas["town_b"])
    url = reverse("crisis:callback") + f"?area={areas['village_b'].code}"
    page = client.get(url)
    assert before in page.text
    assert 'href="tel:110"' in page.text and 'href="tel:120"' in page.text
    done = client.post(url, {"phone": "13800005555", "area_code": areas["village_b"].code})
    assert after in done.text
    if setup != "on_duty":
        assert "会尽快给您回电" not in done.text


def test_a_shift_starting_takes_over_what_the_fallback_holds(person_a, lead, areas):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    assert Alert.objects.get().assigned_to == lead
    late = factories.staff("crisis_worker", area=areas["town_a"], username="late")
    now = timezone.now()
    services.create_shift(
        actor=lead,
        user=late,
        area=areas["town_a"],
        starts_at=now - dt.timedelta(minutes=1),
        ends_at=now + dt.timedelta(hours=8),
    )
    alert = Alert.objects.get()
    assert alert.assigned_to == late and not alert.via_fallback
