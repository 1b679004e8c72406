"""Periodic sweeps: the one scheduler's registry.

Due times are indexed `due_at` columns; a sweep claims what is overdue and escalates it through
the outbox. An app declares its sweeps in its own `sweeps.py`, found at start-up:

    from xinan.core.schedule import periodic

    @periodic("cases.escalate_overdue_tasks", every=dt.timedelta(minutes=1))
    def escalate_overdue_tasks(now: dt.datetime) -> int:
        ...  # returns how many items it handled; must be safe to run twice for one slot

The worker fires each sweep once per slot (`every`) across all workers and catches up after
downtime without firing a slot twice.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.module_loading import autodiscover_modules

SweepFunc = Callable[[dt.datetime], int | None]


@dataclass(frozen=True)
class Sweep:
    name: str
    every: dt.timedelta
    func: SweepFunc = field(compare=False)
    lane: str = "sweep"


_registry: dict[str, Sweep] = {}


def periodic(
    name: str, *, every: dt.timedelta, lane: str = "sweep"
) -> Callable[[SweepFunc], SweepFunc]:
    if every <= dt.timedelta(0):
        raise ValueError("a sweep's period must be positive")

    def register(func: SweepFunc) -> SweepFunc:
        existing = _registry.get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"sweep {name!r} is already registered")
        _registry[name] = Sweep(name=name, every=every, func=func, lane=lane)
        return func

    return register


def sweeps() -> list[Sweep]:
    return sorted(_registry.values(), key=lambda s: s.name)


def get(name: str) -> Sweep:
    return _registry[name]


def autodiscover() -> None:
    """Import every installed app's `sweeps` module (called from CoreConfig.ready)."""
    autodiscover_modules("sweeps")
