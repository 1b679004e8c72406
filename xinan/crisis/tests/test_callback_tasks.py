"""A crisis callback is a loop task: in its holder's 我的待办 with due time, overdue mark and a
link to its alert, where it is done once with its outcome (written on the alert's timeline);
escalated along the duty chain when missed; handed on only within the crisis area; anonymous
(no person) works."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.cases import services as cases
from xinan.cases.models import Task, TaskKind, TaskStatus
from xinan.core import schedule
from xinan.core.models import AuditEntry
from xinan.crisis import services
from xinan.crisis.models import Alert, CallbackTask, EventKind
from xinan.testing import factories


def _high_risk_call(actor, areas, person=None):
    return services.record_call(
        actor=actor,
        topic="suicide",
        risk="high",
        received_at=timezone.now(),
        area_code=areas["village_a"].code,
        person=person,
        phone="13900001111" if person is None else "",
    )


def test_a_high_risk_call_s_callback_is_in_its_holder_s_worklist_with_a_link(
    client, areas, crisis_a, crisis_a2
):
    call = _high_risk_call(crisis_a, areas)
    callback = call.callbacks.get()
    task = callback.task
    assert task.kind == TaskKind.CRISIS_CALLBACK and task.assignee == crisis_a
    assert task.person_id is None and "139****1111" in task.title
    assert task.due_at <= timezone.now() + dt.timedelta(minutes=5)  # red: the alert's deadline
    assert list(cases.worklist(crisis_a)) == [task]
    assert not cases.worklist(crisis_a2).exists()  # on duty too, but not holding it

    client.force_login(crisis_a)
    page = client.get(reverse("cases:worklist"))
    assert "危机回电" in page.text and "热线高危来电回电 139****1111" in page.text
    link = reverse("crisis:alert", args=[call.alert_id])
    assert f'href="{link}"' in page.text and "匿名求助者" in page.text
    assert "打开并拨打" in page.text and 'class="pill overdue"' not in page.text
    assert client.get(link).status_code == 200  # the link opens where it is worked

    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    page = client.get(reverse("cases:worklist") + "?when=overdue")
    assert 'class="pill overdue"' in page.text and "热线高危来电回电" in page.text
    home = client.get(reverse("workbench"))
    assert "热线高危来电回电" in home.text  # 我的待办 leads the workbench


def test_a_person_s_callback_names_the_person_not_the_number(client, areas, crisis_a, person_a):
    call = _high_risk_call(crisis_a, areas, person=person_a)
    task = call.callbacks.get().task
    assert task.person == person_a and task.title == "热线高危来电回电"
    client.force_login(crisis_a)
    page = client.get(reverse("cases:worklist"))
    assert person_a.name in page.text


def test_the_worklist_leads_a_callback_to_the_alert_page_where_its_outcome_is_recorded(
    client, areas, crisis_a
):
    callback = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    client.force_login(crisis_a)
    done_url = reverse("cases:task_done", args=[callback.task_id])
    page = client.get(reverse("cases:worklist"))
    assert "打开并拨打" in page.text and f'action="{done_url}"' not in page.text
    # 完成 posted from an old page is refused: the outcome and the alert's timeline would stay
    # empty.
    page = client.post(done_url, {"result": "已回电，情绪平稳"}, follow=True)
    assert "危机回电请打开预警页面拨打，并在那里记录回电结果" in page.text
    callback.refresh_from_db()
    assert callback.task.status == TaskStatus.OPEN and callback.outcome == ""
    assert not AuditEntry.objects.filter(action="cases.task.done").exists()

    alert_page = client.get(callback.task.link)
    assert reverse("crisis:callback_done", args=[callback.pk]) in alert_page.text
    page = client.post(
        reverse("crisis:callback_done", args=[callback.pk]),
        {"outcome": "no_answer", "back": "alert"},
        follow=True,
    )
    assert "回电已完成" in page.text
    callback.refresh_from_db()
    assert callback.outcome == "no_answer" and callback.task.result == "无人接听"
    assert callback.task.status == TaskStatus.DONE and callback.done_by == crisis_a
    event = callback.alert.events.get(kind=EventKind.CONTACT)
    assert event.actor == crisis_a and event.data["outcome"] == "no_answer"
    assert "回电：无人接听" in page.text  # on the alert page's timeline
    assert AuditEntry.objects.filter(action="cases.task.done").count() == 1
    assert AuditEntry.objects.filter(action="crisis.callback.done").count() == 1
    assert not cases.worklist(crisis_a).exists()
    with pytest.raises(cases.CaseError):  # nor may any other code path close it
        cases.complete_task(callback.task, actor=crisis_a)


def test_a_callback_kept_after_its_alert_closed_is_done_from_the_alert_page(
    client, areas, crisis_a
):
    callback = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    alert = callback.alert
    services.acknowledge_alert(alert, actor=crisis_a)
    services.record_contact(alert, actor=crisis_a, outcome="no_answer")
    services.close_alert(alert, actor=crisis_a, reason="两次未接通，改由回电任务继续联系")
    assert list(cases.worklist(crisis_a)) == [callback.task]
    client.force_login(crisis_a)
    page = client.get(callback.task.link)
    assert reverse("crisis:callback_done", args=[callback.pk]) in page.text
    client.post(reverse("crisis:callback_done", args=[callback.pk]), {"outcome": "reached"})
    callback.refresh_from_db()
    assert callback.outcome == "reached" and callback.task.status == TaskStatus.DONE
    labels = [e.data.get("label") for e in alert.events.filter(kind=EventKind.CONTACT)]
    assert labels == ["无人接听", "回电：已接通"]


def test_done_on_the_desk_it_leaves_the_worklist_and_is_not_done_twice(client, areas, crisis_a):
    callback = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    client.force_login(crisis_a)
    client.post(reverse("crisis:callback_done", args=[callback.pk]), {"outcome": "reached"})
    callback.refresh_from_db()
    assert callback.outcome == "reached" and callback.task.result == "已接通"
    assert not cases.worklist(crisis_a).exists()
    again = client.post(reverse("cases:task_done", args=[callback.task_id]), {"result": "x"})
    assert again.status_code == 404
    callback.task.refresh_from_db()
    assert callback.task.result == "已接通" and callback.task.done_by == crisis_a
    assert AuditEntry.objects.filter(action="cases.task.done").count() == 1


def test_reaching_the_person_from_the_alert_completes_the_task(areas, crisis_a):
    callback = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    services.acknowledge_alert(callback.alert, actor=crisis_a)
    services.record_contact(callback.alert, actor=crisis_a, outcome="reached")
    callback.refresh_from_db()
    assert callback.task.status == TaskStatus.DONE and callback.task.done_by == crisis_a
    assert callback.outcome == "reached"
    # One contact on the timeline: the one recorded, which also answered the callback.
    assert callback.alert.events.filter(kind=EventKind.CONTACT).count() == 1


def test_a_missed_callback_escalates_to_whoever_is_on_duty_not_to_the_town_admins(
    areas, crisis_a, crisis_a2
):
    admin = factories.staff("area_admin", area=areas["town_a"], username="town_admin_a")
    call = _high_risk_call(crisis_a, areas)
    services.acknowledge_alert(call.alert, actor=crisis_a)
    task = call.callbacks.get().task
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    now = timezone.now()
    assert schedule.get("crisis.escalate_overdue_callbacks").func(now) == 1
    assert list(cases.worklist(crisis_a2)) == [task]
    assert not cases.worklist(crisis_a).exists()
    task.refresh_from_db()
    assert now < task.due_at <= now + dt.timedelta(minutes=5)  # red: one more deadline
    assert Alert.objects.get().events.filter(kind=EventKind.CALLBACK_OVERDUE).exists()
    # The loop's own sweep (area admins, a day later) leaves it to the duty chain.
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    schedule.get("cases.escalate_overdue_tasks").func(timezone.now())
    assert not Task.objects.filter(kind=TaskKind.ESCALATION).exists()
    assert not cases.worklist(admin).exists()


def test_an_unacknowledged_alert_s_callback_follows_the_alert_s_escalation(
    areas, crisis_a, crisis_a2
):
    call = _high_risk_call(crisis_a, areas)
    Alert.objects.update(ack_deadline=timezone.now() - dt.timedelta(seconds=1))
    services.escalate_overdue()
    assert Alert.objects.get().assigned_to == crisis_a2
    assert list(cases.worklist(crisis_a2)) == [call.callbacks.get().task]


def test_reassigned_out_of_the_crisis_area_it_is_refused_and_audited(
    areas, crisis_a, crisis_a2, crisis_b
):
    callback = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    grid = factories.staff("grid_worker", area=areas["village_a"], username="grid_a")
    for stranger in (crisis_b, grid, None):  # another town's desk; not a crisis worker; nobody
        with pytest.raises(cases.CaseError) as refused:
            cases.reassign_task(callback.task, to_user=stranger, actor=crisis_a)
        assert "不能转派给职责范围以外的人员" in refused.value.message
    assert AuditEntry.objects.filter(action="cases.task.refused", actor=crisis_a).count() == 3
    with pytest.raises(cases.CaseError):  # nor may someone outside hand it on
        cases.reassign_task(callback.task, to_user=crisis_b, actor=crisis_b)
    assert AuditEntry.objects.filter(action="cases.task.refused", actor=crisis_b).exists()
    callback.task.refresh_from_db()
    assert callback.task.assignee == crisis_a

    cases.reassign_task(callback.task, to_user=crisis_a2, actor=crisis_a)
    assert list(cases.worklist(crisis_a2)) == [callback.task]
    assert CallbackTask.objects.get().assigned_to == crisis_a2


def test_with_nobody_to_hold_it_the_area_s_crisis_workers_see_it(areas):
    callback = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    assert callback.alert.assigned_to is None
    task = callback.task
    assert task.assignee is None and task.assignee_role == "crisis_worker"
    desk_a = factories.staff("crisis_worker", area=areas["town_a"], username="desk_a")
    desk_b = factories.staff("crisis_worker", area=areas["town_b"], username="desk_b")
    assert list(cases.worklist(desk_a)) == [task]
    assert not cases.worklist(desk_b).exists()


def test_an_anonymous_callback_stays_out_of_every_person_s_records(
    client, areas, crisis_a, person_a
):
    from xinan.cases import privacy as cases_privacy
    from xinan.cases import timeline

    callback = services.request_callback(phone="13800001234", area_code=areas["village_a"].code)
    assert callback.task.person_id is None
    exported = cases_privacy.export_person(person_a)
    assert exported["tasks"] == []
    assert all("138****1234" not in item.text for item in timeline.for_person(crisis_a, person_a))
    client.force_login(crisis_a)
    assert client.get(reverse("workbench")).status_code == 200
    cases_privacy.erase_person(person_a, actor=crisis_a)
    callback.task.refresh_from_db()
    assert "138****1234" in callback.task.title  # not the erased person's
