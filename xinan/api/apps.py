from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "xinan.api"
    verbose_name = _("接口")

    def ready(self):
        from xinan.api import checks  # noqa: F401  (registers the token-stack check)
