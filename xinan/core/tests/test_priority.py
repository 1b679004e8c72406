"""Live work first within a worker process: bulk work steps aside while a live lane runs."""

import threading

from django.db import transaction

from xinan.core import deliveries, events, outbox, priority, worker
from xinan.core.models import Delivery

TOPIC = "test.priority.ping"
during_live: list[bool] = []  # per bulk call: was a live pass running in this process?


@events.consumer(TOPIC, name="test.priority.bulk")
def note(event: events.Event) -> None:
    during_live.append(priority.busy())


def test_the_bulk_lane_waits_while_a_live_pass_runs_and_then_delivers_everything(db, monkeypatch):
    monkeypatch.setattr(priority, "STEP_ASIDE_SECONDS", 60)
    during_live.clear()
    with transaction.atomic():
        outbox.emit_many(TOPIC, [{"n": n} for n in range(50)])
    entered, stepped_aside = threading.Event(), []

    def live_pass():
        # a critical pass in another thread of this process, until the bulk lane steps aside
        with priority.live():
            entered.set()
            for _ in range(1000):
                if priority.waiting():
                    stepped_aside.append(True)
                    return
                threading.Event().wait(0.005)

    t = threading.Thread(target=live_pass)
    t.start()
    entered.wait(10)
    result = worker.deliver("bulk", "w")
    t.join(10)
    assert stepped_aside == [True]
    assert result.processed == 50 and during_live == [False] * 50
    assert not Delivery.objects.filter(consumer="test.priority.bulk").exists()


def test_bulk_work_goes_on_when_live_work_outlasts_the_step_aside(db, monkeypatch):
    monkeypatch.setattr(priority, "STEP_ASIDE_SECONDS", 0.01)
    during_live.clear()
    with transaction.atomic():
        outbox.emit_many(TOPIC, [{"n": n} for n in range(3)])
    with priority.live():
        result = worker.deliver("bulk", "w")
    assert result.processed == 3 and during_live == [True] * 3


def test_the_live_lanes_mark_their_passes_and_the_bulk_lane_does_not(db, monkeypatch):
    seen: dict[str, bool] = {}

    def claim(lane, name, limit=None, now=None):
        seen[lane] = priority.busy()
        return []

    monkeypatch.setattr(deliveries, "claim", claim)
    w = worker.Worker(name="w")
    for lane in ("critical", "default", "bulk"):
        w._deliver(lane)
    assert seen == {"critical": True, "default": True, "bulk": False}
    assert not priority.busy()
