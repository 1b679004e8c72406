from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "xinan.cases"
    label = "cases"
    verbose_name = _("个案闭环")

    def ready(self) -> None:
        from xinan.core import navigation

        workers = {"grid_worker", "social_worker", "counsellor", "doctor", "psychiatrist"}
        navigation.register(
            _("我的待办"),
            "cases:worklist",
            roles=workers | {"area_admin", "crisis_worker"},
            order=10,
        )
        navigation.register(_("个案"), "cases:list", roles=workers | {"crisis_worker"}, order=11)
        navigation.register(_("转介"), "cases:referrals", roles=workers, order=12)
        navigation.register(
            _("闭环指标"), "cases:figures", roles={"area_admin", "psychiatrist"}, order=60
        )
