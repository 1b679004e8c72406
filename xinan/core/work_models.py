"""The worker's rows: what each consumer still owes (Delivery), which periodic slot ran
(SweepRun), and durable jobs (Job, behind Django's `django.tasks`). See xinan/core/worker.py.

Every row a worker takes carries a lease (`leased_by`, `leased_until`), taken with a
conditional UPDATE and renewed by the worker's heartbeat; a worker that dies stops renewing,
and another takes the row over once the lease has run out (seconds, not minutes).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ALL_CONSUMERS = "*"  # a bulk delivery's consumer: every consumer of the event's topic


class Lane(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    DEFAULT = "default", _("常规")
    BULK = "bulk", _("批量")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待处理")
    PARKED = "parked", _("已搁置")


class Delivery(models.Model):
    """One event owed to one consumer, or to several (consumer "*"): all of its topic's
    consumers of the lane, or of every lane for a bulk event. Written with the event
    (outbox.emit / emit_many), deleted in the consumers' own transaction once processed; one
    that keeps failing
    is parked with its error for a sysadmin to read and retry (Django admin)."""

    event = models.ForeignKey(
        "core.OutboxEvent",
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("事件"),
    )
    consumer = models.CharField(_("消费者"), max_length=120)
    lane = models.CharField(_("通道"), max_length=10, choices=Lane.choices)
    state = models.CharField(
        _("状态"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    available_at = models.DateTimeField(_("可处理时间"), default=timezone.now)
    leased_by = models.CharField(_("租用者（工作进程）"), max_length=120, blank=True)
    leased_until = models.DateTimeField(_("租约到期"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("事件投递")
        verbose_name_plural = _("事件投递")
        indexes = [
            models.Index(
                fields=["lane", "id"],
                condition=Q(state="pending"),
                name="delivery_pending_idx",
            )
        ]

    def __str__(self) -> str:
        consumer = _("所有消费者") if self.consumer == ALL_CONSUMERS else self.consumer
        return f"{consumer} ← #{self.event_id}"


class SweepRun(models.Model):
    """One slot of one periodic sweep: the unique (name, slot) makes it fire once across
    workers; a run whose worker died (lease out, not finished) is taken over."""

    name = models.CharField(_("定时任务"), max_length=120)
    slot = models.DateTimeField(_("时段"))
    leased_by = models.CharField(_("租用者（工作进程）"), max_length=120, blank=True)
    leased_until = models.DateTimeField(_("租约到期"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始"), default=timezone.now)
    finished_at = models.DateTimeField(_("结束"), null=True, blank=True)
    handled = models.IntegerField(_("处理条数"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-slot"]
        verbose_name = _("定时任务运行")
        verbose_name_plural = _("定时任务运行")
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="sweep_run_once_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M:%S}"


class JobStatus(models.TextChoices):
    # The values of django.tasks.TaskResultStatus.
    READY = "READY", _("排队中")
    RUNNING = "RUNNING", _("进行中")
    FAILED = "FAILED", _("失败")
    SUCCESSFUL = "SUCCESSFUL", _("已完成")


class Job(models.Model):
    """A durable task (xinan/core/jobs.py): enqueued through `django.tasks`, run by a worker."""

    id = models.CharField(_("编号"), primary_key=True, max_length=64)
    task_path = models.CharField(_("任务"), max_length=200)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    args = models.JSONField(_("位置参数"), default=list)
    kwargs = models.JSONField(_("关键字参数"), default=dict)
    queue_name = models.CharField(_("队列"), max_length=60, default="default")
    priority = models.IntegerField(_("优先级"), default=0)
    backend = models.CharField(_("任务后端"), max_length=60, default="default")
    status = models.CharField(
        _("状态"), max_length=12, choices=JobStatus.choices, default=JobStatus.READY
    )
    run_after = models.DateTimeField(_("最早开始"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    max_attempts = models.PositiveIntegerField(_("最多尝试次数"), default=1)
    leased_by = models.CharField(_("租用者（工作进程）"), max_length=120, blank=True)
    leased_until = models.DateTimeField(_("租约到期"), null=True, blank=True)
    progress_done = models.BigIntegerField(_("已处理"), default=0)
    progress_total = models.BigIntegerField(_("总数"), null=True, blank=True)
    return_value = models.JSONField(_("返回值"), null=True, blank=True)
    errors = models.JSONField(_("错误记录"), default=list, blank=True)
    worker_ids = models.JSONField(_("运行过的工作进程"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发起人"),
    )
    enqueued_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    last_attempted_at = models.DateTimeField(_("最近尝试时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        ordering = ["-enqueued_at"]
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        indexes = [models.Index(fields=["status", "run_after"], name="job_due_idx")]

    def __str__(self) -> str:
        return self.description or self.task_path

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, int(self.progress_done * 100 / self.progress_total))

    @property
    def last_error(self) -> str:
        return self.errors[-1]["message"] if self.errors else ""
