"""Staff navigation by role: each app registers its pages, base.html shows the user's.

An app adds its entries from its AppConfig.ready():

    from xinan.core import navigation

    navigation.register(_("我的个案"), "cases:list", roles={"counsellor", "doctor"}, order=20)

`roles` are role code names (accounts.Role); an entry shows for a user holding any of them.
Entries are shown by `order` (lower first), then by label. Showing a link decides nothing about
access: the view still checks the user's roles and scope.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Entry:
    label: Any  # a lazy translation: evaluated in the request's language
    url_name: str
    roles: frozenset[str]
    order: int

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_registry: dict[str, Entry] = {}


def register(label: Any, url_name: str, *, roles: Iterable[str], order: int) -> None:
    """Add (or replace, when ready() runs twice) the entry for `url_name`."""
    roles = frozenset(roles)
    if not roles:
        raise ValueError(f"navigation entry {url_name!r} needs at least one role")
    _registry[url_name] = Entry(label=label, url_name=url_name, roles=roles, order=order)


def entries() -> list[Entry]:
    return sorted(_registry.values(), key=lambda e: (e.order, str(e.label)))


def entries_for(user) -> list[dict[str, str]]:
    """The entries a user's roles show, as label and URL, in order."""
    if user is None or not user.is_authenticated:
        return []
    roles = user.roles()
    shown = []
    for entry in entries():
        if entry.roles & roles:
            try:
                shown.append({"label": str(entry.label), "url": entry.url, "name": entry.url_name})
            except NoReverseMatch:  # an app's URLs not mounted in this deployment
                continue
    return shown
