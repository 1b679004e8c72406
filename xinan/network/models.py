"""Service sites with opening hours, the talent database (professionals, certificates, teams)
and trainings (courses, sessions, enrolment and attendance)."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SiteType(models.TextChoices):
    VILLAGE_ROOM = "village_room", _("村居心理咨询室")
    STATION = "station", _("心理驿站")
    LOUNGE = "lounge", _("健心客厅")
    SOCIAL_WORK = "social_work", _("社工站")
    HOSPITAL_CLINIC = "hospital_clinic", _("医院心理门诊")
    SCHOOL_ROOM = "school_room", _("学校心理辅导室")
    WORKPLACE_ROOM = "workplace_room", _("单位心理服务室")
    HOTLINE = "hotline", _("心理援助热线")


class Service(models.TextChoices):
    COUNSELLING = "counselling", _("个体心理咨询")
    GROUP = "group", _("团体心理辅导")
    ASSESSMENT = "assessment", _("心理测评")
    PSYCHOEDUCATION = "psychoeducation", _("心理健康科普")
    FAMILY = "family", _("家庭与亲子咨询")
    CRISIS = "crisis", _("危机干预")
    HOTLINE = "hotline", _("热线咨询")
    REFERRAL = "referral", _("转介就医")


def codes_text(codes) -> str:
    """A set of choice codes as ",a,b," so one `__contains=",a,"` finds it on any database."""
    codes = sorted({c for c in codes if c})
    return "," + ",".join(codes) + "," if codes else ""


def text_codes(text: str) -> list[str]:
    return [c for c in (text or "").split(",") if c]


class ServiceSiteQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def offering(self, service: str):
        return self.filter(services__contains=f",{service},")

    def within(self, prefix: str):
        return self.filter(area__code__startswith=prefix)


class ServiceSite(models.Model):
    """A place (or line) where residents get psychological help: distinct from an Institution,
    which it may belong to; it always sits in an area."""

    name = models.CharField(_("名称"), max_length=200)
    site_type = models.CharField(_("类型"), max_length=20, choices=SiteType.choices)
    area = models.ForeignKey(
        "core.Area", on_delete=models.PROTECT, related_name="service_sites", verbose_name=_("区划")
    )
    institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="service_sites",
        verbose_name=_("所属机构"),
    )
    address = models.CharField(_("地址"), max_length=300, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    services = models.CharField(_("服务项目"), max_length=300, blank=True)
    populations = models.ManyToManyField(
        "people.PopulationTag", blank=True, related_name="+", verbose_name=_("服务人群")
    )
    accessibility = models.CharField(_("无障碍设施"), max_length=200, blank=True)
    description = models.TextField(_("简介"), blank=True)
    photo = models.FileField(_("照片"), upload_to="network/sites/", blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    booking_url = models.URLField(_("外部预约链接"), blank=True)
    active = models.BooleanField(_("在用"), default=True)
    external_key = models.CharField(max_length=64, blank=True, db_index=True)  # import idempotency
    created_at = models.DateTimeField(default=timezone.now)

    objects = ServiceSiteQuerySet.as_manager()

    class Meta:
        ordering = ["area_id", "name"]
        verbose_name = _("服务点")
        verbose_name_plural = _("服务点")
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="site_unique_name_in_area")
        ]
        indexes = [
            models.Index(fields=["lat", "lon"], name="site_latlon_idx"),
            models.Index(fields=["site_type", "area"], name="site_type_area_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_area_code(self) -> str:
        return self.area_id

    @property
    def service_codes(self) -> list[str]:
        return text_codes(self.services)

    def service_labels(self) -> list[str]:
        labels = dict(Service.choices)
        return [str(labels.get(c, c)) for c in self.service_codes]


class OpeningHours(models.Model):
    """One opening interval of the weekly pattern (weekday 0 = Monday), local time."""

    # Indexed by (site, weekday, opens, closes) below: "open now" is a correlated lookup per site.
    site = models.ForeignKey(
        ServiceSite, on_delete=models.CASCADE, related_name="hours", db_index=False
    )
    weekday = models.PositiveSmallIntegerField(_("星期"))
    opens = models.TimeField(_("开门"))
    closes = models.TimeField(_("关门"))

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = _("开放时间")
        verbose_name_plural = _("开放时间")
        indexes = [
            # a site's hours on a weekday (open_ids, SiteCalendar)
            models.Index(fields=["site", "weekday", "opens", "closes"], name="hours_site_open_idx"),
            # every site open now (open_q)
            models.Index(fields=["weekday", "opens", "closes", "site"], name="hours_open_now_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


class SiteClosure(models.Model):
    """A holiday or other exception: closed all day, or open only between opens and closes."""

    site = models.ForeignKey(ServiceSite, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField(_("日期"), db_index=True)
    opens = models.TimeField(_("开门"), null=True, blank=True)
    closes = models.TimeField(_("关门"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="closure_once_a_day")]

    def __str__(self) -> str:
        return f"{self.site} {self.date}"


WEEKDAYS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


# ---------------------------------------------------------------- talent database


class ProfessionalKind(models.TextChoices):
    PSYCHIATRIST = "psychiatrist", _("精神科医生")
    PSYCHOTHERAPIST = "psychotherapist", _("心理治疗师")
    COUNSELLOR = "counsellor", _("心理咨询师")
    SOCIAL_WORKER = "social_worker", _("社会工作者")
    TEACHER = "teacher", _("心理健康教师")
    ADVISOR = "advisor", _("心理顾问")
    VOLUNTEER = "volunteer", _("志愿者")
    HOTLINE_VOLUNTEER = "hotline_volunteer", _("热线志愿者")


class Professional(models.Model):
    """A person in the talent database (人才库); linked to a login when they use the platform."""

    name = models.CharField(_("姓名"), max_length=60, db_index=True)
    kind = models.CharField(_("类别"), max_length=20, choices=ProfessionalKind.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="professional",
        verbose_name=_("平台账号"),
    )
    area = models.ForeignKey(
        "core.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区划")
    )
    institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("工作单位"),
    )
    phone = models.CharField(_("工作电话"), max_length=30, blank=True)
    specialties = models.CharField(_("擅长领域"), max_length=300, blank=True)
    languages = models.CharField(_("语言"), max_length=100, blank=True, default="普通话")
    populations = models.ManyToManyField(
        "people.PopulationTag", blank=True, related_name="+", verbose_name=_("服务人群")
    )
    sites = models.ManyToManyField(
        ServiceSite, blank=True, related_name="staff", verbose_name=_("服务站点")
    )
    bio = models.TextField(_("简介"), blank=True)
    active = models.BooleanField(_("在册"), default=True)
    external_key = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["area_id", "name"]
        verbose_name = _("专业人员")
        verbose_name_plural = _("专业人员")

    def __str__(self) -> str:
        return self.name

    @property
    def audit_area_code(self) -> str:
        return self.area_id


class Certificate(models.Model):
    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="certificates"
    )
    name = models.CharField(_("证书名称"), max_length=100)
    number = models.CharField(_("证书编号"), max_length=60)
    issuer = models.CharField(_("发证机构"), max_length=100)
    issued_on = models.DateField(_("发证日期"), null=True, blank=True)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True, db_index=True)
    warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["expires_on"]
        verbose_name = _("资质证书")
        verbose_name_plural = _("资质证书")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "number"], name="certificate_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.number}"

    def is_valid(self, on: dt.date | None = None) -> bool:
        return self.expires_on is None or self.expires_on >= (on or timezone.localdate())


class TeamKind(models.TextChoices):
    CRISIS = "crisis", _("危机干预队伍")
    VOLUNTEER = "volunteer", _("志愿者队伍")
    HOTLINE = "hotline", _("热线志愿者队伍")
    EXPERT = "expert", _("专家团队")


class Team(models.Model):
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=TeamKind.choices)
    area = models.ForeignKey("core.Area", on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField(Professional, blank=True, related_name="teams")

    class Meta:
        ordering = ["area_id", "name"]
        verbose_name = _("队伍")
        verbose_name_plural = _("队伍")
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="team_unique_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_area_code(self) -> str:
        return self.area_id


# ---------------------------------------------------------------- trainings


class Course(models.Model):
    title = models.CharField(_("课程名称"), max_length=200)
    topic = models.CharField(_("主题"), max_length=100)
    area = models.ForeignKey(
        "core.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("主办区划")
    )
    description = models.TextField(_("简介"), blank=True)
    certificate_name = models.CharField(_("结业证书名称"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("培训课程")
        verbose_name_plural = _("培训课程")
        constraints = [models.UniqueConstraint(fields=["area", "title"], name="course_unique")]

    def __str__(self) -> str:
        return self.title

    @property
    def audit_area_code(self) -> str:
        return self.area_id


class TrainingSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    topic = models.CharField(_("本次主题"), max_length=200)
    trainer = models.CharField(_("授课人"), max_length=100)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    hours = models.DecimalField(_("学时"), max_digits=4, decimal_places=1)
    site = models.ForeignKey(
        ServiceSite, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("地点")
    )
    online_url = models.URLField(_("线上链接"), blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("培训场次")
        verbose_name_plural = _("培训场次")

    def __str__(self) -> str:
        return f"{self.course} · {self.topic}"


class Enrolment(models.Model):
    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="enrolments"
    )
    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="enrolments"
    )
    enrolled_at = models.DateTimeField(default=timezone.now)
    attended_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    method = models.CharField(max_length=10, blank=True)  # qr, manual, import

    class Meta:
        ordering = ["session__starts_at"]
        verbose_name = _("报名与签到")
        verbose_name_plural = _("报名与签到")
        constraints = [
            models.UniqueConstraint(fields=["session", "professional"], name="enrol_once")
        ]

    def __str__(self) -> str:
        return f"{self.professional} @ {self.session}"


class TrainingCertificate(models.Model):
    """Issued when a professional has attended every session of a course."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="training_certificates"
    )
    number = models.CharField(_("证书编号"), max_length=40, unique=True)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("结业证书")
        verbose_name_plural = _("结业证书")
        constraints = [
            models.UniqueConstraint(fields=["course", "professional"], name="course_cert_once")
        ]

    def __str__(self) -> str:
        return self.number


class ImportKind(models.TextChoices):
    SITES = "sites", _("服务点")
    PROFESSIONALS = "professionals", _("专业人员")
    ATTENDANCE = "attendance", _("培训签到")


class NetworkImport(models.Model):
    """One uploaded register (sites, professionals or training attendance) and its report."""

    kind = models.CharField(_("类型"), max_length=20, choices=ImportKind.choices)
    file_name = models.CharField(_("文件名"), max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    rows_created = models.PositiveIntegerField(_("新增"), default=0)
    rows_updated = models.PositiveIntegerField(_("更新"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("无变化"), default=0)
    rows_rejected = models.PositiveIntegerField(_("未通过"), default=0)
    report = models.JSONField(_("校验报告"), default=list)
    rejected_path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("名册导入")
        verbose_name_plural = _("名册导入")

    def __str__(self) -> str:
        return self.file_name
