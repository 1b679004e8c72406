"""Who consumes which topic: the registry behind the outbox.

An app declares its consumers in its own `consumers.py`, found at start-up like admin modules:

    from xinan.core.events import Event, consumer

    @consumer("assessment.scored", name="cases.open_from_positive_screen")
    def open_case(event: Event) -> None:
        ...  # idempotent: the same event may arrive twice

Every consumer of a topic gets every event of that topic; the worker (`xinan worker`) delivers
them, each consumer on its own, so one failing consumer never holds up another. A consumer runs
inside a transaction of its own and must be idempotent (check before it writes, or key what it
writes by `event.id`).

Payloads are typed once per topic, in the producing app's `topics.py`: a frozen dataclass with
the topic's name as `TOPIC`, written with `outbox.emit_event(payload)` (or `emit_many` for bulk
writers) and read back with `event.data(ThePayload)`.
"""

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class Event:
    """One outbox row as a consumer sees it."""

    id: int
    topic: str
    payload: dict[str, Any]
    created_at: dt.datetime | None = None

    @property
    def pk(self) -> int:
        return self.id

    def data(self, cls: type["P"]) -> "P":
        """The payload as its topic's dataclass (keys it does not know are left out)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in self.payload.items() if k in names})


class Payload(Protocol):
    """A topic's payload: a frozen dataclass with the topic's name."""

    TOPIC: ClassVar[str]


P = TypeVar("P")


def to_dict(payload: Any) -> dict[str, Any]:
    """A payload dataclass as the JSON object stored in the outbox (field by field, shallow)."""
    return {f.name: getattr(payload, f.name) for f in dataclasses.fields(payload)}


ConsumerFunc = Callable[[Event], None]


@dataclass(frozen=True)
class Consumer:
    topic: str
    name: str  # stable: delivery rows are keyed by it
    func: ConsumerFunc = field(compare=False)
    lane: str = "default"  # "critical" lanes never wait behind bulk work


_registry: dict[str, dict[str, Consumer]] = {}


def consumer(
    topic: str, *, name: str, lane: str = "default"
) -> Callable[[ConsumerFunc], ConsumerFunc]:
    """Subscribe the decorated function to `topic` under a stable `name`."""

    def register(func: ConsumerFunc) -> ConsumerFunc:
        existing = _registry.setdefault(topic, {}).get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"consumer {name!r} is already registered for {topic!r}")
        _registry[topic][name] = Consumer(topic=topic, name=name, func=func, lane=lane)
        return func

    return register


def consumers_for(topic: str) -> list[Consumer]:
    return list(_registry.get(topic, {}).values())


def all_consumers() -> list[Consumer]:
    return [c for by_name in _registry.values() for c in by_name.values()]


def topics() -> list[str]:
    return sorted(_registry)


def autodiscover() -> None:
    """Import every installed app's `consumers` module (called from CoreConfig.ready)."""
    autodiscover_modules("consumers")
