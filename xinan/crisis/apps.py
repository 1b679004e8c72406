from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class CrisisConfig(AppConfig):
    name = "xinan.crisis"
    label = "crisis"
    verbose_name = _("危机预警")

    def ready(self):
        from xinan.core.models import OutboxEvent
        from xinan.crisis import runner, services  # noqa: F401 — registers audit actions

        # Wake the in-process consumer the moment an assessment event commits.
        post_save.connect(runner.on_outbox_saved, sender=OutboxEvent, dispatch_uid="crisis-wake")
