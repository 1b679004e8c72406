from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "xinan.booking"
    label = "booking"
    verbose_name = _("预约")

    def ready(self):
        from xinan.core import navigation

        navigation.register(_("我的咨询"), "booking:sessions", roles={"counsellor"}, order=30)
        navigation.register(_("心理服务券"), "booking:budgets", roles={"area_admin"}, order=62)
