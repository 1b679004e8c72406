"""The loop's rules: cases, stages, tasks, reassignment, escalation."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from xinan.cases import consumers, services, sweeps
from xinan.cases.models import Case, CaseSource, Stage, Task, TaskKind, TaskRule, TaskStatus
from xinan.cases.tests.conftest import event, scored
from xinan.core.models import AuditEntry, OutboxEvent


def test_it_opens_a_case_with_a_first_contact_task_from_a_positive_screen(person_a, counsellor):
    consumers.open_from_positive_screen(event("assessment.scored", scored(person_a)))
    case = Case.objects.get(person=person_a)
    assert (case.line, case.stage, case.source) == ("general", "assess", "positive_screen")
    assert case.responsible == counsellor
    task = Task.objects.get(case=case)
    assert task.kind == TaskKind.FIRST_CONTACT and task.assignee == counsellor
    assert dt.timedelta(days=3) - (task.due_at - case.opened_at) < dt.timedelta(seconds=5)
    assert OutboxEvent.objects.filter(topic="case.opened").count() == 1


def test_it_handles_the_same_screen_twice_once(person_a, counsellor):
    e = event("assessment.scored", scored(person_a))
    consumers.open_from_positive_screen(e)
    consumers.open_from_positive_screen(e)
    assert Case.objects.count() == 1 and Task.objects.count() == 1


def test_it_ignores_negative_and_anonymous_screens(person_a, counsellor):
    consumers.open_from_positive_screen(
        event("assessment.scored", scored(person_a, positive=False))
    )
    anonymous = {**scored(person_a), "person_id": None}
    consumers.open_from_positive_screen(event("assessment.scored", anonymous))
    assert not Case.objects.exists()


def test_it_adds_a_second_signal_to_the_open_case(person_a, counsellor):
    consumers.open_from_positive_screen(event("assessment.scored", scored(person_a, pk=1)))
    consumers.open_from_alert(
        event(
            "alert.raised",
            {"alert_id": 9, "level": "red", "trigger": "critical_item", "person_id": person_a.pk},
        )
    )
    case = Case.objects.get()
    assert case.priority == "high"
    assert [e.kind for e in case.events.all()] == ["opened", "signal"]


def test_it_keeps_one_open_case_per_line_in_the_database(case_a, person_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(person=person_a, line="general", source="manual", area_code="x")


def test_it_refuses_an_impossible_transition_and_saves_nothing(case_a, counsellor):
    with pytest.raises(services.CaseError) as exc:
        services.move_case(case_a, to="intervene", actor=counsellor)
    assert "不能直接转为" in exc.value.message
    case_a.refresh_from_db()
    assert case_a.stage == Stage.ASSESS and case_a.events.count() == 1


def test_it_needs_a_professionals_judgement_and_basis_to_identify(case_a, counsellor, grid_worker):
    with pytest.raises(services.CaseError, match="请填写鉴别意见及依据"):
        services.move_case(case_a, to="identify", actor=counsellor, judgement="抑郁")
    with pytest.raises(services.CaseError, match="鉴别须由"):
        services.move_case(case_a, to="identify", actor=grid_worker, judgement="a", basis="b")
    case = services.move_case(case_a, to="identify", actor=counsellor, judgement="a", basis="b")
    assert case.stage == "identify" and case.identified_by == counsellor


def test_it_needs_a_reason_and_outcome_to_close_and_cancels_open_work(identified_case, counsellor):
    services.add_task(
        identified_case,
        actor=counsellor,
        kind="other",
        title="电话回访",
        due_at=timezone.now(),
    )
    with pytest.raises(services.CaseError, match="请选择结案原因"):
        services.move_case(identified_case, to="closed", actor=counsellor)
    case = services.move_case(
        identified_case, to="closed", actor=counsellor, reason="recovered", outcome="remission"
    )
    assert case.closed_at and not Task.objects.filter(status=TaskStatus.OPEN).exists()
    with pytest.raises(services.CaseError):
        services.move_case(case, to="assess", actor=counsellor)


def test_it_refuses_and_audits_a_reassignment_out_of_scope(case_a, counsellor, other_grid_worker):
    with pytest.raises(services.CaseError, match="职责范围以外"):
        services.reassign(case_a, to_user=other_grid_worker, actor=counsellor)
    case_a.refresh_from_db()
    assert case_a.responsible == counsellor
    assert AuditEntry.objects.filter(action="cases.case.refused", actor=counsellor).exists()


def test_it_reassigns_within_scope_with_the_open_tasks(case_a, counsellor, grid_worker):
    task = services.add_task(
        case_a, actor=counsellor, kind="other", title="入户", due_at=timezone.now()
    )
    services.reassign(case_a, to_user=grid_worker, actor=counsellor)
    task.refresh_from_db()
    assert task.assignee == grid_worker
    assert OutboxEvent.objects.filter(topic="case.assigned").exists()
    assert services.worklist(grid_worker).filter(pk=task.pk).exists()


def test_it_refuses_to_hand_a_task_out_of_scope(case_a, counsellor, other_grid_worker):
    task = services.add_task(
        case_a, actor=counsellor, kind="other", title="入户", due_at=timezone.now()
    )
    with pytest.raises(services.CaseError, match="职责范围以外"):
        services.reassign_task(task, to_user=other_grid_worker, actor=counsellor)


def test_it_sets_the_first_contact_when_the_contact_task_is_done(person_a, counsellor):
    consumers.open_from_positive_screen(event("assessment.scored", scored(person_a)))
    task = Task.objects.get()
    services.complete_task(task, actor=counsellor, result="已电话联系")
    case = Case.objects.get()
    assert case.first_contact_at is not None
    with pytest.raises(services.CaseError, match="已完成"):
        services.complete_task(task, actor=counsellor)


def test_it_escalates_an_overdue_task_to_the_area_admin_once(person_a, counsellor, town_admin):
    consumers.open_from_positive_screen(event("assessment.scored", scored(person_a)))
    later = timezone.now() + dt.timedelta(days=4)
    assert sweeps.escalate_overdue_tasks(later) == 1
    assert sweeps.escalate_overdue_tasks(later) == 0
    escalation = Task.objects.get(kind=TaskKind.ESCALATION)
    assert services.worklist(town_admin).filter(pk=escalation.pk).exists()
    assert OutboxEvent.objects.filter(topic="task.escalated").count() == 1


def test_it_follows_up_a_closed_red_alert_within_24_hours(person_a, counsellor):
    payload = {
        "alert_id": 5,
        "level": "red",
        "person_id": person_a.pk,
        "disposition": "safe_with_plan",
        "reason": "约定明日回访",
    }
    consumers.follow_up_closed_alert(event("alert.closed", payload))
    task = Task.objects.get()
    assert task.kind == TaskKind.FOLLOW_UP_CONTACT
    assert abs((task.due_at - timezone.now()) - dt.timedelta(hours=24)) < dt.timedelta(minutes=1)


def test_it_uses_rules_as_edited_in_admin(person_a, person_b, counsellor):
    # The rules are read once per process; an edit saved (as the admin saves) drops that copy.
    consumers.open_from_positive_screen(event("assessment.scored", scored(person_b, pk=102)))
    rule = TaskRule.objects.get(key="positive-screen-first-contact")
    rule.due_days = 1
    rule.save()
    consumers.open_from_positive_screen(event("assessment.scored", scored(person_a)))
    task = Task.objects.get(person=person_a)
    assert task.due_at - timezone.now() < dt.timedelta(days=1, minutes=1)


def test_a_consumer_costs_no_query_for_a_negative_screen(person_a, django_assert_num_queries):
    with django_assert_num_queries(0):
        consumers.open_from_positive_screen(
            event("assessment.scored", {**scored(person_a), "positive": False})
        )


def test_the_follow_up_consumer_costs_one_read_when_nothing_is_due(
    person_a, django_assert_num_queries, monkeypatch
):
    # the read is SQL built once (core/lib/fastsql.py), which Django's query log does not see
    from xinan.core.lib import fastsql

    statements = []
    execute = fastsql.execute
    monkeypatch.setattr(
        fastsql, "execute", lambda sql, *a, **kw: statements.append(sql) or execute(sql, *a, **kw)
    )
    with django_assert_num_queries(0):
        consumers.complete_follow_up(
            event("assessment.scored", {**scored(person_a), "positive": False})
        )
    assert len(statements) == 1 and statements[0].startswith("SELECT")


def test_it_counts_working_days_for_referral_answers():
    rule = TaskRule(due_days=2, working_days=True)
    friday = timezone.make_aware(dt.datetime(2026, 12, 4, 10, 0))
    assert rule.due_from(friday).date() == dt.date(2026, 12, 8)


def test_it_opens_a_case_from_a_high_risk_call(person_a, counsellor):
    consumers.open_from_high_risk_call(
        event("call.logged", {"call_id": 3, "risk": "high", "person_id": person_a.pk})
    )
    case = Case.objects.get()
    assert case.source == CaseSource.HOTLINE and case.priority == "high"
