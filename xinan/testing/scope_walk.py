"""The walk-every-URL security test's registry and rules (the test: xinan/core/tests/
test_scope_walk.py; how to register a URL: its docstring and CONTRIBUTING.md).

Each app keeps one small module, `xinan/<app>/tests/scope_walk.py`, with

- `build(world: World) -> None` (optional): creates that app's records in ANOTHER scope — the
  district 徐汇区 (310104), which no walking role reaches — and names them on the world
  (`world.add("alert", alert)`), registers the strings that must never show up for the walkers
  (`world.secret(...)`) and what must not change (`world.watch(label, queryset)`);
- `URLS: dict[str, Target]`: every URL name of the app (namespaced, e.g. `"crisis:alert"`)
  mapped to `Hidden(...)` (a URL for an object of the other scope: only 404 or a redirect to
  login) or `Page(...)` (a page without such an object: anything but a 5xx, and nothing of the
  other scope in it); a key ending in `*` covers every name with that prefix (the admin's).

Builders run in INSTALLED_APPS order, so an app may use what an earlier app's builder added.
"""

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db.models import QuerySet

MISSING_ID = 2_000_000_000  # an id no row has, to compare the answer for "missing" with


class World:
    """The records of another scope, what must not leak from them and what must not change."""

    def __init__(self):
        self.objects: dict[str, Any] = {}
        self.secrets: dict[str, frozenset[str]] = {}  # value -> roles that may see it
        self.watched: dict[str, Callable[[], Any]] = {}
        self.tables: set[str] = set()  # every table a watched query reads
        self._cached: tuple[Any, dict[str, Any]] | None = None  # (write mark, snapshot)

    def add(self, name: str, obj: Any, *, watch: bool = True) -> Any:
        self.objects[name] = obj
        if watch and hasattr(obj, "_meta"):
            model, pk = type(obj), obj.pk
            self.watch(name, model._default_manager.filter(pk=pk))
        return obj

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None

    def secret(self, *values: str, seen_by: tuple[str, ...] = ()) -> None:
        """Strings no walking role may see in any answer (but the roles in `seen_by`)."""
        for v in values:
            if v:
                self.secrets[v] = frozenset(seen_by)

    def secrets_for(self, role: str, sent: set[str]) -> list[str]:
        """What must not show for this role: the secrets it may not see, less what it sent
        (a search box shows back what was typed)."""
        return [v for v, roles in self.secrets.items() if role not in roles and v not in sent]

    def watch(self, label: str, queryset: QuerySet) -> None:
        """Rows (all their columns) that no walking request may change."""
        query = queryset.order_by("pk").query
        sql, params = query.sql_with_params()  # compiled once
        self.tables |= {alias.table_name for alias in query.alias_map.values()}
        self.watched[label] = lambda: _raw_rows(sql, params)
        self._cached = None

    def snapshot(self, *, fresh: bool = False) -> dict[str, Any]:
        """Every watched query's rows. Read again only when a row of a watched table may have
        changed since the last read (`_write_mark`): the walk takes a snapshot around each of
        its hundreds of POSTs, most of which write nothing there, and on PostgreSQL reading
        the ~70 queries each time was half the walk's time. `fresh` reads regardless (the
        walk's first and last snapshots, which also catch a write the mark could not see)."""
        mark = _write_mark(self.tables)
        if not fresh and mark is not None and self._cached and self._cached[0] == mark:
            return self._cached[1]
        taken = {label: read() for label, read in self.watched.items()}
        self._cached = (mark, taken) if mark is not None else None
        return taken

    def of_model(self, model) -> Any | None:
        """A world object of this model, if any (the admin's change pages)."""
        return next((o for o in self.objects.values() if type(o) is model), None)


def _write_mark(tables: set[str]) -> Any | None:
    """A value that changes whenever this connection writes a row of `tables`, or None where
    the database keeps no such count. PostgreSQL counts the rows each table had inserted,
    updated or deleted in the current transaction (every walk runs in one, the test's);
    SQLite counts the rows its connection changed in any table."""
    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            # no count without track_counts (on by default): then no mark, every read fresh
            cursor.execute(
                "SELECT CASE WHEN current_setting('track_counts')::boolean THEN"
                " coalesce(sum(pg_stat_get_xact_tuples_inserted(t)"
                " + pg_stat_get_xact_tuples_updated(t) + pg_stat_get_xact_tuples_deleted(t)), 0)"
                " END FROM unnest(%s::regclass[]) AS t",
                [sorted(tables)],
            )
            return cursor.fetchone()[0]
    if connection.vendor == "sqlite":
        raw = connection.connection
        return (id(raw), raw.total_changes)
    return None


def _raw_rows(sql: str, params) -> list[tuple]:
    """The rows as stored (ciphertext left as it is: a snapshot needs no decryption)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(map(repr, row)) for row in cursor.fetchall()]


@dataclasses.dataclass(frozen=True)
class Target:
    """How the walk calls one URL name.

    kwargs: the URL's arguments, from the world; data: GET query and POST body (from the
    world); may_change: roles for which a POST may legitimately change watched rows.
    """

    kwargs: Callable[[World], dict[str, Any]] | None = None
    data: Callable[[World], dict[str, Any]] | None = None
    may_change: frozenset[str] = frozenset()
    hidden: bool = False
    api: bool = False  # called with the role's bearer token, the data as JSON
    admin: bool = False  # Django's admin: sysadmins only (see Admin)
    skip: str = ""  # why this pattern is not called (it is covered another way)


def Hidden(kwargs, data=None) -> Target:  # noqa: N802 — reads like a rule in the registries
    """An object of the other scope: 404 or a redirect to login, the same answer as for an id
    that does not exist (403/405 only when a missing id gets them too)."""
    return Target(kwargs=kwargs, data=data, hidden=True)


def Page(kwargs=None, data=None, may_change=()) -> Target:  # noqa: N802
    """A page naming no object of the other scope (or a bearer link meant for anyone holding
    it): no 5xx, none of the other scope's secrets in the answer, no watched row changed."""
    return Target(kwargs=kwargs, data=data, may_change=frozenset(may_change))


def Api(data=None, kwargs=None) -> Target:  # noqa: N802
    """An API operation, called with each role's bearer token: like Page."""
    return Target(kwargs=kwargs, data=data, api=True)


def Admin() -> Target:  # noqa: N802
    """Django's admin: every role but the sysadmin is sent to the admin's login (or 404); the
    sysadmin's pages (object pages on the world's rows) follow Page's rules."""
    return Target(admin=True)


def Skip(reason: str) -> Target:  # noqa: N802
    """Not called: say why (e.g. a redirect to a pattern that is walked)."""
    assert reason
    return Target(skip=reason)


def modules() -> list[Any]:
    """Each installed xinan app's tests.scope_walk module, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("xinan."):
            continue
        try:
            found.append(importlib.import_module(f"{config.name}.tests.scope_walk"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.tests.scope_walk":
                raise
    return found


def registry() -> dict[str, Target]:
    merged: dict[str, Target] = {}
    for module in modules():
        for name, target in getattr(module, "URLS", {}).items():
            assert name not in merged, f"{name} registered twice (in {module.__name__})"
            merged[name] = target
    return merged


def target_for(name: str, targets: dict[str, Target]) -> Target | None:
    if name in targets:
        return targets[name]
    prefixes = [k for k in targets if k.endswith("*") and name.startswith(k[:-1])]
    return targets[max(prefixes, key=len)] if prefixes else None


def build_world() -> World:
    world = World()
    for module in modules():
        build = getattr(module, "build", None)
        if build is not None:
            build(world)
    return world


def url_names() -> dict[str, Any]:
    """Every URL pattern of the project by its namespaced name (unnamed ones as their route)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    names: dict[str, Any] = {}

    def walk(patterns, namespace: str, route: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns, route + str(p.pattern))
            elif isinstance(p, URLPattern):
                key = f"{namespace}{p.name}" if p.name else f"<unnamed {route}{p.pattern}>"
                names.setdefault(key, p)

    walk(get_resolver().url_patterns, "", "")
    return names


def missing(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The same arguments with every id replaced by one that does not exist."""
    return {k: (MISSING_ID if isinstance(v, int) else v) for k, v in kwargs.items()}
