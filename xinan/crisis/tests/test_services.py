import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from xinan.core.models import AuditEntry, Delivery, OutboxEvent
from xinan.crisis import runner, services, sweeps
from xinan.crisis.models import Alert, AlertEvent, EventKind, Status
from xinan.crisis.tests.conftest import emit, item9, on_shift
from xinan.testing import factories


def _process():
    return runner.run_once(worker="test")


def test_it_raises_a_red_alert_routed_to_the_person_s_town(person_a, crisis_a, crisis_district):
    emit(person_id=person_a.pk, critical=item9(), area_code="310105102001")
    assert _process().alerts == 1
    alert = Alert.objects.get()
    assert alert.level == "red"
    assert alert.status == Status.OPEN
    assert alert.area_code == person_a.home_area_id  # the person's home, not where they screened
    assert alert.assigned_to == crisis_a
    assert alert.ack_deadline == alert.raised_at + dt.timedelta(minutes=5)
    assert alert.events.get().kind == EventKind.RAISED
    assert AuditEntry.objects.filter(action="crisis.alert.raise", object_id=str(alert.pk)).exists()
    raised = OutboxEvent.objects.get(topic="alert.raised")
    assert raised.payload["alert_id"] == alert.pk and raised.payload["level"] == "red"


def test_it_keeps_one_open_alert_per_person_and_trigger(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9(1))
    emit(person_id=person_a.pk, critical=item9(3))
    _process()
    alert = Alert.objects.get()
    assert alert.repeats == 1
    assert [e.kind for e in alert.events.all()] == [EventKind.RAISED, EventKind.REPEATED]


def test_it_opens_a_second_alert_for_another_trigger(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9())
    emit(person_id=person_a.pk, band="severe", total=21)
    _process()
    assert sorted(Alert.objects.values_list("level", flat=True)) == ["orange", "red"]


def test_it_opens_a_new_alert_after_the_last_one_closed(person_a, crisis_a):
    emit(person_id=person_a.pk, band="severe", total=21)
    _process()
    first = Alert.objects.get()
    services.acknowledge_alert(first, actor=crisis_a)
    services.close_alert(first, actor=crisis_a, reason="已联系，情况稳定")
    emit(person_id=person_a.pk, band="severe", total=22)
    _process()
    assert Alert.objects.count() == 2


def test_the_database_refuses_a_second_open_alert_for_the_same_trigger(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9())
    _process()
    alert = Alert.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            subject_key=alert.subject_key,
            trigger_key=alert.trigger_key,
            trigger=alert.trigger,
            source=alert.source,
            level="red",
            summary="dup",
            ack_deadline=timezone.now(),
        )


def test_it_routes_an_anonymous_assessment_by_where_it_was_taken(areas, crisis_a, crisis_b):
    emit(anonymous=True, critical=item9(), area_code=areas["village_b"].code)
    _process()
    alert = Alert.objects.get()
    assert alert.person is None
    assert alert.subject_key.startswith("assessment:")
    assert alert.area_code == areas["village_b"].code
    assert alert.assigned_to == crisis_b


def test_it_falls_back_up_the_tree_when_nobody_is_on_duty_nearby(areas, crisis_district):
    emit(critical=item9(), area_code=areas["grid_a"].code)
    _process()
    assert Alert.objects.get().assigned_to == crisis_district


def test_it_gives_an_alert_without_a_place_to_the_district(crisis_a, crisis_district):
    emit(critical=item9(), area_code="bogus")
    _process()
    alert = Alert.objects.get()
    assert alert.area_code == ""
    assert alert.assigned_to == crisis_district


def test_it_raises_nothing_when_no_rule_fires(person_a, crisis_a):
    emit(person_id=person_a.pk, total=3, band="minimal")
    result = _process()
    assert result.processed >= 1 and result.alerts == 0
    assert not Alert.objects.exists()
    assert not Delivery.objects.filter(consumer=runner.CONSUMER).exists()  # nothing owed


# Acknowledge, work, close -------------------------------------------------------------------


@pytest.fixture
def red_alert(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9())
    _process()
    return Alert.objects.get()


def test_it_acknowledges_once_and_refuses_a_second_time(red_alert, crisis_a, crisis_a2):
    services.acknowledge_alert(red_alert, actor=crisis_a)
    with pytest.raises(services.CrisisError) as exc:
        services.acknowledge_alert(red_alert, actor=crisis_a2)
    assert "已由 crisis_a" in exc.value.message and "无需重复确认" in exc.value.message
    red_alert.refresh_from_db()
    assert red_alert.acknowledged_by == crisis_a
    assert red_alert.events.filter(kind=EventKind.ACKNOWLEDGED).count() == 1
    assert AuditEntry.objects.filter(action="crisis.alert.acknowledge").count() == 1


def test_it_refuses_to_close_a_red_alert_without_a_disposition(red_alert, crisis_a):
    services.acknowledge_alert(red_alert, actor=crisis_a)
    with pytest.raises(services.CrisisError, match="红色预警必须先记录处置结果"):
        services.close_alert(red_alert, actor=crisis_a, reason="已处理")
    red_alert.refresh_from_db()
    assert red_alert.status == Status.ACKNOWLEDGED


def test_it_works_an_alert_through_to_closure(red_alert, crisis_a):
    services.acknowledge_alert(red_alert, actor=crisis_a)
    services.record_contact(red_alert, actor=crisis_a, outcome="no_answer")
    services.record_contact(red_alert, actor=crisis_a, outcome="reached", note="本人接听")
    services.record_risk(red_alert, actor=crisis_a, level="orange", note="有念头无计划")
    services.record_disposition(red_alert, actor=crisis_a, disposition="safe_with_plan")
    services.close_alert(red_alert, actor=crisis_a, reason="已签安全计划，转个案随访")
    red_alert.refresh_from_db()
    assert red_alert.status == Status.CLOSED
    assert red_alert.risk_level == "orange"
    assert [e.kind for e in red_alert.events.all()] == [
        "raised",
        "acknowledged",
        "contact",
        "contact",
        "risk",
        "disposition",
        "closed",
    ]
    assert red_alert.events.get(kind="contact", data__outcome="reached").note == "本人接听"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "crisis.alert.contact",
        "crisis.alert.risk",
        "crisis.alert.disposition",
        "crisis.alert.close",
    } <= actions


def test_it_never_reopens_a_closed_alert(red_alert, crisis_a):
    services.acknowledge_alert(red_alert, actor=crisis_a)
    services.record_disposition(red_alert, actor=crisis_a, disposition="hospital")
    services.close_alert(red_alert, actor=crisis_a, reason="已送医")
    with pytest.raises(services.CrisisError, match="不能重新打开"):
        services.reopen_alert(red_alert, actor=crisis_a)
    with pytest.raises(services.CrisisError, match="已关闭"):
        services.acknowledge_alert(red_alert, actor=crisis_a)
    with pytest.raises(services.CrisisError, match="已关闭"):
        services.close_alert(red_alert, actor=crisis_a, reason="again")
    red_alert.refresh_from_db()
    assert red_alert.status == Status.CLOSED
    assert red_alert.events.filter(kind=EventKind.REOPEN_REFUSED).count() == 1


def test_it_needs_acknowledgement_before_contact_is_recorded(red_alert, crisis_a):
    with pytest.raises(services.CrisisError, match="请先确认"):
        services.record_contact(red_alert, actor=crisis_a, outcome="reached")


def test_a_staff_member_raises_an_alert_by_hand(person_a, grid_worker, crisis_a):
    alert = services.raise_manual_alert(
        person_a, actor=grid_worker, level="orange", reason="走访时发现其言语中流露轻生念头"
    )
    assert alert.trigger == "manual" and alert.assigned_to == crisis_a
    assert AuditEntry.objects.get(action="crisis.alert.raise").actor == grid_worker
    with pytest.raises(services.CrisisError):
        services.raise_manual_alert(person_a, actor=grid_worker, level="orange", reason=" ")


# Escalation ---------------------------------------------------------------------------------


def test_it_escalates_a_missed_deadline_to_the_next_on_duty_then_up_the_tree(
    red_alert, crisis_a, crisis_a2, crisis_district
):
    assert red_alert.assigned_to == crisis_a
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=4), tick=False):
        assert services.escalate_overdue() == []
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5, seconds=1), tick=False):
        assert len(services.escalate_overdue()) == 1
    red_alert.refresh_from_db()
    assert red_alert.assigned_to == crisis_a2  # the next person on duty in the same town
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10, seconds=2), tick=False):
        services.escalate_overdue()
    red_alert.refresh_from_db()
    assert red_alert.assigned_to == crisis_district  # then up to the district
    assert red_alert.escalations == 2
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15, seconds=3), tick=False):
        services.escalate_overdue()
    red_alert.refresh_from_db()
    assert red_alert.exhausted and red_alert.assigned_to == crisis_district
    steps = red_alert.events.filter(kind=EventKind.ESCALATED)
    assert [e.target_id for e in steps] == [crisis_a2.pk, crisis_district.pk, None]
    assert AuditEntry.objects.filter(action="crisis.alert.escalate").count() == 3
    assert OutboxEvent.objects.filter(topic="alert.escalated").count() == 3


def test_it_does_not_escalate_an_acknowledged_alert(red_alert, crisis_a, crisis_district):
    services.acknowledge_alert(red_alert, actor=crisis_a)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        assert services.escalate_overdue() == []


def test_it_uses_the_configured_deadlines(settings, person_a, crisis_a):
    settings.CRISIS_ACK_MINUTES = {"red": 2, "orange": 10, "yellow": 60}
    emit(person_id=person_a.pk, critical=item9())
    _process()
    alert = Alert.objects.get()
    assert alert.ack_deadline - alert.raised_at == dt.timedelta(minutes=2)


def test_a_repeat_at_a_higher_level_raises_the_alert_s_level(person_a, crisis_a):
    services.raise_manual_alert(person_a, actor=crisis_a, level="yellow", reason="情绪低落")
    services.raise_manual_alert(person_a, actor=crisis_a, level="red", reason="说要跳楼")
    alert = Alert.objects.get()
    assert alert.level == "red"
    assert alert.ack_deadline <= timezone.now() + dt.timedelta(minutes=5)


def test_it_finds_someone_as_soon_as_a_shift_starts_after_nobody_was_on_duty(areas, person_a):
    emit(person_id=person_a.pk, critical=item9())
    _process()
    alert = Alert.objects.get()
    assert alert.assigned_to is None and alert.exhausted
    late = factories.staff("crisis_worker", area=areas["town_a"], username="late")
    on_shift(late, areas["town_a"], hours=(0, 9))
    sweeps.escalate_overdue(timezone.now())  # the next sweep (every 2 s), not the deadline
    alert.refresh_from_db()
    assert alert.assigned_to == late and not alert.exhausted


def test_a_shift_added_now_takes_an_exhausted_alert_at_once(areas, person_a, district_admin):
    emit(person_id=person_a.pk, critical=item9())
    _process()
    late = factories.staff("crisis_worker", area=areas["town_a"], username="late")
    now = timezone.now()
    services.create_shift(
        actor=district_admin,
        user=late,
        area=areas["town_a"],
        starts_at=now - dt.timedelta(minutes=1),
        ends_at=now + dt.timedelta(hours=8),
    )
    assert Alert.objects.get().assigned_to == late


def test_an_exhausted_alert_is_recorded_once_however_many_deadlines_pass(red_alert, crisis_a):
    for minutes in (6, 12, 18, 24, 30, 60):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False):
            sweeps.escalate_overdue(timezone.now())
    red_alert.refresh_from_db()
    assert red_alert.exhausted
    assert red_alert.events.filter(kind=EventKind.ESCALATED).count() == 1
    assert AuditEntry.objects.filter(action="crisis.alert.escalate").count() == 1
    assert OutboxEvent.objects.filter(topic="alert.escalated").count() == 1


def test_events_record_who_received_what(red_alert, crisis_a):
    services.mark_delivered([red_alert.pk], user=crisis_a)
    services.mark_delivered([red_alert.pk], user=crisis_a)
    assert AlertEvent.objects.filter(kind=EventKind.DELIVERED).count() == 1
