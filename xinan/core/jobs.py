"""Durable jobs behind Django's own `django.tasks` API, stored in the database (core.Job).

    from django.tasks import task
    from xinan.core import jobs

    @jobs.durable(max_attempts=5)          # how often the worker may run it (a retry or a
    @task()                                # resume after a dead worker); default once
    def import_file(import_job_id: int) -> None:
        ...
        jobs.progress(done, total)          # what the jobs page shows

    jobs.enqueue(import_file, 42, user=request.user, description="导入 名单.csv")
    # or plainly: import_file.enqueue(42)

`DatabaseBackend` (settings.TASKS) writes a row per enqueue on SQLite and PostgreSQL alike;
a worker's `jobs` lane (xinan/core/worker.py) claims the next ready row with a conditional
UPDATE and runs it under a lease that its heartbeat renews. A worker killed mid-job stops
renewing; after the lease another worker runs the job again (a new attempt), so a job must be
resumable or idempotent to be given more than one attempt. A job that raises is retried with
back-off while attempts remain, unless it raised `Permanent`; then it is FAILED with its error.
Why this and not django-tasks-db or procrastinate: docs/decisions/0001-durable-jobs.md.
"""

import contextvars
import datetime as dt
import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.tasks import TaskContext, TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskError
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from xinan.core import bus
from xinan.core.leases import lease_seconds
from xinan.core.lib import fastsql
from xinan.core.models import Job

log = logging.getLogger(__name__)

JOBS_TOPIC = "jobs"


class Permanent(Exception):
    """Raised by a job that must not be retried (its input is gone, say)."""


# task path -> (max attempts, called with the job when it is given up for good)
_policies: dict[str, tuple[int, Callable[[Job], None] | None]] = {}


def durable(*, max_attempts: int = 1, on_give_up: Callable[[Job], None] | None = None):
    """How often the worker may run a task (retries and resumes), and what to do when a job
    is abandoned (its worker died on the last attempt). Put above `@task()`."""

    def register(t: Task) -> Task:
        _policies[t.module_path] = (max_attempts, on_give_up)
        return t

    return register


_enqueuing = contextvars.ContextVar("xinan_job_enqueuing", default=(None, ""))
_current = contextvars.ContextVar("xinan_current_job", default=None)


def enqueue(t: Task, *args: Any, user=None, description: str = "", **kwargs: Any) -> TaskResult:
    """`t.enqueue(*args, **kwargs)`, recording who started it and what it is, for the page."""
    token = _enqueuing.set((user, str(description)))
    try:
        return t.enqueue(*args, **kwargs)
    finally:
        _enqueuing.reset(token)


def progress(done: int, total: int | None = None) -> None:
    """Report the running job's progress (a no-op outside a job)."""
    job_id = _current.get()
    if job_id is None:
        return
    fields: dict[str, Any] = {"progress_done": done}
    if total is not None:
        fields["progress_total"] = total
    Job.objects.filter(pk=job_id).update(**fields)


def current_job_id() -> str | None:
    return _current.get()


class DatabaseBackend(BaseTaskBackend):
    supports_defer = True
    supports_get_result = True
    supports_priority = True

    def enqueue(self, task: Task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        user, description = _enqueuing.get()
        max_attempts, _give_up = _policies.get(task.module_path, (1, None))
        job = Job.objects.create(
            id=get_random_string(32),
            task_path=task.module_path,
            description=description[:200],
            args=normalize_json(list(args)),
            kwargs=normalize_json(dict(kwargs)),
            queue_name=task.queue_name,
            priority=task.priority,
            backend=self.alias,
            run_after=task.run_after or timezone.now(),
            max_attempts=max_attempts,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        bus.publish(JOBS_TOPIC)  # wakes a worker's jobs lane when this commits
        return to_result(job, task)

    def get_result(self, result_id: str) -> TaskResult:
        job = Job.objects.filter(pk=result_id).first()
        if job is None:
            raise TaskResultDoesNotExist(result_id)
        return to_result(job)


def _task(job: Job) -> Task:
    return import_string(job.task_path)


def to_result(job: Job, task: Task | None = None) -> TaskResult:
    result = TaskResult(
        task=task or _task(job),
        id=job.pk,
        status=TaskResultStatus(job.status),
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        last_attempted_at=job.last_attempted_at,
        args=job.args,
        kwargs=job.kwargs,
        backend=job.backend,
        errors=[
            TaskError(exception_class_path=e["exception_class_path"], traceback=e["traceback"])
            for e in job.errors
        ],
        worker_ids=list(job.worker_ids),
    )
    object.__setattr__(result, "_return_value", job.return_value)
    return result


def backoff(attempts: int) -> dt.timedelta:
    """Before the next try of a failed job: 5 s, 10 s, 20 s … at most 10 minutes."""
    return dt.timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


def _claim_sql() -> str:
    qn = connection.ops.quote_name
    table = qn(Job._meta.db_table)
    free = (
        f"(({qn('status')} = 'READY' AND {qn('run_after')} <= %s) OR "
        f"({qn('status')} = 'RUNNING' AND {qn('leased_until')} < %s))"
    )
    skip = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    return (
        f"UPDATE {table} SET {qn('status')} = 'RUNNING', {qn('leased_by')} = %s, "  # noqa: S608
        f"{qn('leased_until')} = %s, {qn('attempts')} = {qn('attempts')} + 1, "
        f"{qn('last_attempted_at')} = %s, "
        f"{qn('started_at')} = COALESCE({qn('started_at')}, %s) "
        f"WHERE {qn('id')} = (SELECT {qn('id')} FROM {table} WHERE {free} "
        f"ORDER BY {qn('priority')} DESC, {qn('run_after')}, {qn('enqueued_at')} LIMIT 1{skip}) "
        f"AND {free} RETURNING {qn('id')}"
    )


def claim(worker: str, now: dt.datetime | None = None) -> Job | None:
    """Lease the next job that is ready, or whose worker's lease ran out."""
    now = now or timezone.now()
    db = connection.ops.adapt_datetimefield_value
    until = now + dt.timedelta(seconds=lease_seconds())
    with transaction.atomic():
        row = fastsql.fetchone(
            _claim_sql(), [worker, db(until), db(now), db(now), db(now), db(now), db(now), db(now)]
        )
    return None if row is None else Job.objects.get(pk=row[0])


def run_next(worker: str, *, leases=None) -> bool:
    """Claim and run one job; False when none was ready."""
    job = claim(worker)
    if job is None:
        return False
    if leases is not None:
        leases.hold(Job._meta.db_table, "jobs", [job.pk])
    try:
        execute(job, worker)
    finally:
        if leases is not None:
            leases.release(Job._meta.db_table, "jobs")
    return True


def execute(job: Job, worker: str) -> Job:
    """Run a claimed job and record how it ended."""
    max_attempts, give_up = _policies.get(job.task_path, (job.max_attempts, None))
    worker_ids = [*job.worker_ids, worker]
    if job.attempts > max(job.max_attempts, 1):
        # Its worker died on the last attempt it had.
        _end(job, worker, TaskResultStatus.FAILED, error=_interrupted())
        if give_up is not None:
            job.refresh_from_db()
            give_up(job)
        return job
    Job.objects.filter(pk=job.pk).update(worker_ids=worker_ids)
    token = _current.set(job.pk)
    try:
        t = _task(job)
        if t.takes_context:
            value = t.call(TaskContext(task_result=to_result(job, t)), *job.args, **job.kwargs)
        else:
            value = t.call(*job.args, **job.kwargs)
    except Exception as exc:  # noqa: BLE001 — recorded on the job
        log.exception("job %s (%s) failed", job.pk, job.task_path)
        error = _error(exc)
        if not isinstance(exc, Permanent) and job.attempts < job.max_attempts:
            Job.objects.filter(pk=job.pk, leased_by=worker).update(
                status=TaskResultStatus.READY,
                run_after=timezone.now() + backoff(job.attempts),
                leased_by="",
                leased_until=None,
                errors=[*job.errors, error],
            )
        else:
            _end(job, worker, TaskResultStatus.FAILED, error=error)
            if give_up is not None:
                job.refresh_from_db()
                give_up(job)
    else:
        _end(job, worker, TaskResultStatus.SUCCESSFUL, value=normalize_json(value))
    finally:
        _current.reset(token)
    job.refresh_from_db()
    return job


def _interrupted() -> dict:
    return {
        "exception_class_path": "xinan.core.jobs.Interrupted",
        "traceback": "",
        "message": "工作进程中断，已达最多尝试次数",
    }


def _error(exc: BaseException) -> dict:
    cls = type(exc)
    return {
        "exception_class_path": f"{cls.__module__}.{cls.__qualname__}",
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
        "message": str(getattr(exc, "message", exc))[:500],
    }


def _end(job: Job, worker: str, status, *, value=None, error=None) -> None:
    Job.objects.filter(pk=job.pk).update(
        status=status,
        finished_at=timezone.now(),
        leased_by="",
        leased_until=None,
        return_value=value,
        errors=[*job.errors, error] if error else job.errors,
    )


def run_now(result: TaskResult, worker: str = "inline") -> Job:
    """Run an enqueued job in this thread, now, through the same path a worker takes (tests,
    and settings that ask for inline work)."""
    job = Job.objects.get(pk=result.id)
    Job.objects.filter(pk=job.pk).update(
        status=TaskResultStatus.RUNNING,
        leased_by=worker,
        attempts=job.attempts + 1,
        started_at=job.started_at or timezone.now(),
        last_attempted_at=timezone.now(),
    )
    job.refresh_from_db()
    return execute(job, worker)


def visible_to(user):
    """The jobs a user may see: their own; every job for a sysadmin."""
    qs = Job.objects.select_related("created_by")
    if user.is_superuser or "sysadmin" in user.roles():
        return qs
    return qs.filter(created_by=user)
