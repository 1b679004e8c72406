"""Areas, institutions, the audit log, the outbox and access grants (break-the-glass among
them); the worker's own rows (deliveries, sweep runs, jobs) are in xinan/core/work_models.py."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib import areacode
from xinan.core.lib.phone import mask_in_text


class AreaLevel(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区")
    TOWN = "town", _("街镇")
    VILLAGE = "village", _("村居")
    GRID = "grid", _("网格")


# Significant digits of the code at each level: a scope is a prefix of this length
# (the arithmetic itself is xinan/core/lib/areacode.py).
LEVEL_PREFIX_LENGTH = {AreaLevel(level): n for level, n in areacode.LEVEL_PREFIX_LENGTH.items()}
LEVEL_PARENT = {
    AreaLevel.DISTRICT: AreaLevel.CITY,
    AreaLevel.TOWN: AreaLevel.DISTRICT,
    AreaLevel.VILLAGE: AreaLevel.TOWN,
    AreaLevel.GRID: AreaLevel.VILLAGE,
}


class AreaQuerySet(models.QuerySet):
    def current(self, on: dt.date | None = None):
        on = on or timezone.localdate()
        return self.filter(models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=on)).filter(
            valid_from__lte=on
        )

    def within(self, area: "Area"):
        return self.filter(code__startswith=area.prefix)


class Area(models.Model):
    """One node of 市 → 区 → 街镇 → 村居 → 网格, keyed by its statistical division code.

    Codes are 12 digits (统计用区划代码) padded with zeros at each level; a grid adds a 3-digit
    suffix to its village's code. The code's significant prefix is the whole subtree, so scope
    and roll-ups are prefix operations.
    """

    code = models.CharField(_("区划代码"), max_length=15, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=AreaLevel.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级区划"),
    )
    valid_from = models.DateField(_("生效日期"), default=dt.date(2000, 1, 1))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)
    hotline = models.CharField(_("本地心理援助热线"), max_length=30, blank=True)
    booking_url = models.URLField(
        _("心理咨询预约链接"),
        blank=True,
        help_text=_(
            "居民在线预约心理咨询的网址（如本地预约平台或小程序链接）；未填写时沿用上级区划的"
        ),
    )

    objects = AreaQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return areacode.prefix(self.code, self.level)

    def contains(self, code: str) -> bool:
        return code.startswith(self.prefix)

    def ancestors(self) -> list["Area"]:
        """From the root down to the parent, in one query."""
        codes = areacode.lineage(self.code, self.level)
        by_code = {a.code: a for a in Area.objects.filter(code__in=codes)}
        return [by_code[c] for c in codes if c in by_code]

    def inherited(self, *fields: str) -> dict[str, str]:
        """For each field, this area's value, else the nearest ancestor's that has one, else "";
        the ancestors are read once, and only when this area leaves a field empty."""
        found = {f: getattr(self, f) for f in fields}
        missing = [f for f, value in found.items() if not value]
        if missing:
            for ancestor in reversed(self.ancestors()):
                for f in missing:
                    found[f] = found[f] or getattr(ancestor, f)
        return found

    def local_hotline(self) -> str:
        return self.inherited("hotline")["hotline"]


class InstitutionKind(models.TextChoices):
    CHC = "chc", _("社区卫生服务中心")
    MENTAL_HEALTH_CENTRE = "mhc", _("精神卫生中心")
    GENERAL_HOSPITAL = "hospital", _("综合医院")
    SCHOOL = "school", _("学校")
    ENTERPRISE = "enterprise", _("企业")
    SOCIAL_ORGANISATION = "social_org", _("社会组织")
    GOVERNMENT = "government", _("政府部门")


class Institution(models.Model):
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=InstitutionKind.choices)
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="institutions", verbose_name=_("所在区划")
    )
    address = models.CharField(_("地址"), max_length=300, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    booking_url = models.URLField(
        _("预约链接"), blank=True, help_text=_("本机构在线预约心理咨询的网址，可不填")
    )

    class Meta:
        ordering = ["area_id", "name"]
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="institution_unique_name_in_area")
        ]

    def __str__(self) -> str:
        return self.name


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    """Append-only record of who did what to which person-level record, and who looked."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80)
    object_id = models.CharField(_("对象编号"), max_length=64, db_index=True)
    area_code = models.CharField(_("区划代码"), max_length=15, blank=True, db_index=True)
    changed_fields = models.JSONField(_("变更字段"), default=list, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    ip_address = models.GenericIPAddressField(_("地址"), null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")

    # What the log shows: the object's kind by name, and labels and reasons with any phone
    # number masked (sysadmins read the log; they see no phones). Actions: labels.action_words.
    @property
    def object_label(self) -> str:
        from django.apps import apps

        try:
            return str(apps.get_model(self.object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.object_type

    @property
    def actor_display(self) -> str:
        return mask_in_text(self.actor_label)

    @property
    def reason_display(self) -> str:
        return mask_in_text(self.reason)


class OutboxEvent(models.Model):
    """An event written in the same transaction as its cause. Who still owes it processing is
    in its deliveries (one per lane, for its one consumer or all of them, or one for all of a
    bulk event's: `Delivery`), not on the event."""

    topic = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("事件")
        verbose_name_plural = _("事件")

    def __str__(self) -> str:
        return f"{self.topic}#{self.pk}"


class GrantKind(models.TextChoices):
    """Why a person was made visible beyond the memberships. A new kind is a new member here
    (and, if it needs one, a review flow of its own); the gate treats every kind alike."""

    BREAK_GLASS = "break_glass", _("紧急授权")
    REFERRAL = "referral", _("转介接收")
    CASE_ASSIGNMENT = "case_assignment", _("个案指派")


class AccessGrantQuerySet(models.QuerySet):
    def active(self, now: dt.datetime | None = None):
        """Not revoked and not expired (a grant without an expiry lasts until revoked)."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class AccessGrant(models.Model):
    """One person made visible to one user or to every user of one institution, for a reason
    (break-the-glass, a referral received, a case assigned), from a source, until an expiry or
    a revocation. Written only by `xinan.core.scope.grant_access` / `revoke_access`."""

    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("居民")
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_grants",
        verbose_name=_("授权给用户"),
    )
    to_institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_grants",
        verbose_name=_("授权给机构"),
    )
    kind = models.CharField(
        _("授权类型"), max_length=30, choices=GrantKind.choices, default=GrantKind.BREAK_GLASS
    )
    reason = models.TextField(_("授权理由"))
    # Where the grant comes from, "<app>.<model>:<id>" (e.g. "cases.referral:42"), so the
    # app that opened it can find and revoke it.
    source = models.CharField(_("来源"), max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(_("授权时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("授权人"),
    )
    expires_at = models.DateTimeField(_("到期"), null=True, blank=True)
    # The person's home when the grant was made: whose area admins review and may revoke it.
    area_code = models.CharField(_("区划代码"), max_length=15, db_index=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("撤销人"),
    )
    revoke_reason = models.TextField(_("撤销理由"), blank=True)
    # The review of a break-the-glass grant by an area admin above the person's home.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)
    review_outcome = models.CharField(
        _("审核结论"),
        max_length=20,
        blank=True,
        choices=[("justified", _("合理")), ("unjustified", _("不合理"))],
    )

    objects = AccessGrantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("访问授权")
        verbose_name_plural = _("访问授权")
        indexes = [
            models.Index(fields=["to_user", "person"], name="grant_user_person_idx"),
            models.Index(fields=["to_institution", "person"], name="grant_inst_person_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(to_user__isnull=True, to_institution__isnull=False)
                | models.Q(to_user__isnull=False, to_institution__isnull=True),
                name="grant_to_user_xor_institution",
            )
        ]

    def __str__(self) -> str:
        return f"{self.to_user or self.to_institution} → #{self.person_id}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code

    @property
    def grantee(self):
        return self.to_user or self.to_institution

    def is_active(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


from xinan.core.work_models import Delivery, Job, SweepRun  # noqa: E402, F401
