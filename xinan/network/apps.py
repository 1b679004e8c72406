from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    name = "xinan.network"
    label = "network"
    verbose_name = _("服务网络")

    def ready(self):
        from xinan.core import navigation

        navigation.register(_("服务网络"), "network:site_list", roles={"area_admin"}, order=60)
        navigation.register(_("人才库"), "network:professionals", roles={"area_admin"}, order=61)
