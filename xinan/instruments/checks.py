from django.core.checks import Error, register

from xinan.instruments.errors import InstrumentError


@register()
def check_instrument_definitions(app_configs, **kwargs):
    """Every definition file (and every licensed text file) must load and validate, and the
    deployment's cutoff overrides must name real instruments and keys, before the platform
    serves a scale."""
    from django.conf import settings

    from xinan.instruments import registry

    try:
        registry.load_registry()
    except InstrumentError as exc:
        return [Error(f"instrument definition invalid: {exc.message}", id="xinan.E101")]
    overrides = getattr(settings, "INSTRUMENT_CUTOFF_OVERRIDES", None)
    return [
        Error(f"INSTRUMENT_CUTOFF_OVERRIDES: {problem}", id="xinan.E102")
        for problem in registry.override_problems(overrides)
    ]
