"""Sections of the staff workbench, contributed by each app.

An app that has work to show a role declares it in its own `workbench.py`, found at start-up:

    from xinan.core.workbench import Section, section

    @section(order=20)
    def my_follow_ups(request) -> Section | None:
        if not can_do_follow_ups(request.user):
            return None
        return Section("smd/_workbench.html", {"due": ...})

The workbench renders the sections in `order` (lower first: worklists lead, counts follow);
a function that returns None shows nothing for that user.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import autodiscover_modules


@dataclass
class Section:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


SectionFunc = Callable[[Any], Section | None]

_registry: list[tuple[int, str, SectionFunc]] = []


def section(*, order: int) -> Callable[[SectionFunc], SectionFunc]:
    def register(func: SectionFunc) -> SectionFunc:
        key = f"{func.__module__}.{func.__qualname__}"
        if not any(name == key for _, name, _ in _registry):
            _registry.append((order, key, func))
            _registry.sort(key=lambda item: (item[0], item[1]))
        return func

    return register


def sections_for(request) -> list[Section]:
    shown = []
    for _, _, func in _registry:
        result = func(request)
        if result is not None:
            shown.append(result)
    return shown


def autodiscover() -> None:
    """Import every installed app's `workbench` module (called from CoreConfig.ready)."""
    autodiscover_modules("workbench")
