"""Emergency disposals (应急处置记录单)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib.crypto import EncryptedTextField

from .registry import Patient


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
