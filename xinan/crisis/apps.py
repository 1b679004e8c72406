from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrisisConfig(AppConfig):
    name = "xinan.crisis"
    label = "crisis"
    verbose_name = _("危机预警")

    def ready(self):
        from xinan.crisis import checks, services  # noqa: F401 — registers audit actions, checks
