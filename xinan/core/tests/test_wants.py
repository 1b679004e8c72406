"""A consumer's `wants`: an event it would ignore gets no delivery row for it."""

import dataclasses
import json
from typing import ClassVar

from django.db import transaction

from xinan.core import events, outbox, worker
from xinan.core.models import Delivery
from xinan.screening.models import Mode
from xinan.screening.services import submit_assessment

TOPIC = "test.wants.number"
handled: list[tuple[str, int]] = []


@dataclasses.dataclass(frozen=True)
class Number:
    TOPIC: ClassVar[str] = TOPIC
    n: int


@events.consumer(TOPIC, name="test.wants.every")
def every(event: events.Event) -> None:
    handled.append(("every", event.payload["n"]))


@events.consumer(TOPIC, name="test.wants.even", wants=lambda p: p["n"] % 2 == 0)
def even(event: events.Event) -> None:
    handled.append(("even", event.payload["n"]))


def owed() -> list[tuple[str, int]]:
    return sorted(
        (consumer, json.loads(payload)["n"] if isinstance(payload, str) else payload["n"])
        for consumer, payload in Delivery.objects.filter(
            consumer__startswith="test.wants."
        ).values_list("consumer", "event__payload")
    )


def test_emit_writes_a_delivery_only_for_the_consumers_that_want_the_event(db):
    with transaction.atomic():
        for n in (1, 2):
            outbox.emit_event(Number(n))
    assert owed() == [("test.wants.even", 2), ("test.wants.every", 1), ("test.wants.every", 2)]
    handled.clear()
    worker.run_once("test")
    assert sorted(handled) == [("even", 2), ("every", 1), ("every", 2)]


def test_emit_many_asks_wants_of_typed_payloads_and_delivers_json_text_to_everyone(db):
    with transaction.atomic():
        outbox.emit_many(TOPIC, [Number(3), {"n": 4}], bulk=False)
        outbox.emit_many(TOPIC, [json.dumps({"n": 5})])
    assert owed() == [
        ("test.wants.even", 4),
        ("test.wants.even", 5),  # JSON text is not parsed back: the consumer decides
        ("test.wants.every", 3),
        ("test.wants.every", 4),
        ("test.wants.every", 5),
    ]


def test_a_calm_screen_owes_nothing_to_the_positive_screen_consumers(person_a):
    calm = submit_assessment(
        instrument_code="PHQ-9", answers=[0] * 9, mode=Mode.SELF, actor=None, person=person_a
    )
    positive = submit_assessment(
        instrument_code="PHQ-9", answers=[2] * 8 + [0], mode=Mode.SELF, actor=None, person=person_a
    )
    by_event = {}
    for event_id, consumer in Delivery.objects.values_list("event_id", "consumer"):
        by_event.setdefault(event_id, set()).add(consumer)
    calm_owed, positive_owed = (
        by_event[e]
        for e in (
            Delivery.objects.filter(event__payload__assessment_id=a.pk).values_list(
                "event_id", flat=True
            )[0]
            for a in (calm, positive)
        )
    )
    positive_only = {"cases.open_from_positive_screen", "booking.voucher_for_positive_screen"}
    assert positive_only <= positive_owed
    assert not positive_only & calm_owed
    assert {"crisis.alert_from_assessment", "cases.complete_follow_up"} <= calm_owed
