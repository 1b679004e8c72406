"""The resident record (居民档案), key-population tags and consent."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib.crypto import EncryptedTextField


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
    UNKNOWN = "U", _("未知")


class PopulationTag(models.Model):
    """A key or special population (重点人群 / 特殊人群) a person may belong to."""

    code = models.SlugField(_("代码"), max_length=40, primary_key=True)
    name = models.CharField(_("名称"), max_length=60)
    special = models.BooleanField(_("特殊人群"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("人群标签")
        verbose_name_plural = _("人群标签")

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    name = models.CharField(_("姓名"), max_length=60, db_index=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    id_number_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True)
    home_area = models.ForeignKey(
        "core.Area", on_delete=models.PROTECT, related_name="residents", verbose_name=_("居住地")
    )
    address = EncryptedTextField(_("详细地址"), blank=True)
    tags = models.ManyToManyField(PopulationTag, blank=True, verbose_name=_("人群标签"))
    institutions = models.ManyToManyField(
        "core.Institution", blank=True, related_name="clients", verbose_name=_("服务机构")
    )
    needs_attention = models.BooleanField(_("需关注"), default=False)
    notes = EncryptedTextField(_("备注"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # set when the person's data was erased on request (PIPL): the row stays, anonymised, for
    # the counts that read it (xinan/people/privacy.py)
    erased_at = models.DateTimeField(_("个人信息删除时间"), null=True, blank=True)

    class Meta:
        ordering = ["home_area_id", "name", "id"]
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        indexes = [models.Index(fields=["home_area", "name"], name="person_area_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_area_code(self) -> str:
        return self.home_area_id

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = timezone.localdate()
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


class ConsentKind(models.TextChoices):
    DATA_PROCESSING = "data_processing", _("个人信息处理")
    ASSESSMENT = "assessment", _("心理测评")
    FOLLOW_UP = "follow_up", _("随访联系")
    DATA_SHARING = "data_sharing", _("向医疗机构转介共享")


class Consent(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("类型"), max_length=30, choices=ConsentKind.choices)
    granted = models.BooleanField(_("同意"))
    text_version = models.CharField(_("告知书版本"), max_length=20, default="v1")
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = _("知情同意")
        verbose_name_plural = _("知情同意")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.granted}"
