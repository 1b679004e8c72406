from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmdConfig(AppConfig):
    name = "xinan.smd"
    label = "smd"
    verbose_name = _("严重精神障碍")
