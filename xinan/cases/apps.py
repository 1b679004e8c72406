from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "xinan.cases"
    label = "cases"
    verbose_name = _("个案闭环")
