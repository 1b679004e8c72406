"""Assessments (one scored response to one instrument), drafts, campaigns and import jobs."""

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DRAFT_LIFETIME = dt.timedelta(days=7)


def _token() -> str:
    return secrets.token_urlsafe(24)


class Mode(models.TextChoices):
    SELF = "self", _("自评")
    INTERVIEW = "interview", _("他评访谈")
    PAPER = "paper", _("纸质录入")
    IMPORT = "import", _("批量导入")


class Campaign(models.Model):
    """A screening drive (筛查活动): an area, who is targeted, which scales, when."""

    name = models.CharField(_("活动名称"), max_length=120)
    area = models.ForeignKey(
        "core.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("目标地区")
    )
    tags = models.ManyToManyField(
        "people.PopulationTag", blank=True, related_name="+", verbose_name=_("目标人群")
    )
    age_min = models.PositiveSmallIntegerField(_("最小年龄"), null=True, blank=True)
    age_max = models.PositiveSmallIntegerField(_("最大年龄"), null=True, blank=True)
    instruments = models.JSONField(_("量表"), default=list)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    token = models.CharField(max_length=40, unique=True, default=_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("筛查活动")
        verbose_name_plural = _("筛查活动")

    def __str__(self) -> str:
        return self.name

    @property
    def audit_area_code(self) -> str:
        return self.area_id

    def is_open(self, day: dt.date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.starts_on <= day <= self.ends_on


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("处理中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ImportJob(models.Model):
    """One uploaded file of paper results, processed in chunks with a progress count."""

    instrument = models.CharField(_("量表"), max_length=40)
    file_name = models.CharField(_("文件名"), max_length=255)
    path = models.CharField(max_length=500)
    status = models.CharField(
        _("状态"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已处理"), default=0)
    rows_imported = models.PositiveIntegerField(_("已导入"), default=0)
    rows_skipped = models.PositiveIntegerField(_("重复跳过"), default=0)
    rows_rejected = models.PositiveIntegerField(_("未通过"), default=0)
    report = models.JSONField(_("校验报告"), default=list)
    rejected_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    site = models.CharField(_("地点"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.rows_done / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


class AssessmentQuerySet(models.QuerySet):
    def for_person(self, person):
        return self.filter(person=person).order_by("-submitted_at", "-id")

    def positive(self):
        return self.filter(positive=True)


class Assessment(models.Model):
    """One scored response. Scores are copied from the engine at submission and never recomputed.

    `area_code` is where it happened, kept as a string so re-districting leaves history alone.
    """

    # Indexes: every one is written on each submission, so none is redundant or mostly NULL
    # (assess_person_idx leads with person; campaign and import_job have partial ones).
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assessments",
        verbose_name=_("居民"),
        db_index=False,
    )
    instrument = models.CharField(_("量表"), max_length=40)
    version = models.CharField(_("版本"), max_length=20)
    answers = models.JSONField(_("作答"), default=dict)
    total = models.FloatField(_("总分"), null=True, blank=True)
    band = models.CharField(_("分级"), max_length=40, blank=True)
    band_label = models.CharField(_("分级说明"), max_length=120, blank=True)
    positive = models.BooleanField(_("筛查阳性"), default=False)
    critical = models.JSONField(_("危机条目"), default=list, blank=True)
    subscales = models.JSONField(_("分量表"), default=dict, blank=True)
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    area_code = models.CharField(_("区划代码"), max_length=15, blank=True)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assessments",
        verbose_name=_("筛查活动"),
        db_index=False,
    )
    import_job = models.ForeignKey(
        ImportJob,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    site = models.CharField(_("地点"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("录入时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("测评时间"), default=timezone.now)
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("测评记录")
        verbose_name_plural = _("测评记录")
        indexes = [
            models.Index(fields=["person", "instrument", "submitted_at"], name="assess_person_idx"),
            models.Index(fields=["area_code", "submitted_at"], name="assess_area_idx"),
            models.Index(
                fields=["campaign"],
                name="assess_campaign_idx",
                condition=models.Q(campaign__isnull=False),
            ),
            models.Index(
                fields=["import_job"],
                name="assess_import_idx",
                condition=models.Q(import_job__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} #{self.pk}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code

    @property
    def anonymous(self) -> bool:
        return self.person_id is None


class AssessmentDraft(models.Model):
    """A self-assessment in progress, found again through the random token in a cookie."""

    token = models.CharField(max_length=40, unique=True, default=_token)
    instrument = models.CharField(max_length=40)
    version = models.CharField(max_length=20)
    answers = models.JSONField(default=dict)
    current_item = models.PositiveSmallIntegerField(default=0)
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    consented_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("测评草稿")
        verbose_name_plural = _("测评草稿")

    def __str__(self) -> str:
        return f"{self.instrument} draft"

    def save(self, *args, **kwargs):
        if self.expires_at is None:
            self.expires_at = timezone.now() + DRAFT_LIFETIME
        super().save(*args, **kwargs)


def _invitation_token() -> str:
    # 128 bits: unguessable, and short enough for an SMS.
    return secrets.token_urlsafe(16)


class InvitationRun(models.Model):
    """One click on "issue invitations": how many people it found to invite and how far it got.

    Issuing runs in the background for a district's 100,000 people; the campaign page shows
    the latest run's progress. A run that stops early leaves no gap a second run cannot fill
    (issuing skips people already invited)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitation_runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("邀请发放记录")
        verbose_name_plural = _("邀请发放记录")

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.issued}/{self.total}"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def percent(self) -> int:
        if self.finished and not self.error:
            return 100
        return int(100 * self.issued / self.total) if self.total else 0


class CampaignInvitation(models.Model):
    """One person invited to a campaign, with a personal link (a bearer token: no login).

    `area_code` is the person's home when invited, kept as a string like Assessment.area_code.
    `assessments` are those submitted through the link; `completed_at` is set when every
    instrument of the campaign has one, and `positive` when any of them screened positive.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("筛查活动")
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("居民")
    )
    token = models.CharField(max_length=40, unique=True, default=_invitation_token)
    area_code = models.CharField(_("区划代码"), max_length=15)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("邀请时间"), default=timezone.now)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    positive = models.BooleanField(_("筛查阳性"), default=False)
    assessments = models.ManyToManyField(Assessment, blank=True, related_name="+")

    class Meta:
        verbose_name = _("筛查邀请")
        verbose_name_plural = _("筛查邀请")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="invitation_once")
        ]
        indexes = [models.Index(fields=["campaign", "area_code"], name="invitation_area_idx")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.person_id}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code
