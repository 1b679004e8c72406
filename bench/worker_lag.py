"""Part "lag" of bench/worker_bench.py: three more consumers of `assessment.scored` at 200
events/s, emitted by two processes, run by two workers that know them; crisis alert latency
meanwhile."""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time

from bench.worker_bench import ROOT, Workers, live_alerts, summary

LAG_CONSUMERS = (1, 2, 3)


def register_lag_consumers(note=None) -> None:
    """The three bench consumers of assessment.scored; `note(n, event)` is what they do."""
    from xinan.core import events

    for n in LAG_CONSUMERS:
        events.consumer("assessment.scored", name=f"bench.lag{n}")(
            (lambda event, n=n: note(n, event)) if note else (lambda event: None)
        )


def lag_worker(lag_file: str) -> None:
    """A `xinan worker` that also runs the three bench consumers, each noting its lag (now −
    the event's commit time, from created_at) in `lag_file`."""
    from django.utils import timezone

    from xinan.core import worker

    out = open(lag_file, "a", buffering=1)  # noqa: SIM115 — open for the process's life

    def note(n, event):
        # Only the emitters' events (they name no assessment): an import's bulk events still
        # owed by an earlier part reach these consumers too (a bulk delivery is for every
        # consumer of the topic), and their age is not this part's lag.
        if event.payload.get("assessment_id") is None:
            out.write(f"{n} {(timezone.now() - event.created_at).total_seconds():.4f}\n")

    register_lag_consumers(note)
    worker.Worker(name=f"lag-{os.getpid()}").run_forever()


def emitter(rate: float, seconds: float, t0: float, index: int, procs: int, threads=2) -> None:
    """One of `procs` emitting processes: its share of `rate` events/s open-loop from t0, on
    `threads` threads; prints how many it wrote and when it ended."""
    from django.db import connection, transaction

    from xinan.core import outbox
    from xinan.screening.topics import AssessmentScored

    register_lag_consumers()  # its events owe the bench consumers their deliveries
    total = procs * threads
    counts = [0] * threads

    def emit(k):
        slot, n = index * threads + k, 0
        while True:
            due = t0 + (n * total + slot) / rate
            if due > t0 + seconds:
                break
            time.sleep(max(0, due - time.time()))
            with transaction.atomic():
                outbox.emit_event(
                    AssessmentScored(
                        assessment_id=None,
                        person_id=None,
                        instrument="PHQ-9",
                        version="1",
                        total=3,
                        band="minimal",
                        positive=False,
                        critical=[],
                        area_code="",
                        anonymous=True,
                        previous_total=None,
                        mode="self",
                        submitted_at=dt.datetime.now(dt.UTC).isoformat(),
                    )
                )
            n += 1
        counts[k] = n
        connection.close()

    ts = [threading.Thread(target=emit, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"emitted": sum(counts), "ended": time.time()}), flush=True)


def part_lag(env, areas, tmp, rate=200, seconds=20, procs=2):
    """`procs` processes emit `rate` assessment.scored events/s between them (one process
    could not reach 200/s on this machine) to two workers that run three bench consumers of
    the topic beside the platform's own; meanwhile live critical submissions measure the
    crisis alert latency."""
    from xinan.core.models import Delivery
    from xinan.core.work_models import ALL_CONSUMERS

    lag_file = tmp / "lag.txt"
    workers = Workers(env, lag_file=lag_file)
    try:
        time.sleep(4)
        t0 = time.time() + 3  # the emitters' Django set-up comes first
        emitters = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "bench.worker_bench", "--emit"]
                + [str(x) for x in (rate, seconds, t0, i, procs)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(procs)
        ]
        time.sleep(max(0, t0 - time.time()))
        crisis, missing = live_alerts(
            areas["grid_a"].code, 10_000, during=lambda: time.time() < t0 + seconds
        )
        ends = [
            json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in emitters
        ]
        achieved = sum(e["emitted"] for e in ends) / (max(e["ended"] for e in ends) - t0)
        time.sleep(5)
    finally:
        workers.stop()
    # Deliveries the bench consumers still owed when their workers stopped: those of their
    # own (split off after a failure), removed, as the later parts' workers do not know these
    # consumers, and the emitters' events still owed on the default lane (one row for all its
    # consumers, which the later workers finish without the bench ones).
    undelivered = Delivery.objects.filter(consumer__startswith="bench.lag").delete()[0]
    undelivered += Delivery.objects.filter(
        consumer=ALL_CONSUMERS, lane="default", event__payload__assessment_id=None
    ).count()
    lags = {n: [] for n in LAG_CONSUMERS}
    for line in lag_file.read_text().splitlines():
        n, lag = line.split()
        lags[int(n)].append(float(lag))
    return {
        "rate": rate,
        "seconds": seconds,
        "achieved_rate": round(achieved),
        "consumers": {n: summary(v) for n, v in lags.items()},
        "undelivered": undelivered,
        "crisis": {**summary(crisis), "missing": missing},
    }
