from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    name = "xinan.network"
    label = "network"
    verbose_name = _("服务网络")
