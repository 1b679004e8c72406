"""Users and their memberships: a role at an area or at an institution."""

import datetime as dt

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib import crypto
from xinan.core.lib import phone as phone_lib
from xinan.core.lib.crypto import EncryptedTextField


def phone_lookup_hash(number: str) -> str:
    """The same keyed hash as a person's phone (people.Person.phone_hash)."""
    return crypto.lookup_hash(number)


def resident_username(number: str) -> str:
    """A stable username for a resident account that does not reveal the phone."""
    return "r-" + crypto.lookup_hash(f"account-username:{number}")[:16]


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    GRID_WORKER = "grid_worker", _("网格员")
    SOCIAL_WORKER = "social_worker", _("社工")
    COUNSELLOR = "counsellor", _("心理咨询师")
    DOCTOR = "doctor", _("精防医生")
    PSYCHIATRIST = "psychiatrist", _("精神科医生")
    CRISIS_WORKER = "crisis_worker", _("危机干预员")
    AREA_ADMIN = "area_admin", _("区域管理员")
    # The village's 精神卫生综合管理小组 liaison roles (严重精神障碍 2018 规范).
    ZONGZHI = "zongzhi", _("综治专干")
    POLICE = "police", _("社区民警")
    CIVIL_AFFAIRS = "civil_affairs", _("民政专干")
    DISABILITY_LIAISON = "disability_liaison", _("残联专职委员")
    SYSADMIN = "sysadmin", _("系统管理员")


STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}


class User(AbstractUser):
    """Staff log in with a username; residents with their phone number.

    A phone is kept like a person's: encrypted, with a keyed hash to log in by and a masked
    copy to show. A resident's username is derived from that hash (never the number itself),
    so account lists and audit labels carry no phone in clear.
    """

    display_name = models.CharField(_("姓名"), max_length=100, blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True)
    phone_hash = models.CharField(
        _("手机号检索码"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True, editable=False)
    totp_secret = EncryptedTextField(_("动态口令密钥"), blank=True)
    totp_confirmed = models.BooleanField(_("已启用两步验证"), default=False)
    # The last accepted TOTP time step: a code is good once, not for its whole window.
    totp_last_step = models.BigIntegerField(
        _("最近使用的动态口令时段"), null=True, blank=True, editable=False
    )
    failed_logins = models.PositiveIntegerField(_("连续登录失败次数"), default=0)
    # Wrong second-factor codes since the last right one: a right password does not reset it.
    totp_failures = models.PositiveIntegerField(_("动态口令错误次数"), default=0, editable=False)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    def set_phone(self, number: str) -> None:
        """Keep an already validated number: encrypted, hashed for login, masked for lists."""
        self.phone = number
        self.phone_hash = phone_lookup_hash(number) if number else None
        self.phone_masked = phone_lib.mask(number) if number else ""

    def is_locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and (now or timezone.now()) < self.locked_until

    def roles(self) -> set[str]:
        # Cached per request object: memberships are read on almost every staff page.
        if not hasattr(self, "_roles_cache"):
            self._roles_cache = {m.role for m in self.active_memberships()}
        return self._roles_cache

    def active_memberships(self) -> list["Membership"]:
        if not hasattr(self, "_memberships_cache"):
            self._memberships_cache = list(
                self.memberships.filter(active=True).select_related("area", "institution")
            )
        return self._memberships_cache

    @property
    def is_staff_member(self) -> bool:
        return bool(self.roles() & STAFF_ROLES)

    @property
    def is_resident(self) -> bool:
        return Role.RESIDENT in self.roles() and not self.is_staff_member


class Membership(models.Model):
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("用户")
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(
        "core.Area",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("区划"),
    )
    institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("机构"),
    )
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    # A membership that opens person-level records, asked for by an administrator, waits
    # (inactive) until a different administrator approves it (accounts.services).
    pending = models.BooleanField(_("待审批"), default=False)
    requested_by = models.ForeignKey(
        "User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人"),
    )
    approved_by = models.ForeignKey(
        "User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("批准人"),
    )
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(area__isnull=True) | models.Q(institution__isnull=True),
                name="membership_area_or_institution",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "area", "institution"], name="membership_unique"
            ),
        ]

    def __str__(self) -> str:
        where = self.area or self.institution or "—"
        return f"{self.get_role_display()} @ {where}"

    @property
    def audit_area_code(self) -> str:
        return self.area_id or ""
