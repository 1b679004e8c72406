"""The registry: a patient per person, the hospitals' diagnosis reports queued for the home
area's CHC, and moves between areas."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib.crypto import EncryptedTextField

from .choices import (
    Classification,
    Disorder,
    Economic,
    Employment,
    Household,
    Locking,
    OutpatientHistory,
    PatientStatus,
    ReportStatus,
)


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
