"""Personal data export and erasure per person (PIPL 个人信息保护法 art. 45 and 47): a registry
each app contributes to, like pretix's shredder.

An app holding data about a person declares in its own `privacy.py` (found at start-up):

    from xinan.core import privacy

    @privacy.exporter("cases")
    def export_person(person) -> dict: ...         # JSON-safe: what the app holds about them

    @privacy.eraser("cases")
    def erase_person(person, *, actor) -> None: ...  # remove or irreversibly anonymise

    @privacy.blocker("cases")
    def open_work(person) -> str | None: ...       # a Chinese reason the erasure must wait

Erasure keeps rows that aggregate counts read (an assessment's score, band, area and date; an
alert's level and times) and strips what identifies the person or is free text about them. The
audit log is never touched: its entries name the person by id only, and the export and the
erasure are audited themselves. The service verbs that run the registry are in
xinan/people/services_privacy.py.
"""

from collections.abc import Callable
from typing import Any

from django.utils.module_loading import autodiscover_modules

Exporter = Callable[[Any], dict[str, Any]]
Eraser = Callable[..., None]
Blocker = Callable[[Any], str | None]

_exporters: dict[str, Exporter] = {}
_erasers: dict[str, Eraser] = {}
_blockers: dict[str, Blocker] = {}


def _register(table: dict, app: str):
    def decorator(func):
        existing = table.get(app)
        if existing is not None and existing is not func:
            raise ValueError(f"{app!r} already has one registered")
        table[app] = func
        return func

    return decorator


def exporter(app: str) -> Callable[[Exporter], Exporter]:
    return _register(_exporters, app)


def eraser(app: str) -> Callable[[Eraser], Eraser]:
    return _register(_erasers, app)


def blocker(app: str) -> Callable[[Blocker], Blocker]:
    return _register(_blockers, app)


def exporters() -> dict[str, Exporter]:
    return dict(sorted(_exporters.items()))


def erasers() -> dict[str, Eraser]:
    """In registration order (INSTALLED_APPS order): people, the owner of the record, first."""
    return dict(_erasers)


def blockers() -> dict[str, Blocker]:
    return dict(sorted(_blockers.items()))


def autodiscover() -> None:
    """Import every installed app's `privacy` module (called from CoreConfig.ready)."""
    autodiscover_modules("privacy")
