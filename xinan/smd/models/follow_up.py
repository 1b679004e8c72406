"""Follow-ups (随访服务记录表) with their drugs, the classification rules and cadences that
judge them, and the annual physical examination."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib.crypto import EncryptedTextField

from .choices import (
    FACE_TO_FACE,
    Adherence,
    Classification,
    DeathCause,
    Effect,
    Hospitalisation,
    Insight,
    Level3,
    Locking,
    Mode,
    NotReached,
    Psychotic,
    Severity,
)
from .registry import Patient


class FollowUp(models.Model):
    """One 严重精神障碍患者随访服务记录表."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="follow_ups")
    visit_date = models.DateField(_("随访日期"))
    mode = models.CharField(_("随访方式"), max_length=10, choices=Mode.choices)
    reached = models.BooleanField(_("访到患者"), default=True)
    not_reached_reason = models.CharField(
        _("若失访，原因"), max_length=1, choices=NotReached.choices, blank=True
    )
    died = models.BooleanField(_("患者已死亡"), default=False)
    death_date = models.DateField(_("死亡日期"), null=True, blank=True)
    death_cause = models.CharField(
        _("死亡原因"), max_length=2, choices=DeathCause.choices, blank=True
    )
    risk_level = models.PositiveSmallIntegerField(_("危险性评估"), null=True, blank=True)
    symptoms = models.JSONField(_("目前症状"), default=list, blank=True)
    symptoms_other = models.CharField(_("其他症状"), max_length=200, blank=True)
    psychotic = models.CharField(_("精神症状"), max_length=1, choices=Psychotic.choices, blank=True)
    insight = models.CharField(_("自知力"), max_length=1, choices=Insight.choices, blank=True)
    sleep = models.CharField(_("睡眠情况"), max_length=1, choices=Level3.choices, blank=True)
    diet = models.CharField(_("饮食情况"), max_length=1, choices=Level3.choices, blank=True)
    social_self_care = models.CharField(
        _("个人生活料理"), max_length=1, choices=Level3.choices, blank=True
    )
    social_housework = models.CharField(
        _("家务劳动"), max_length=1, choices=Level3.choices, blank=True
    )
    # 9 = 不适用 on the national form.
    social_work = models.CharField(
        _("生产劳动及工作"),
        max_length=1,
        choices=[*Level3.choices, ("9", _("此项不适用"))],
        blank=True,
    )
    social_learning = models.CharField(
        _("学习能力"), max_length=1, choices=Level3.choices, blank=True
    )
    social_contact = models.CharField(
        _("社会人际交往"), max_length=1, choices=Level3.choices, blank=True
    )
    danger_minor = models.PositiveSmallIntegerField(_("轻度滋事（次）"), default=0)
    danger_trouble = models.PositiveSmallIntegerField(_("肇事（次）"), default=0)
    danger_disaster = models.PositiveSmallIntegerField(_("肇祸（次）"), default=0)
    danger_other = models.PositiveSmallIntegerField(_("其他危害行为（次）"), default=0)
    danger_self_harm = models.PositiveSmallIntegerField(_("自伤（次）"), default=0)
    danger_suicide_attempt = models.PositiveSmallIntegerField(_("自杀未遂（次）"), default=0)
    locking = models.CharField(
        _("两次随访期间关锁情况"), max_length=1, choices=Locking.choices, blank=True
    )
    hospitalisation = models.CharField(
        _("两次随访期间住院情况"), max_length=1, choices=Hospitalisation.choices, blank=True
    )
    last_discharge_date = models.DateField(_("末次出院时间"), null=True, blank=True)
    lab_tests = models.BooleanField(_("有实验室检查"), default=False)
    lab_results = EncryptedTextField(_("实验室检查结果"), blank=True)
    adherence = models.CharField(
        _("用药依从性"), max_length=1, choices=Adherence.choices, blank=True
    )
    adverse = models.CharField(
        _("药物不良反应"), max_length=1, choices=Severity.choices, default=Severity.NONE
    )
    adverse_text = EncryptedTextField(_("不良反应描述"), blank=True)
    physical_illness = models.CharField(
        _("躯体疾病"), max_length=1, choices=Severity.choices, default=Severity.NONE
    )
    effect = models.CharField(_("治疗效果"), max_length=1, choices=Effect.choices, blank=True)
    referred = models.BooleanField(_("转诊"), default=False)
    referral_reason = models.CharField(_("转诊原因"), max_length=200, blank=True)
    referral_to = models.CharField(_("转诊至机构及科室"), max_length=200, blank=True)
    rehab = models.JSONField(_("康复措施"), default=list, blank=True)
    rehab_other = models.CharField(_("其他康复措施"), max_length=200, blank=True)
    notes = EncryptedTextField(_("随访记录"), blank=True)
    # Classification: computed by rules.classify, the rule that fired kept; an override wins.
    computed_class = models.CharField(max_length=12, choices=Classification.choices)
    fired_rules = models.JSONField(default=list, blank=True)
    override_class = models.CharField(
        _("医生调整分类"), max_length=12, choices=Classification.choices, blank=True
    )
    override_reason = models.CharField(_("调整理由"), max_length=300, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actions = models.JSONField(_("处置建议"), default=list, blank=True)
    next_visit_date = models.DateField(_("下次随访日期"), null=True, blank=True)
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("随访医生"),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-visit_date", "-pk"]
        verbose_name = _("随访记录")
        verbose_name_plural = _("随访记录")
        indexes = [models.Index(fields=["patient", "visit_date"], name="smd_fu_patient_date")]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.visit_date}"

    @property
    def audit_area_code(self) -> str:
        return self.patient.person.home_area_id

    @property
    def classification(self) -> str:
        return self.override_class or self.computed_class

    def get_classification_display(self) -> str:
        return Classification(self.classification).label

    @property
    def face_to_face(self) -> bool:
        return self.reached and self.mode in FACE_TO_FACE


class Drug(models.Model):
    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="drugs")
    name = models.CharField(_("药物名称"), max_length=100)
    dose = models.CharField(_("每次剂量"), max_length=40)
    frequency = models.CharField(_("用法（每日次数）"), max_length=40)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.dose} {self.frequency}"


class ClassificationRule(models.Model):
    """One row of the spec's classification: a condition on a follow-up field → a class.

    Seeded from the spec (migration 0002); editable in the admin, since several of the
    spec's operational details are UNCONFIRMED (docs/smd.md).
    """

    class Op(models.TextChoices):
        GTE = "gte", _("≥")
        IN = "in", _("属于")
        ANY_IN = "any_in", _("任一项属于")

    key = models.SlugField(_("代码"), max_length=40, primary_key=True)
    classification = models.CharField(_("分类"), max_length=12, choices=Classification.choices)
    fields = models.CharField(_("字段"), max_length=200, help_text=_("逗号分隔的随访字段名"))
    op = models.CharField(_("条件"), max_length=10, choices=Op.choices)
    values = models.CharField(_("取值"), max_length=100, help_text=_("逗号分隔"))
    definition = models.CharField(_("规范依据"), max_length=200)
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["sort_order", "key"]
        verbose_name = _("随访分类规则")
        verbose_name_plural = _("随访分类规则")

    def __str__(self) -> str:
        return self.definition


class Cadence(models.Model):
    """Next follow-up interval and actions per class (spec §2.3; UNCONFIRMED parts editable)."""

    classification = models.CharField(
        _("分类"), max_length=12, choices=Classification.choices, primary_key=True
    )
    max_days = models.PositiveSmallIntegerField(_("最迟随访间隔（天）"))
    actions = models.TextField(_("处置要求（每行一条）"))
    police_actions = models.TextField(_("危险性≥3级时另加（每行一条）"), blank=True)

    class Meta:
        verbose_name = _("随访间隔与处置")
        verbose_name_plural = _("随访间隔与处置")

    def __str__(self) -> str:
        return self.get_classification_display()


class PhysicalExam(models.Model):
    """The annual health check (每年1次，征得监护人与患者本人同意)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="exams")
    year = models.PositiveSmallIntegerField(_("年度"))
    consent = models.BooleanField(_("同意体检"))
    consent_by = models.CharField(_("同意人"), max_length=60, blank=True)
    exam_date = models.DateField(_("体检日期"), null=True, blank=True)
    blood_routine = models.CharField(_("血常规"), max_length=100, blank=True)
    glucose = models.CharField(_("血糖"), max_length=100, blank=True)
    liver_function = models.CharField(_("肝功能"), max_length=100, blank=True)
    ecg = models.CharField(_("心电图"), max_length=100, blank=True)
    other = EncryptedTextField(_("其他检查及结论"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-year", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "year"], name="smd_exam_once_a_year")
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.year}"

    @property
    def audit_area_code(self) -> str:
        return self.patient.person.home_area_id

    @property
    def done(self) -> bool:
        return self.consent and self.exam_date is not None
