"""The one worker: every registered consumer, every periodic sweep, every queued job.

    xinan worker                 # production: one or more of these beside the app processes
    xinan serve                  # the embedded default runs the same loops in-process

Each lane is a thread of its own with its own database connection, so live and critical work
never waits behind bulk work or sweeps (and, as the threads share the interpreter lock, the bulk
lane and the importer step aside while a live lane is in a pass: xinan/core/priority.py):

- `critical`: deliveries to consumers registered with lane="critical" (crisis alerts);
- `default`: deliveries to the other consumers;
- `bulk`: events written by `outbox.emit_many` (imports), one delivery each for every consumer;
- `sweeps`: the periodic sweeps (xinan/core/sweeper.py), each once per slot across workers;
- `jobs`: durable jobs (xinan/core/jobs.py, behind `django.tasks`).

A lane claims work with one conditional UPDATE (… WHERE the row is still free … RETURNING), so
two workers never take the same row, and holds what it claimed under a lease that a heartbeat
thread renews (xinan/core/leases.py): 1.5 s on the critical lane, 5 s elsewhere. A worker
killed mid-item stops renewing; once its lease runs out any live worker takes the item over.
A consumer's effects and the deletion of its delivery row commit in one transaction (after
re-checking the lease), so an event is processed effectively once even when a lease was lost
on the way (xinan/core/deliveries.py).

Each lane sleeps on the bus (xinan/core/bus.py) and also polls every WORKER_POLL_SECONDS, so a
lost notification delays work but never loses it.
"""

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection

from xinan.core import bus, priority
from xinan.core.deliveries import (  # noqa: F401 — the worker's API, used across the project
    BATCH,
    DELIVERY_LANES,
    MAX_ATTEMPTS,
    TRANSACTION_BUDGET,
    Claimed,
    LeaseLost,
    Result,
    _registered,
    _run_consumer,
    backoff,
    batch_size,
    claim,
    consumer_lane,
    deliver,
    lane_topics,
    load_events,
    retry_parked,
    run_items,
)
from xinan.core.leases import Leases, lease_seconds, worker_name  # noqa: F401
from xinan.core.sweeper import Sweeper, prune_sweep_runs, slot_of  # noqa: F401

log = logging.getLogger(__name__)

LANES = ("critical", "default", "bulk", "sweeps", "jobs")
JOBS_TOPIC = "jobs"
# After a wake-up, let the rest of a burst commit: a pass costs a claim, an event load and a
# commit whatever its size. The critical lane waits least; the default lane's consumers have a
# second to answer in, so it gathers more per pass.
COALESCE_SECONDS = {"critical": 0.02, "default": 0.05, "bulk": 0.05}


def poll_seconds(lane: str) -> float:
    if lane == "critical":
        return float(getattr(settings, "CRISIS_POLL_SECONDS", 0.1))
    return float(getattr(settings, "WORKER_POLL_SECONDS", 0.5))


class Worker:
    """The lanes as threads of this process, plus the heartbeat that renews their leases."""

    def __init__(
        self,
        lanes=LANES,
        *,
        name: str | None = None,
        on_pass: Callable[[str, object], None] | None = None,
    ):
        self.name = name or worker_name()
        self.lanes = tuple(lanes)
        self.stop = threading.Event()
        self.leases = Leases()
        self.on_pass = on_pass
        self.ready = {lane: threading.Event() for lane in self.lanes}
        self.threads: list[threading.Thread] = []
        self._listeners: set = set()

    def start(self) -> "Worker":
        for lane in self.lanes:
            target = {"sweeps": self._sweep_loop, "jobs": self._job_loop}.get(lane, self._lane_loop)
            args = (lane,) if target == self._lane_loop else ()
            t = threading.Thread(target=target, args=args, name=f"worker-{lane}", daemon=True)
            t.start()
            self.threads.append(t)
        hb = threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True)
        hb.start()
        self.threads.append(hb)
        return self

    def wait_ready(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        return all(e.wait(max(0, deadline - time.monotonic())) for e in self.ready.values())

    def shutdown(self, timeout: float = 10) -> None:
        self.stop.set()
        for listener in list(self._listeners):
            listener.interrupt()
        for t in self.threads:
            t.join(timeout)

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stop.wait(1):
                pass
        finally:
            self.shutdown()

    def _passed(self, lane: str, result) -> None:
        if self.on_pass is not None:
            self.on_pass(lane, result)
        self.ready[lane].set()

    def _listen(self, topics):
        listener = bus.listen(topics)
        self._listeners.add(listener)
        return listener

    def _guarded(self, lane: str, step: Callable[[], object]):
        try:
            return step()
        except Exception:  # noqa: BLE001 — the loop must outlive a database hiccup
            log.exception("worker: %s pass failed", lane)
            close_old_connections()
            return None

    def _lane_loop(self, lane: str) -> None:
        listener = self._listen(lane_topics(lane) or ["—"])
        try:
            while not self.stop.is_set():
                result = self._guarded(lane, lambda: self._deliver(lane))
                self._passed(lane, result)
                if self.stop.is_set():
                    break
                if result is not None and result.claimed >= batch_size(lane):
                    continue  # a backlog: the next batch now
                if listener.wait(poll_seconds(lane)) and not self.stop.is_set():
                    time.sleep(COALESCE_SECONDS.get(lane, 0.02))
        finally:
            self._listeners.discard(listener)
            listener.close()
            connection.close()

    def _deliver(self, lane: str):
        if lane == "bulk":
            return deliver(lane, self.name, leases=self.leases)
        with priority.live():  # this process's bulk work steps aside meanwhile
            return deliver(lane, self.name, leases=self.leases)

    def _sweep_loop(self) -> None:
        sweeper = Sweeper(self.name, self.leases)
        try:
            while not self.stop.is_set():
                result = self._guarded("sweeps", sweeper.run_due)
                self._passed("sweeps", result)
                self.stop.wait(float(getattr(settings, "WORKER_SWEEP_TICK_SECONDS", 0.25)))
        finally:
            connection.close()

    def _job_loop(self) -> None:
        from xinan.core import jobs

        listener = self._listen([JOBS_TOPIC])
        try:
            while not self.stop.is_set():
                ran = self._guarded("jobs", lambda: jobs.run_next(self.name, leases=self.leases))
                self._passed("jobs", ran)
                if ran:
                    continue
                listener.wait(float(getattr(settings, "WORKER_POLL_SECONDS", 0.5)))
        finally:
            self._listeners.discard(listener)
            listener.close()
            connection.close()

    def _heartbeat(self) -> None:
        try:
            while not self.stop.wait(float(getattr(settings, "WORKER_HEARTBEAT_SECONDS", 0.5))):
                self._guarded("heartbeat", lambda: self.leases.renew(self.name))
        finally:
            connection.close()


def run_once(worker: str | None = None, now: dt.datetime | None = None) -> dict:
    """Everything due now, in this thread, until no lane has work left: for tests and
    `xinan worker --once`. Returns counts per lane."""
    from xinan.core import jobs

    worker = worker or worker_name()
    counts = {"processed": 0, "failed": 0, "sweeps": {}, "jobs": 0}
    for lane in DELIVERY_LANES:
        while True:
            result = deliver(lane, worker)
            counts["processed"] += result.processed
            counts["failed"] += result.failed
            if result.claimed < batch_size(lane):
                break
    counts["sweeps"] = Sweeper(worker).run_due(now)
    while jobs.run_next(worker):
        counts["jobs"] += 1
    return counts


_started = False
_start_lock = threading.Lock()


def start_background() -> Worker | None:
    """Start the worker in this process (once) when `XINAN_WORKER_BACKGROUND` says so:
    `xinan serve` sets it, so the embedded default needs no second process; production with
    separate `xinan worker` processes sets it to 0. (XINAN_CRISIS_BACKGROUND, its old name,
    still counts.)"""
    global _started
    flag = os.environ.get("XINAN_WORKER_BACKGROUND") or os.environ.get("XINAN_CRISIS_BACKGROUND")
    if (flag or "0") not in {"1", "true", "yes", "on"}:
        return None
    with _start_lock:
        if _started:
            return None
        _started = True
    return Worker().start()
