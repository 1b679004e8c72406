from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "xinan.screening"
    label = "screening"
    verbose_name = _("心理筛查")
