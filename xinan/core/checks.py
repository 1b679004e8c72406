"""System checks for configuration that would otherwise fail at the worst moment."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_secrets(app_configs, **kwargs):
    problems = []
    if not settings.DEBUG and not settings.FIELD_ENCRYPTION_KEYS:
        problems.append(Error("no field encryption key", id="xinan.E001"))
    if settings.SMALL_CELL_THRESHOLD < 1:
        problems.append(Error("XINAN_SMALL_CELL_THRESHOLD must be at least 1", id="xinan.E002"))
    if settings.BREAK_GLASS_HOURS < 1 or settings.BREAK_GLASS_HOURS > 24:
        problems.append(
            Warning("XINAN_BREAK_GLASS_HOURS should be between 1 and 24", id="xinan.W001")
        )
    booking = settings.BOOKING_URL
    if booking and not booking.startswith(("https://", "http://")):
        problems.append(Error("XINAN_BOOKING_URL must be an http(s) address", id="xinan.E003"))
    return problems


@register()
def check_proxies(app_configs, **kwargs):
    import ipaddress

    problems = []
    for entry in settings.TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(
                Error(
                    f"XINAN_TRUSTED_PROXIES: {entry!r} is not an address or network",
                    id="xinan.E004",
                )
            )
    return problems
