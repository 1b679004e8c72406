"""Migration crisis 0005_callback_tasks: every callback of before gets its loop task, open ones
open with their due time and holder (or the area's crisis workers), done ones done."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from xinan.testing import factories

BEFORE = [
    ("crisis", "0004_fallback_reveal_handover_callback_escalation"),
    ("cases", "0005_intervention_service_site"),
]
AFTER = [("crisis", "0006_callback_tasks_drop_old_columns")]


@pytest.mark.django_db(transaction=True)
def test_existing_callbacks_move_onto_loop_tasks():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        Alert = old.get_model("crisis", "Alert")
        Callback = old.get_model("crisis", "CallbackTask")
        worker = factories.UserFactory(username="mig_worker")  # accounts is not migrated back
        now = timezone.now()
        alert = Alert.objects.create(
            subject_key="phone:x",
            trigger_key="callback-request",
            trigger="callback_request",
            source="callback",
            area_code="310105001001",
            level="orange",
            summary="",
            ack_deadline=now,
        )
        due = now + dt.timedelta(minutes=30)
        held = Callback.objects.create(
            alert=alert,
            area_code="310105001001",
            phone_masked="138****1234",
            due_at=due,
            assigned_to_id=worker.pk,
        )
        nobody = Callback.objects.create(area_code="310105001001", due_at=due)
        done = Callback.objects.create(
            alert=alert,
            area_code="310105001001",
            due_at=due,
            done_at=now,
            done_by_id=worker.pk,
            outcome="reached",
        )

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        Callback = new.get_model("crisis", "CallbackTask")
        task = Callback.objects.get(pk=held.pk).task
        assert (task.kind, task.status, task.assignee_id) == ("crisis_callback", "open", worker.pk)
        assert task.due_at == due and task.link == f"/crisis/alerts/{alert.pk}/"
        assert task.title == "居民请求回电 138****1234" and task.person_id is None
        task = Callback.objects.get(pk=nobody.pk).task
        assert task.assignee_id is None and task.assignee_role == "crisis_worker"
        assert task.assignee_area_code == "310105001001" and task.link == "/crisis/hotline/"
        task = Callback.objects.get(pk=done.pk).task
        assert (task.status, task.done_by_id, task.result) == ("done", worker.pk, "已接通")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
