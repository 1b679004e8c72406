"""Durable jobs through django.tasks on the database backend: state, retries, takeover, page."""

import datetime as dt

import pytest
import time_machine
from django.tasks import TaskResultStatus, task, task_backends
from django.urls import reverse
from django.utils import timezone

from xinan.core import jobs, worker
from xinan.core.models import Job
from xinan.testing import factories

calls: list[tuple] = []
failures = {"left": 0}
given_up: list[str] = []


@jobs.durable(max_attempts=3, on_give_up=lambda job: given_up.append(job.pk))
@task()
def add(a: int, b: int) -> int:
    calls.append((a, b))
    jobs.progress(len(calls), 10)
    if failures["left"]:
        failures["left"] -= 1
        raise ConnectionError("database went away")
    return a + b


@task()
def once_only(path: str) -> None:
    raise jobs.Permanent(f"{path} is gone")


@pytest.fixture(autouse=True)
def _clean():
    calls.clear()
    given_up.clear()
    failures["left"] = 0


def test_the_backend_is_the_database_one():
    assert isinstance(task_backends["default"], jobs.DatabaseBackend)


def test_an_enqueued_task_is_a_row_a_worker_runs(db):
    user = factories.staff("area_admin", username="starter")
    result = jobs.enqueue(add, 2, 3, user=user, description="加法")
    job = Job.objects.get(pk=result.id)
    assert (job.status, job.args, job.created_by, job.description) == (
        "READY",
        [2, 3],
        user,
        "加法",
    )
    assert worker.run_once("w")["jobs"] == 1
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 5
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.worker_ids) == (1, 10, ["w"])


def test_a_failing_job_is_retried_with_back_off_then_fails_for_good(db):
    failures["left"] = 5
    result = add.enqueue(1, 1)
    assert jobs.run_next("w")
    job = Job.objects.get(pk=result.id)
    assert job.status == "READY" and job.run_after > timezone.now()
    assert not jobs.run_next("w")  # backing off
    for attempt in (2, 3):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=10 * attempt), tick=False):
            assert jobs.run_next("w")
    job.refresh_from_db()
    assert (job.status, job.attempts, len(job.errors)) == ("FAILED", 3, 3)
    assert "database went away" in job.last_error and given_up == [job.pk]


def test_a_job_that_says_it_is_permanent_is_not_retried(db):
    result = once_only.enqueue("/tmp/gone.csv")
    jobs.run_next("w")
    job = Job.objects.get(pk=result.id)
    assert (job.status, job.attempts) == ("FAILED", 1) and "gone.csv" in job.last_error


def test_a_dead_worker_s_job_is_taken_over_after_its_lease(db):
    result = add.enqueue(4, 4)
    assert jobs.claim("dead").pk == result.id  # and the worker died
    assert jobs.claim("live") is None
    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=worker.lease_seconds() + 1), tick=False
    ):
        assert jobs.run_next("live")
    job = Job.objects.get(pk=result.id)
    assert (job.status, job.attempts, job.return_value) == ("SUCCESSFUL", 2, 8)


def test_a_job_whose_worker_died_on_its_last_attempt_ends_failed(db):
    result = add.enqueue(1, 2)
    later = timezone.now()
    for _ in range(3):  # three workers die in turn
        later += dt.timedelta(seconds=worker.lease_seconds() + 1)
        with time_machine.travel(later, tick=False):
            assert jobs.claim("doomed") is not None
    later += dt.timedelta(seconds=worker.lease_seconds() + 1)
    with time_machine.travel(later, tick=False):
        assert jobs.run_next("live")
    job = Job.objects.get(pk=result.id)
    assert job.status == "FAILED" and "工作进程中断" in job.last_error
    assert calls == [] and given_up == [job.pk]


def test_two_workers_never_claim_one_job(db):
    add.enqueue(1, 1)
    assert jobs.claim("a") is not None
    assert jobs.claim("b") is None


def test_the_jobs_page_lists_the_user_s_own_jobs_and_a_sysadmin_sees_all(client, areas):
    mine = factories.staff("area_admin", area=areas["district"], username="mine")
    other = factories.staff("area_admin", area=areas["district"], username="other")
    jobs.enqueue(add, 1, 1, user=mine, description="导入 我的名单.csv")
    jobs.enqueue(add, 2, 2, user=other, description="导入 别人的名单.csv")
    client.force_login(mine)
    page = client.get(reverse("jobs")).content.decode()
    assert "导入 我的名单.csv" in page and "排队中" in page and "别人的名单" not in page
    admin = factories.staff("sysadmin", username="root2")
    client.force_login(admin)
    page = client.get(reverse("jobs")).content.decode()
    assert "我的名单" in page and "别人的名单" in page


def test_the_jobs_page_needs_a_login(client, db):
    assert client.get(reverse("jobs")).status_code == 302
