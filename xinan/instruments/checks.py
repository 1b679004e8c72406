from django.core.checks import Error, register

from xinan.instruments.errors import InstrumentError


@register()
def check_instrument_definitions(app_configs, **kwargs):
    """Every definition file must load and validate before the platform serves a scale."""
    from xinan.instruments import registry

    try:
        registry.load_registry()
    except InstrumentError as exc:
        return [Error(f"instrument definition invalid: {exc.message}", id="xinan.E101")]
    return []
