"""The app's one exception, and gettext that also works where Django is not set up.

The engine is a pure library: the CLI, the web app and a researcher's script without Django
settings all call it. Messages are Chinese source strings; where Django is configured and its
apps are loaded they go through gettext so the English interface shows them in English.
"""

from typing import Any


def _(message: str) -> str:
    """gettext when Django can translate, else the Chinese source string unchanged."""
    try:
        from django.apps import apps
        from django.conf import settings
    except ImportError:  # pragma: no cover — the engine also runs without Django installed
        return message
    if not (settings.configured and apps.ready):
        return message
    from django.utils.translation import gettext

    return gettext(message)


class InstrumentError(Exception):
    """Bad instrument definition or bad answers; the message is for people."""

    def __init__(self, message: str, **params: Any):
        # Callers pass a gettext'ed template and its parameters separately so the template (not
        # the filled-in text) is what the translation catalogue is keyed on.
        text = message % params if params else message
        super().__init__(text)
        self.message = text
