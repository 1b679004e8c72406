"""The severe-mental-disorder registry (严重精神障碍), per the 2018 national spec.

Choice codes follow the national forms (基本公卫第三版 随访服务记录表, 个人信息补充表) so an
export reads like the paper; see docs/smd.md for each field's source.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib.crypto import EncryptedTextField


class Disorder(models.TextChoices):
    """The six disorders of the 2018 规范 (服务对象); ICD-10 chapter codes per docs/smd.md."""

    SCHIZOPHRENIA = "F20", _("精神分裂症")
    SCHIZOAFFECTIVE = "F25", _("分裂情感性障碍")
    DELUSIONAL = "F22", _("偏执性精神病（持久的妄想性障碍）")
    BIPOLAR = "F31", _("双相（情感）障碍")
    EPILEPSY = "F06", _("癫痫所致精神障碍")
    INTELLECTUAL = "F7x", _("精神发育迟滞伴发精神障碍")


# The ICD-10 codes each disorder accepts (a diagnosis code must start with one of them).
DISORDER_ICD_PREFIXES = {
    Disorder.SCHIZOPHRENIA: ("F20",),
    Disorder.SCHIZOAFFECTIVE: ("F25",),
    Disorder.DELUSIONAL: ("F22",),
    Disorder.BIPOLAR: ("F31",),
    Disorder.EPILEPSY: ("F06", "G40"),
    Disorder.INTELLECTUAL: tuple(f"F7{n}" for n in range(10)),
}


class PatientStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    DECEASED = "deceased", _("死亡")
    EXCLUDED = "excluded", _("排除诊断/销户")


class Household(models.TextChoices):
    URBAN = "urban", _("城镇")
    RURAL = "rural", _("农村")


class Employment(models.TextChoices):
    WORKER = "1", _("在岗工人")
    MANAGER = "2", _("在岗管理者")
    FARMER = "3", _("农民")
    UNEMPLOYED = "4", _("下岗或无业")
    STUDENT = "5", _("在校学生")
    RETIRED = "6", _("退休")
    PROFESSIONAL = "7", _("专业技术人员")
    OTHER = "8", _("其他")
    UNKNOWN = "9", _("不详")


class Economic(models.TextChoices):
    POOR = "poor", _("贫困（在当地贫困线标准以下）")
    NOT_POOR = "not_poor", _("非贫困")
    UNKNOWN = "unknown", _("不详")


class Locking(models.TextChoices):
    NONE = "1", _("无关锁")
    LOCKED = "2", _("关锁")
    RELEASED = "3", _("关锁已解除")


class OutpatientHistory(models.TextChoices):
    NEVER = "1", _("未治")
    INTERMITTENT = "2", _("间断门诊治疗")
    CONTINUOUS = "3", _("连续门诊治疗")


class Symptom(models.TextChoices):
    HALLUCINATION = "1", _("幻觉")
    COMMUNICATION = "2", _("交流困难")
    SUSPICION = "3", _("猜疑")
    MOODY = "4", _("喜怒无常")
    ODD = "5", _("行为怪异")
    EXCITED = "6", _("兴奋话多")
    VIOLENT = "7", _("伤人毁物")
    PESSIMISTIC = "8", _("悲观厌世")
    WANDERING = "9", _("无故外走")
    SELF_TALK = "10", _("自语自笑")
    WITHDRAWN = "11", _("孤僻懒散")
    OTHER = "12", _("其他")


class Patient(models.Model):
    """One registered patient per person (DB unique); a move transfers this row."""

    person = models.OneToOneField(
        "people.Person", on_delete=models.PROTECT, related_name="smd_patient"
    )
    disorder = models.CharField(_("诊断"), max_length=3, choices=Disorder.choices)
    icd10_code = models.CharField(_("ICD-10编码"), max_length=10)
    diagnosis_institution = models.CharField(_("确诊医院"), max_length=200)
    diagnosis_date = models.DateField(_("确诊日期"))
    registered_on = models.DateField(_("建档日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=PatientStatus.choices, default=PatientStatus.ACTIVE
    )
    managing_institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="smd_patients",
        verbose_name=_("管理机构"),
    )
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="smd_patients",
        verbose_name=_("责任精防医生"),
    )
    # 个人信息补充表
    guardian_name = EncryptedTextField(_("监护人姓名"), blank=True)
    guardian_relation = models.CharField(_("与患者关系"), max_length=20, blank=True)
    guardian_phone = EncryptedTextField(_("监护人电话"), blank=True)
    guardian_address = EncryptedTextField(_("监护人住址"), blank=True)
    village_contact_name = models.CharField(_("辖区村（居）委会联系人"), max_length=60, blank=True)
    village_contact_phone = EncryptedTextField(_("村（居）委会联系人电话"), blank=True)
    household = models.CharField(_("户别"), max_length=5, choices=Household.choices, blank=True)
    employment = models.CharField(
        _("就业情况"), max_length=1, choices=Employment.choices, blank=True
    )
    consent_management = models.BooleanField(_("同意参加社区服务管理"), default=False)
    consent_signed_by = models.CharField(_("知情同意签字人"), max_length=60, blank=True)
    consent_date = models.DateField(_("签字日期"), null=True, blank=True)
    onset_date = models.DateField(_("初次发病时间"), null=True, blank=True)
    past_symptoms = models.JSONField(_("既往主要症状"), default=list, blank=True)
    past_locking = models.CharField(
        _("既往关锁情况"), max_length=1, choices=Locking.choices, blank=True
    )
    outpatient_history = models.CharField(
        _("门诊治疗情况"), max_length=1, choices=OutpatientHistory.choices, blank=True
    )
    first_antipsychotic_date = models.DateField(_("首次抗精神病药治疗时间"), null=True, blank=True)
    inpatient_times = models.PositiveSmallIntegerField(
        _("曾住精神专科医院/综合医院精神科次数"), default=0
    )
    economic_status = models.CharField(
        _("经济状况"), max_length=10, choices=Economic.choices, blank=True
    )
    specialist_advice = EncryptedTextField(_("专科医生意见"), blank=True)
    notes = EncryptedTextField(_("备注"), blank=True)
    # Kept current by the services: the worklist and the flag view read these.
    current_risk = models.PositiveSmallIntegerField(_("最近危险性评估"), null=True, blank=True)
    current_class = models.CharField(_("最近随访分类"), max_length=12, blank=True)
    last_follow_up_on = models.DateField(_("最近随访日期"), null=True, blank=True)
    next_due_on = models.DateField(_("下次随访日期"), null=True, blank=True)
    due_at = models.DateTimeField(_("随访截止"), null=True, blank=True, db_index=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    death_date = models.DateField(_("死亡日期"), null=True, blank=True)
    death_cause = models.CharField(_("死亡原因"), max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("严重精神障碍患者")
        verbose_name_plural = _("严重精神障碍患者")

    def __str__(self) -> str:
        return f"{self.person.name}（{self.get_disorder_display()}）"

    @property
    def audit_area_code(self) -> str:
        return self.person.home_area_id

    def get_current_class_display(self) -> str:
        return Classification(self.current_class).label if self.current_class else ""

    @property
    def high_risk(self) -> bool:
        return (self.current_risk or 0) >= 3

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.due_at is not None and self.due_at < (now or timezone.now())


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("待建档")
    REGISTERED = "registered", _("已建档")
    REJECTED = "rejected", _("退回")


class DiagnosisReport(models.Model):
    """A new diagnosis reported by a hospital (发病报告), queued for the home area's CHC."""

    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="smd_reports"
    )
    reporting_institution = models.ForeignKey(
        "core.Institution", on_delete=models.PROTECT, related_name="+", verbose_name=_("报告单位")
    )
    disorder = models.CharField(_("诊断"), max_length=3, choices=Disorder.choices)
    icd10_code = models.CharField(_("ICD-10编码"), max_length=10)
    diagnosis_date = models.DateField(_("确诊日期"))
    reported_at = models.DateTimeField(_("报告时间"), default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # 10 working days after diagnosis (发病报告管理办法): the report is late past it.
    report_due_on = models.DateField(_("报告时限"))
    # The home area's CHC visits and registers by this time (local practice: 2 weeks).
    due_at = models.DateTimeField(_("建档截止"), db_index=True)
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    notes = EncryptedTextField(_("备注"), blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("发病报告")
        verbose_name_plural = _("发病报告")

    def __str__(self) -> str:
        return f"{self.person.name} {self.get_disorder_display()}"

    @property
    def audit_area_code(self) -> str:
        return self.person.home_area_id

    @property
    def reported_late(self) -> bool:
        return timezone.localtime(self.reported_at).date() > self.report_due_on


class Transfer(models.Model):
    """A patient moving between areas: the same patient row, a new home and managing CHC."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="transfers")
    from_area = models.ForeignKey("core.Area", on_delete=models.PROTECT, related_name="+")
    to_area = models.ForeignKey("core.Area", on_delete=models.PROTECT, related_name="+")
    from_institution = models.ForeignKey(
        "core.Institution", on_delete=models.PROTECT, null=True, related_name="+"
    )
    to_institution = models.ForeignKey(
        "core.Institution", on_delete=models.PROTECT, null=True, related_name="+"
    )
    reason = models.CharField(_("转移原因"), max_length=200)
    transferred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-transferred_at"]

    def __str__(self) -> str:
        return f"{self.from_area_id} → {self.to_area_id}"


class Mode(models.TextChoices):
    OUTPATIENT = "outpatient", _("门诊")
    HOME = "home", _("家庭访视")
    PHONE = "phone", _("电话")


FACE_TO_FACE = {Mode.OUTPATIENT, Mode.HOME}


class NotReached(models.TextChoices):
    MIGRANT_WORK = "1", _("外出打工")
    MOVED = "2", _("迁居他处")
    MISSING = "3", _("走失")
    THREE_MISSES = "4", _("连续3次未访到")
    OTHER = "5", _("其他")


class DeathCause(models.TextChoices):
    INFECTIOUS = "b1", _("躯体疾病：传染病和寄生虫病")
    TUMOUR = "b2", _("躯体疾病：肿瘤")
    HEART = "b3", _("躯体疾病：心脏病")
    CEREBROVASCULAR = "b4", _("躯体疾病：脑血管病")
    RESPIRATORY = "b5", _("躯体疾病：呼吸系统疾病")
    DIGESTIVE = "b6", _("躯体疾病：消化系统疾病")
    OTHER_DISEASE = "b7", _("躯体疾病：其他疾病")
    UNKNOWN_DISEASE = "b9", _("躯体疾病：不详")
    SUICIDE = "o2", _("其他原因：自杀")
    HOMICIDE = "o3", _("其他原因：他杀")
    ACCIDENT = "o4", _("其他原因：意外")
    COMPLICATION = "o5", _("其他原因：精神疾病相关并发症")
    OTHER = "o6", _("其他原因：其他")


class Level3(models.TextChoices):
    GOOD = "1", _("良好")
    FAIR = "2", _("一般")
    POOR = "3", _("较差")


class Insight(models.TextChoices):
    FULL = "1", _("自知力完全")
    PARTIAL = "2", _("自知力不全")
    ABSENT = "3", _("自知力缺失")


class Psychotic(models.TextChoices):
    """The spec's judgement of mental symptoms, on which the classification turns."""

    GONE = "1", _("精神症状基本消失")
    PARTIAL = "2", _("精神症状仍存在（较差）")
    MARKED = "3", _("精神病性症状明显")


class Severity(models.TextChoices):
    NONE = "0", _("无")
    MILD = "1", _("有，不严重")
    SEVERE = "2", _("有，急性或严重")


class Hospitalisation(models.TextChoices):
    NEVER = "0", _("未住院")
    NOW = "1", _("目前正在住院")
    BEFORE = "2", _("曾住院，现未住院")


class Adherence(models.TextChoices):
    REGULAR = "1", _("按医嘱规律服药")
    INTERMITTENT = "2", _("间断服药")
    NONE = "3", _("不服药")
    NOT_NEEDED = "4", _("医嘱勿需服药")


class Effect(models.TextChoices):
    CURED = "1", _("痊愈")
    BETTER = "2", _("好转")
    SAME = "3", _("无变化")
    WORSE = "4", _("加重")


class Rehab(models.TextChoices):
    DAILY_LIVING = "1", _("生活劳动能力")
    VOCATIONAL = "2", _("职业训练")
    LEARNING = "3", _("学习能力")
    SOCIAL = "4", _("社会交往")
    OTHER = "5", _("其他")


class Classification(models.TextChoices):
    UNSTABLE = "unstable", _("病情不稳定")
    BASIC = "basic", _("病情基本稳定")
    STABLE = "stable", _("病情稳定")
    NOT_REACHED = "not_reached", _("未访到")


# The spec's exact definitions of 危险性评估, shown beside the choice (docs/smd.md §risk).
RISK_DEFINITIONS = {
    0: _("0级：无符合以下1～5级中的任何行为"),
    1: _("1级：口头威胁，喊叫，但没有打砸行为"),
    2: _("2级：打砸行为，局限在家里，针对财物，能被劝说制止"),
    3: _("3级：明显打砸行为，不分场合，针对财物，不能接受劝说而停止"),
    4: _("4级：持续的打砸行为，不分场合，针对财物或人，不能接受劝说而停止（包括自伤、自杀）"),
    5: _(
        "5级：持械/持管制性危险武器针对人的任何暴力行为，或者纵火、爆炸等行为，"
        "无论在家里还是公共场合"
    ),
}

DANGER_FIELDS = (
    "danger_minor",
    "danger_trouble",
    "danger_disaster",
    "danger_other",
    "danger_self_harm",
    "danger_suicide_attempt",
)
SOCIAL_FIELDS = ("social_self_care", "social_housework", "social_work", "social_learning",
                 "social_contact")  # fmt: skip


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


class Trigger(models.TextChoices):
    SELF_HARM = "self_harm", _("伤害自身的行为或危险")
    PUBLIC_SAFETY = "public_safety", _("危害公共安全或他人安全的行为或危险")
    RELAPSE = "relapse", _("病情复发、精神状况明显恶化")
    ADVERSE = "adverse", _("急性或严重药物不良反应（含药物过量中毒）")


class Involved(models.TextChoices):
    POLICE = "police", _("公安（派出所）")
    EMS = "120", _("120急救")
    FAMILY = "family", _("家属/监护人")
    VILLAGE = "village", _("村（居）委会")
    DOCTOR = "doctor", _("精防医生")
    PSYCHIATRIST = "psychiatrist", _("精神科医师")


class Disposal(models.TextChoices):
    ONSITE = "onsite", _("现场临时处置")
    OBSERVATION = "observation", _("精神科门诊留观")
    ADMISSION = "admission", _("精神专科医院住院治疗")
    REFERRAL = "referral", _("双向转诊")


class Emergency(models.Model):
    """应急处置记录单: to be completed within 24 h of the emergency disposal."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="emergencies")
    occurred_at = models.DateTimeField(_("发生时间"))
    triggers = models.JSONField(_("应急情形"), default=list)
    risk_level = models.PositiveSmallIntegerField(_("危险性评估"))
    involved = models.JSONField(_("参与处置"), default=list)
    disposals = models.JSONField(_("处置措施"), default=list)
    hospital = models.CharField(_("送往医院"), max_length=200, blank=True)
    hospital_institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("送往医院（本平台机构）"),
    )
    description = EncryptedTextField(_("经过与处置"), blank=True)
    alert = models.ForeignKey(
        "crisis.Alert",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="smd_emergencies",
        verbose_name=_("关联危机预警"),
    )
    referral_id = models.PositiveBigIntegerField(null=True, blank=True)
    due_at = models.DateTimeField(_("记录单完成时限"), db_index=True)
    completed_at = models.DateTimeField(_("记录单完成时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def audit_area_code(self) -> str:
        return self.patient.person.home_area_id

    @property
    def completed_late(self) -> bool:
        return self.completed_at is not None and self.completed_at > self.due_at
