"""Crisis personas: on-duty workers in town A, town B and the district; event helpers."""

import dataclasses
import datetime as dt
import importlib
import itertools
import threading
import time

import pytest
from django.db import transaction
from django.utils import timezone

from xinan.core import events, outbox, worker
from xinan.core.models import OutboxEvent
from xinan.crisis import runner
from xinan.crisis.models import DutyShift
from xinan.screening.topics import AssessmentScored
from xinan.testing import factories

_assessment_ids = itertools.count(1000)


def scored(**overrides):
    """An `assessment.scored` payload, from the topic's one definition (screening/topics.py)."""
    payload = AssessmentScored(
        assessment_id=next(_assessment_ids),
        person_id=None,
        instrument="phq9",
        version="1",
        total=4,
        band="minimal",
        positive=False,
        critical=[],
        area_code="",
        anonymous=False,
        previous_total=None,
        mode="self",
        submitted_at=timezone.now().isoformat(),
    )
    return events.to_dict(dataclasses.replace(payload, **overrides))


def emit(**overrides):
    with transaction.atomic():
        return OutboxEvent.objects.get(pk=outbox.emit("assessment.scored", scored(**overrides)))


def item9(answer=2, level="red"):
    return [{"item": 9, "level": level, "answer": answer}]


def on_shift(user, area, hours=(-1, 8)):
    now = timezone.now()
    return DutyShift.objects.create(
        user=user,
        area=area,
        starts_at=now + dt.timedelta(hours=hours[0]),
        ends_at=now + dt.timedelta(hours=hours[1]),
    )


@pytest.fixture(autouse=True)
def _default_rules(db):
    """Transactional tests (the browser's) flush the seeded rules away: put them back."""
    from django.apps import apps

    importlib.import_module("xinan.crisis.migrations.0002_default_rules").seed(apps, None)


@pytest.fixture
def crisis_a(areas):
    """Crisis worker for town A (华阳路街道), on duty now."""
    user = factories.staff("crisis_worker", area=areas["town_a"], username="crisis_a")
    on_shift(user, areas["town_a"])
    return user


@pytest.fixture
def crisis_a2(areas):
    """A second town-A crisis worker, also on duty."""
    user = factories.staff("crisis_worker", area=areas["town_a"], username="crisis_a2")
    on_shift(user, areas["town_a"])
    return user


@pytest.fixture
def crisis_b(areas):
    """Crisis worker for town B (新泾镇), on duty now."""
    user = factories.staff("crisis_worker", area=areas["town_b"], username="crisis_b")
    on_shift(user, areas["town_b"])
    return user


@pytest.fixture
def crisis_district(areas):
    """The district crisis team lead, on duty now."""
    user = factories.staff("crisis_worker", area=areas["district"], username="crisis_d")
    on_shift(user, areas["district"])
    return user


class RunningLoop:
    """The worker's critical lane in a thread, with a fallback poll so long that only the bus
    can wake it.

    The test thread touches the database only while the lane is asleep on the bus (before the
    first pass is done, the lane owns it; after a pass, the test waits on `passes`). On
    SQLite's shared-cache test database two connections that overlap get "database table is
    locked" (SQLITE_LOCKED, which no busy timeout waits out).
    """

    def __init__(self, interval=60.0, lanes=("critical",)):
        from django.conf import settings

        self._settings = settings
        self._interval = interval
        self.results = []
        self.passed = threading.Condition()
        self.worker = worker.Worker(lanes, on_pass=self._on_pass)

    def _on_pass(self, lane, result):
        with self.passed:
            self.results.append(result)
            self.passed.notify_all()

    def __enter__(self):
        self._old = self._settings.CRISIS_POLL_SECONDS
        self._settings.CRISIS_POLL_SECONDS = self._interval
        self.worker.start()
        assert self.worker.wait_ready(10), "the worker's first pass did not finish"
        return self

    def wait_for_alerts(self, n=1, timeout=5.0) -> float:
        """Until n events were delivered to the crisis consumer; returns the seconds taken."""
        started = time.monotonic()
        with self.passed:
            ok = self.passed.wait_for(
                lambda: sum(r.by_consumer.get(runner.CONSUMER, 0) for r in self.results if r) >= n,
                timeout,
            )
        assert ok, f"nothing delivered within {timeout}s; passes: {self.results}"
        return time.monotonic() - started

    def __exit__(self, *exc):
        self.worker.shutdown()
        self._settings.CRISIS_POLL_SECONDS = self._old
        assert not any(t.is_alive() for t in self.worker.threads)
