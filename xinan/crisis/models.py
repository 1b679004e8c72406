"""Crisis alerts: the rules that raise them, the alerts and their timelines, duty rosters,
hotline calls and callbacks.

One open alert per subject (a person, an anonymous assessment, a phone number) and trigger: a
repeat appends an event to the open alert instead of creating another. A partial unique
constraint makes that an invariant of the database, not only of the service code.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib.crypto import EncryptedTextField

DEFAULT_ACK_MINUTES = {"red": 5, "orange": 30, "yellow": 24 * 60}


class Level(models.TextChoices):
    RED = "red", _("红色")
    ORANGE = "orange", _("橙色")
    YELLOW = "yellow", _("黄色")


LEVEL_RANK = {Level.RED: 3, Level.ORANGE: 2, Level.YELLOW: 1}


def ack_minutes(level: str) -> int:
    configured = getattr(settings, "CRISIS_ACK_MINUTES", None) or {}
    return int(configured.get(level, DEFAULT_ACK_MINUTES[level]))


class Trigger(models.TextChoices):
    CRITICAL_ITEM = "critical_item", _("危机条目")
    SEVERE_BAND = "severe_band", _("严重分级")
    RAPID_WORSENING = "rapid_worsening", _("快速恶化")
    HOTLINE_HIGH_RISK = "hotline_high_risk", _("热线高危来电")
    CALLBACK_REQUEST = "callback_request", _("居民回电请求")
    MANUAL = "manual", _("人工上报")


class AlertRule(models.Model):
    """When to raise an alert and at which level; seeded with defaults, edited in admin.

    `instrument` is matched ignoring case, dashes and underscores (PHQ-9 = phq9 = phq_9);
    empty means any instrument. `item` is the item number (critical_item); `bands` is a
    comma-separated list of band codes or labels (severe_band); `threshold` the worsening in
    points against the previous total (rapid_worsening). An empty level on a critical_item rule
    takes the level the instrument file gives the item.
    """

    key = models.SlugField(_("规则代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    trigger = models.CharField(_("触发类型"), max_length=20, choices=Trigger.choices)
    instrument = models.CharField(_("量表"), max_length=40, blank=True)
    item = models.CharField(_("条目"), max_length=20, blank=True)
    bands = models.CharField(_("分级"), max_length=200, blank=True)
    threshold = models.PositiveSmallIntegerField(_("恶化分值阈值"), null=True, blank=True)
    level = models.CharField(
        _("预警级别"),
        max_length=10,
        choices=Level.choices,
        blank=True,
        help_text=_("危机条目规则留空时按量表定义的级别"),
    )
    active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        ordering = ["sort_order", "key"]
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    OPEN = "open", _("待确认")
    ACKNOWLEDGED = "acknowledged", _("处置中")
    CLOSED = "closed", _("已关闭")


class Source(models.TextChoices):
    ASSESSMENT = "assessment", _("心理测评")
    HOTLINE = "hotline", _("热线来电")
    CALLBACK = "callback", _("回电请求")
    MANUAL = "manual", _("人工上报")


class Disposition(models.TextChoices):
    SAFE_WITH_PLAN = "safe_with_plan", _("安全，已制定安全计划")
    HOSPITAL = "hospital", _("已转介医院")
    POLICE_120 = "police_120", _("已联动110/120")
    UNREACHABLE = "unreachable", _("无法联系")


class AlertQuerySet(models.QuerySet):
    def active(self):
        return self.exclude(status=Status.CLOSED)

    def overdue(self, now: dt.datetime):
        """Open alerts past their deadline that someone untried may still take; an exhausted
        one waits for a new person on duty instead (`waiting_for_duty`)."""
        return self.filter(status=Status.OPEN, ack_deadline__lte=now, exhausted=False)

    def waiting_for_duty(self):
        """Open, unacknowledged and held by nobody on shift: exhausted, or with the fallback."""
        return self.filter(status=Status.OPEN).filter(
            models.Q(exhausted=True) | models.Q(via_fallback=True)
        )


class Alert(models.Model):
    subject_key = models.CharField(_("对象"), max_length=80)
    trigger_key = models.CharField(_("触发规则"), max_length=80)
    trigger = models.CharField(_("触发类型"), max_length=20, choices=Trigger.choices)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    assessment_id = models.BigIntegerField(_("测评编号"), null=True, blank=True)
    area_code = models.CharField(_("区划代码"), max_length=15, blank=True, db_index=True)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    # free text (a manual alert's reason, possibly clinical): encrypted at rest like notes
    summary = EncryptedTextField(_("摘要"))
    raised_at = models.DateTimeField(_("预警时间"), default=timezone.now)
    ack_deadline = models.DateTimeField(_("确认时限"))
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_alerts",
        verbose_name=_("当前负责人"),
    )
    tried_user_ids = models.JSONField(default=list, blank=True)
    escalations = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    exhausted = models.BooleanField(_("已无可升级人员"), default=False)
    via_fallback = models.BooleanField(_("无人值班，已交后备负责人"), default=False)
    repeats = models.PositiveIntegerField(_("重复触发次数"), default=0)
    risk_level = models.CharField(_("风险评估"), max_length=10, choices=Level.choices, blank=True)
    disposition = models.CharField(
        _("处置结果"), max_length=20, choices=Disposition.choices, blank=True
    )
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_reason = EncryptedTextField(_("关闭理由"), blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("危机预警")
        verbose_name_plural = _("危机预警")
        constraints = [
            models.UniqueConstraint(
                fields=["subject_key", "trigger_key"],
                condition=~Q(status="closed"),
                name="crisis_one_open_alert_per_subject_trigger",
            )
        ]
        indexes = [models.Index(fields=["status", "ack_deadline"], name="crisis_alert_due_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_level_display()} {self.summary}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code

    @property
    def waiting_for_duty(self) -> bool:
        return self.status == Status.OPEN and (self.exhausted or self.via_fallback)

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return (
            self.status == Status.OPEN
            and not self.exhausted
            and (now or timezone.now()) >= self.ack_deadline
        )

    def is_late(self, now: dt.datetime | None = None) -> bool:
        """Not acknowledged within its level's first deadline (escalation resets the current
        deadline; the board keeps showing it as overdue until someone takes it)."""
        now = now or timezone.now()
        first = self.raised_at + dt.timedelta(minutes=ack_minutes(self.level))
        return self.status == Status.OPEN and (now >= self.ack_deadline or now >= first)


class EventKind(models.TextChoices):
    RAISED = "raised", _("触发预警")
    REPEATED = "repeated", _("再次触发")
    DELIVERED = "delivered", _("已推送")
    ESCALATED = "escalated", _("超时升级")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    CONTACT = "contact", _("联系尝试")
    RISK = "risk", _("风险评估")
    DISPOSITION = "disposition", _("处置结果")
    NOTE = "note", _("备注")
    CLOSED = "closed", _("关闭")
    REOPEN_REFUSED = "reopen_refused", _("拒绝重新打开")
    REVEALED = "revealed", _("查看完整号码")
    HANDED_OVER = "handed_over", _("转交")
    CALLBACK_OVERDUE = "callback_overdue", _("回电逾期升级")


class AlertEvent(models.Model):
    """The alert's timeline, append-only. `source` makes processing an input idempotent."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事件"), max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = EncryptedTextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=80, blank=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("预警事件")
        verbose_name_plural = _("预警事件")
        constraints = [
            # One input (an assessment, a call) is applied to one alert once, even when two
            # workers race on a stale claim.
            models.UniqueConstraint(
                fields=["source"],
                condition=~Q(source="") & Q(kind__in=["raised", "repeated"]),
                name="crisis_event_source_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.at:%H:%M:%S}"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", _("已接通")
    NO_ANSWER = "no_answer", _("无人接听")
    WRONG_NUMBER = "wrong_number", _("号码错误")
    VISITED = "visited", _("上门见到本人")
    FAMILY = "family", _("联系到家属")


class DutyShift(models.Model):
    """One crisis worker on duty for an area (and everything below it) between two times."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="duty_shifts",
        verbose_name=_("值班人员"),
    )
    area = models.ForeignKey(
        "core.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("负责区域")
    )
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))

    class Meta:
        ordering = ["starts_at", "area_id"]
        verbose_name = _("值班班次")
        verbose_name_plural = _("值班班次")
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="crisis_shift_time_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="crisis_shift_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.area} {self.starts_at:%m-%d %H:%M}–{self.ends_at:%H:%M}"

    def clean(self):
        """Admin edits get the same refusal as the roster page (services.create_shift)."""
        from django.core.exceptions import ValidationError

        if self.starts_at and self.ends_at:
            if self.ends_at <= self.starts_at:
                raise ValidationError(_("结束时间必须晚于开始时间"))
            if self.user_id and (
                DutyShift.objects.filter(
                    user_id=self.user_id, starts_at__lt=self.ends_at, ends_at__gt=self.starts_at
                )
                .exclude(pk=self.pk)
                .exists()
            ):
                raise ValidationError(_("该人员在该时段已有班次，班次不能重叠"))


class CallTopic(models.TextChoices):
    EMOTION = "emotion", _("情绪困扰")
    FAMILY = "family", _("家庭关系")
    STUDY_WORK = "study_work", _("学业与工作")
    SUICIDE = "suicide", _("自杀自伤")
    MENTAL_ILLNESS = "mental_illness", _("精神疾病相关")
    OTHER = "other", _("其他")


class CallRisk(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")


class HotlineCall(models.Model):
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    area_code = models.CharField(_("区划代码"), max_length=15, blank=True, db_index=True)
    caller_phone = EncryptedTextField(_("来电号码"), blank=True)
    caller_phone_masked = models.CharField(_("来电号码"), max_length=20, blank=True)
    received_at = models.DateTimeField(_("来电时间"), default=timezone.now, db_index=True)
    wait_seconds = models.PositiveIntegerField(_("应答等待（秒）"), default=0)
    duration_seconds = models.PositiveIntegerField(_("通话时长（秒）"), default=0)
    topic = models.CharField(_("主题"), max_length=20, choices=CallTopic.choices)
    risk = models.CharField(_("风险等级"), max_length=10, choices=CallRisk.choices)
    notes = EncryptedTextField(_("咨询员记录"), blank=True)
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("热线来电")
        verbose_name_plural = _("热线来电")

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.get_topic_display()}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code


class CallbackQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(task__status="open")

    def missed(self, now: dt.datetime):
        return self.pending().filter(task__due_at__lt=now)


class CallbackTask(models.Model):
    """Call someone back: after a high-risk call, or when a resident asks from the crisis screen.

    The crisis half of a loop task (xinan/cases/callbacks.py says why two rows): the number
    (encrypted), the resident's message, the call and the alert, what the call achieved and
    how often it escalated. Due time, status, holder and completion live on `task` only; the
    properties below read them there.
    """

    task = models.OneToOneField(
        "cases.Task", on_delete=models.PROTECT, related_name="crisis_callback"
    )
    area_code = models.CharField(_("区划代码"), max_length=15, blank=True, db_index=True)
    phone = EncryptedTextField(_("电话"), blank=True)
    phone_masked = models.CharField(_("电话"), max_length=20, blank=True)
    note = EncryptedTextField(_("留言"), blank=True)
    call = models.ForeignKey(
        HotlineCall, on_delete=models.CASCADE, null=True, blank=True, related_name="callbacks"
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="callbacks"
    )
    created_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(_("结果"), max_length=20, choices=ContactOutcome.choices, blank=True)
    escalations = models.PositiveSmallIntegerField(_("逾期升级次数"), default=0)

    objects = CallbackQuerySet.as_manager()

    class Meta:
        ordering = ["task__due_at", "id"]
        verbose_name = _("回电任务")
        verbose_name_plural = _("回电任务")

    def __str__(self) -> str:
        return f"{self.phone_masked} {self.due_at:%m-%d %H:%M}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code

    @property
    def due_at(self) -> dt.datetime:
        return self.task.due_at

    @property
    def done_at(self) -> dt.datetime | None:
        return self.task.done_at

    @property
    def done_by(self):
        return self.task.done_by

    @property
    def assigned_to(self):
        return self.task.assignee

    @property
    def assigned_to_id(self) -> int | None:
        return self.task.assignee_id

    @property
    def result(self) -> str:
        """What the call achieved: the desk's outcome, or the worklist's note."""
        return self.get_outcome_display() if self.outcome else self.task.result


class FallbackMode(models.TextChoices):
    LEAD = "lead", _("指定负责人（如区危机干预队负责人）")
    AREA_ADMINS = "area_admins", _("上级区域管理员")


class CrisisFallback(models.Model):
    """Who receives an alert when no shift covers the area: a named lead or the area admins.

    Applies to the area and everything below it; the nearest configured ancestor wins. Without
    any configuration an alert goes to the area admins nearest above the alert's area.
    """

    area = models.OneToOneField(
        "core.Area", on_delete=models.CASCADE, related_name="+", verbose_name=_("适用区域")
    )
    mode = models.CharField(
        _("后备方式"), max_length=20, choices=FallbackMode.choices, default=FallbackMode.LEAD
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("后备负责人"),
    )

    class Meta:
        verbose_name = _("无人值班时的后备负责人")
        verbose_name_plural = _("无人值班时的后备负责人")

    def __str__(self) -> str:
        return f"{self.area} → {self.user or self.get_mode_display()}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.mode == FallbackMode.LEAD and not self.user_id:
            raise ValidationError(_("请指定后备负责人"))
