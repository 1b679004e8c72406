"""System checks for the crisis bus: a misconfigured bus would only show as slow alerts."""

from django.conf import settings
from django.core.checks import Error, register
from django.db import DEFAULT_DB_ALIAS, connections

from xinan.core import bus


@register()
def check_bus(app_configs, **kwargs):
    name = getattr(settings, "BUS_BACKEND", "") or ""
    if name and name not in bus.BACKENDS:
        return [
            Error(
                f"XINAN_BUS must be one of {', '.join(bus.BACKENDS)}, not {name!r}",
                id="xinan.E301",
            )
        ]
    if name == "postgres" and connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return [Error("XINAN_BUS=postgres needs a PostgreSQL database", id="xinan.E302")]
    return []
