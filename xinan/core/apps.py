from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "xinan.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from xinan.core import (
            checks,  # noqa: F401  (registers system checks)
            events,
            schedule,
            workbench,
        )

        # Each app's consumers.py, sweeps.py and workbench.py register themselves on import.
        events.autodiscover()
        schedule.autodiscover()
        workbench.autodiscover()

        from xinan.core import navigation

        # imports and invitation runs, with their state (the page lists one's own jobs)
        navigation.register(
            _("后台任务"), "jobs", roles={"grid_worker", "area_admin", "sysadmin"}, order=90
        )
