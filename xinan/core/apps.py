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
            privacy,
            schedule,
            workbench,
        )

        # Each app's consumers.py, sweeps.py and workbench.py register themselves on import.
        events.autodiscover()
        schedule.autodiscover()
        workbench.autodiscover()
        # Each app's privacy.py registers its export / erasure of a person's data.
        privacy.autodiscover()
        chinese_empty_choices()

        from xinan.core import navigation

        # imports and invitation runs, with their state (the page lists one's own jobs)
        navigation.register(
            _("后台任务"), "jobs", roles={"grid_worker", "area_admin", "sysadmin"}, order=90
        )


def chinese_empty_choices() -> None:
    """Every form's empty choice in Chinese: Django's "- Select an option -" (model choice
    fields, model forms) and "---------" (admin and older paths) read "请选择"."""
    from django.db.models import fields

    fields.BLANK_CHOICE_LABEL = _("- 请选择 -")
    fields.BLANK_CHOICE_DASH[0] = ("", _("- 请选择 -"))
