from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InstrumentsConfig(AppConfig):
    name = "xinan.instruments"
    label = "instruments"
    verbose_name = _("量表")

    def ready(self) -> None:
        from xinan.instruments import checks  # noqa: F401  (registers the definition check)
