"""The token calls' short middleware stack may not silently lose a rule the site has."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_token_stack(app_configs, **kwargs):
    from xinan.api.handler import SITE_ONLY_MIDDLEWARE

    api = set(settings.API_MIDDLEWARE)
    return [
        Error(
            f"{path} is in MIDDLEWARE but token calls to /api/ skip it",
            hint="Add it to API_MIDDLEWARE, or to SITE_ONLY_MIDDLEWARE in xinan/api/handler.py "
            "with the reason token calls need not run it.",
            id="xinan.E401",
        )
        for path in settings.MIDDLEWARE
        if path not in api and path not in SITE_ONLY_MIDDLEWARE
    ]
