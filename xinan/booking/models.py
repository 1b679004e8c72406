"""Counsellor availability, appointments with their reminders, vouchers (嘉心券) and budgets.

Times are stored in UTC and shown in Asia/Shanghai. Double booking is refused by the database:
a partial unique index on (counsellor, starts_at) on every database, and on PostgreSQL also an
exclusion constraint on overlapping time ranges (migration 0002, btree_gist).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Mode(models.TextChoices):
    SITE = "site", _("到站点面谈")
    PHONE = "phone", _("电话咨询")
    VIDEO = "video", _("视频咨询")


class Availability(models.Model):
    """A weekly rule: on `weekday`, from `start` to `end` (local time), slots of
    `slot_minutes` with `buffer_minutes` between them, at most `daily_limit` a day."""

    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability"
    )
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices, default=Mode.SITE)
    site = models.ForeignKey(
        "network.ServiceSite",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="availability",
        verbose_name=_("站点"),
    )
    video_url = models.URLField(_("视频会议链接"), blank=True)
    weekday = models.PositiveSmallIntegerField(_("星期"))
    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))
    slot_minutes = models.PositiveSmallIntegerField(_("每次时长（分钟）"), default=50)
    buffer_minutes = models.PositiveSmallIntegerField(_("间隔（分钟）"), default=10)
    daily_limit = models.PositiveSmallIntegerField(_("每日上限"), default=6)
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("截止日期"), null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name = _("可预约时间")
        verbose_name_plural = _("可预约时间")

    def __str__(self) -> str:
        return f"{self.counsellor} {self.weekday} {self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def weekday_label(self) -> str:
        from xinan.network.models import WEEKDAYS

        return str(WEEKDAYS[self.weekday])


class AvailabilityException(models.Model):
    """A day (or part of it) the counsellor is away: no slots start inside it."""

    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    date = models.DateField(_("日期"))
    start = models.TimeField(_("开始"), null=True, blank=True)
    end = models.TimeField(_("结束"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("请假/停诊")
        verbose_name_plural = _("请假/停诊")
        indexes = [models.Index(fields=["counsellor", "date"], name="avail_exc_idx")]

    def __str__(self) -> str:
        return f"{self.counsellor} {self.date}"


class Status(models.TextChoices):
    BOOKED = "booked", _("已预约")
    ARRIVED = "arrived", _("已到达")
    COMPLETED = "completed", _("已完成")
    NO_SHOW = "no_show", _("未到")
    CANCELLED = "cancelled", _("已取消")


# Statuses that hold the counsellor's time.
HOLDING = [Status.BOOKED, Status.ARRIVED, Status.COMPLETED]


class Appointment(models.Model):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    site = models.ForeignKey(
        "network.ServiceSite", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices)
    service = models.CharField(_("服务"), max_length=30, default="counselling")
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.BOOKED
    )
    area_code = models.CharField(max_length=15, db_index=True)  # the person's home at booking
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    video_url = models.URLField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    arrived_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    rating = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    feedback = models.TextField(_("评价"), blank=True)
    rescheduled_from = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        constraints = [
            # The slot claim: one holding appointment per counsellor and start time, on any DB.
            models.UniqueConstraint(
                fields=["counsellor", "starts_at"],
                condition=Q(status__in=["booked", "arrived", "completed"]),
                name="appointment_slot_claim",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["counsellor", "starts_at"], name="appt_counsellor_idx")]

    def __str__(self) -> str:
        return f"{self.counsellor} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code


class Reminder(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    due_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    lead = models.CharField(max_length=10)  # "24h", "2h"

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(sent_at__isnull=True), name="reminder_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.appointment_id} {self.lead}"


# ---------------------------------------------------------------- vouchers


class VoucherBudget(models.Model):
    """Money an area sets aside for vouchers in a period, kept in integer cents (分)."""

    area = models.ForeignKey("core.Area", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("名称"), max_length=100)
    period_start = models.DateField(_("开始日期"))
    period_end = models.DateField(_("结束日期"))
    total_cents = models.BigIntegerField(_("预算（分）"))
    issued_cents = models.BigIntegerField(default=0)  # value of vouchers out (issued+redeemed)
    redeemed_cents = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("心理服务券预算")
        verbose_name_plural = _("心理服务券预算")
        constraints = [
            models.CheckConstraint(
                condition=Q(issued_cents__lte=models.F("total_cents"))
                & Q(redeemed_cents__lte=models.F("issued_cents"))
                & Q(redeemed_cents__gte=0),
                name="budget_within_total",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def available_cents(self) -> int:
        return self.total_cents - self.issued_cents

    def yuan(self, field: str) -> str:
        cents = getattr(self, field)
        return f"{cents // 100}.{cents % 100:02d}"

    @property
    def total_yuan(self) -> str:
        return self.yuan("total_cents")

    @property
    def issued_yuan(self) -> str:
        return self.yuan("issued_cents")

    @property
    def redeemed_yuan(self) -> str:
        return self.yuan("redeemed_cents")

    @property
    def available_yuan(self) -> str:
        return self.yuan("available_cents")


class VoucherRule(models.Model):
    """Issue a voucher from `budget` to a resident who screens positive and carries `tag`
    (any resident when empty)."""

    budget = models.ForeignKey(VoucherBudget, on_delete=models.CASCADE, related_name="rules")
    tag = models.ForeignKey(
        "people.PopulationTag", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    value_cents = models.PositiveIntegerField(_("面值（分）"))
    valid_days = models.PositiveSmallIntegerField(_("有效天数"), default=90)
    services = models.CharField(_("可用服务"), max_length=200, default=",counselling,")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("发券规则")
        verbose_name_plural = _("发券规则")

    def __str__(self) -> str:
        return f"{self.budget} {self.value_cents}"


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", _("未使用")
    REDEEMED = "redeemed", _("已使用")
    EXPIRED = "expired", _("已过期")


class Voucher(models.Model):
    code = models.CharField(_("券号"), max_length=20, unique=True)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    budget = models.ForeignKey(VoucherBudget, on_delete=models.PROTECT, related_name="vouchers")
    area = models.ForeignKey("core.Area", on_delete=models.PROTECT, related_name="+")
    value_cents = models.PositiveIntegerField(_("面值（分）"))
    services = models.CharField(_("可用服务"), max_length=200)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("有效期至"), db_index=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED
    )
    rule = models.ForeignKey(VoucherRule, on_delete=models.SET_NULL, null=True, blank=True)
    source_event_id = models.BigIntegerField(null=True, blank=True, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    appointment = models.OneToOneField(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="voucher"
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("心理服务券")
        verbose_name_plural = _("心理服务券")

    def __str__(self) -> str:
        return self.code

    @property
    def audit_area_code(self) -> str:
        return self.area_id

    @property
    def value_yuan(self) -> str:
        return f"{self.value_cents // 100}.{self.value_cents % 100:02d}"
