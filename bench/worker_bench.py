"""The worker under backlog and faults (issue 12): crisis alert latency while an import runs, while
an overdue storm escalates, while a worker is killed every 5 s; three consumers' lag at
200 events/s; the scheduler with 1,000,000 open due items; an import killed at half.

    python -m bench.worker_bench [--report]     # SQLite, then PostgreSQL (a fresh database)
    python -m bench.worker_bench --child        # one database (DATABASE_URL), prints JSON

Workers are separate `xinan worker` processes (the production layout; two of them): on
PostgreSQL woken by LISTEN/NOTIFY, on SQLite (the embedded default's file under XINAN_VAR_DIR,
WAL) by their polls, as the default in-process bus does not cross processes. Latency is from
the live submission's commit (`submit_assessment` returned) to its alert row being written by
the consumer (`Alert.raised_at`, the same clock); the board adds its own poll
(CRISIS_BOARD_POLL_MS, 300 ms) on top. Each scenario's figures are set beside the same run's
idle figures (the ceiling on this machine at this moment): the machine is shared.
BENCH_BACKENDS (sqlite,postgresql) picks databases, BENCH_PARTS (latency,lag,scheduler,import)
parts, BENCH_DUE_ITEMS the scheduler's open items (1,000,000).
"""

import csv
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.children import fresh_postgres, run_child
from bench.doc import write_part
from bench.worker_report import MARK, section

ROOT = Path(__file__).resolve().parents[1]
PARTS = os.environ.get("BENCH_PARTS", "latency,lag,scheduler,import").split(",")
XINAN = str(Path(sys.executable).parent / "xinan")

PG_DB = "xinan_bench_worker"


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def summary(latencies):
    ms = [round(x * 1000) for x in latencies]
    return {
        "n": len(ms),
        "median_ms": pct(ms, 0.5),
        "p99_ms": pct(ms, 0.99),
        "max_ms": max(ms) if ms else None,
    }


class Workers:
    """n worker processes: `xinan worker`, or with `lag_file` the lag part's worker (the same
    worker, knowing the three bench consumers)."""

    def __init__(self, env, n=2, lag_file=None):
        self.env, self.lag_file = env, lag_file
        self.procs = [self._start() for _ in range(n)]

    def _start(self):
        if self.lag_file:
            cmd = [sys.executable, "-m", "bench.worker_bench", "--lag-worker", str(self.lag_file)]
        else:
            cmd = [XINAN, "worker"]
        return subprocess.Popen(  # noqa: S603
            cmd, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)
        self.procs[i] = self._start()

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def live_alerts(area_code, n, spacing=(0.1, 0.3), during=None, threads=1, refused=None):
    """Up to n critical submissions (anonymous, in `area_code`), one at a time on each of
    `threads` threads, while `during()` holds; returns (latencies, missing). A submission the
    database refused (SQLite: "database is locked" after its timeout) is counted in
    `refused[0]` when given, and the thread goes on."""
    from django.db import OperationalError, connection

    from xinan.crisis.models import Alert
    from xinan.screening.services import submit_assessment

    sent = {}
    lock = threading.Lock()

    def submit(k):
        rng = random.Random(n * 10 + k)
        try:
            for _ in range(k, n, threads):
                if during is not None and not during():
                    break
                try:
                    a = submit_assessment(
                        instrument_code="PHQ-9",
                        answers=[rng.randint(0, 2) for _ in range(8)] + [rng.randint(1, 3)],
                        mode="self",
                        actor=None,
                        area_code=area_code,
                    )
                except OperationalError:
                    if refused is None:
                        raise
                    with lock:
                        refused[0] += 1
                    continue
                with lock:
                    sent[a.pk] = time.time()
                time.sleep(rng.uniform(*spacing))
        finally:
            if threads > 1:
                connection.close()

    if threads == 1:
        submit(0)
    else:
        ts = [threading.Thread(target=submit, args=(k,)) for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    deadline = time.time() + 60
    while time.time() < deadline:
        got = dict(
            Alert.objects.filter(assessment_id__in=sent).values_list("assessment_id", "raised_at")
        )
        if len(got) == len(sent):
            break
        time.sleep(0.2)
    return [got[pk].timestamp() - at for pk, at in sent.items() if pk in got], len(sent) - len(got)


def write_import(path, id_numbers, rows, critical, first_day=dt.date(2026, 1, 1)):
    rng = random.Random(rows)
    crit = set(rng.sample(range(rows), critical))
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["身份证号", "姓名", "测评日期", "地点"] + [str(n) for n in range(1, 10)])
        for i in range(rows):
            number = id_numbers[i % len(id_numbers)]
            day = first_day + dt.timedelta(days=i // len(id_numbers))
            answers = [rng.randint(0, 1) for _ in range(8)] + [
                rng.randint(1, 3) if i in crit else 0
            ]
            w.writerow([number, "", day.isoformat(), "", *answers])


def start_import(path, user):
    from xinan.screening import importer
    from xinan.screening.models import ImportJob

    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name=path.name, path=str(path), created_by=user
    )
    importer.start(job)
    return job


def part_latency(env, areas, seeded, user, tmp):
    from xinan.crisis.models import Alert
    from xinan.screening.models import Assessment, ImportJob

    code = areas["grid_a"].code
    out = {}
    workers = Workers(env)
    try:
        live_alerts(code, 3)  # warm-up: both workers started and past their first passes
        lat, missing = live_alerts(code, 40)
        out["idle"] = {**summary(lat), "missing": missing}
        # 1. a 20,000-row import with 3,000 critical rows
        path = tmp / "import20k.csv"
        write_import(path, seeded["id_numbers"], 20_000, 3_000)
        job = start_import(path, user)
        started = time.time()

        def importing():
            return ImportJob.objects.get(pk=job.pk).status in ("pending", "running")

        # Live alerts for the whole import, from two threads, so that a hundred or more fall
        # inside it even when it takes only a few seconds.
        refused = [0]
        lat, missing = live_alerts(
            code, 100_000, spacing=(0.01, 0.05), during=importing, threads=2, refused=refused
        )
        while importing() and time.time() - started < 600:
            time.sleep(0.5)
        job.refresh_from_db()
        out["import"] = {
            **summary(lat),
            "missing": missing,
            "refused": refused[0],
            "import_rows": job.rows_imported,
            "import_seconds": round(time.time() - started, 1),
            "bulk_alerts": Alert.objects.filter(
                assessment_id__in=Assessment.objects.filter(import_job=job).values("pk")
            ).count(),
        }
        # 2. 1,500 overdue alerts escalate
        storm = overdue_alerts(areas, 1_500)
        lat, missing = live_alerts(code, 60)
        out["storm"] = {**summary(lat), "missing": missing, "overdue": storm}
        # 3. one of two workers killed every 5 s
        stop = threading.Event()
        kills = []

        def killer():
            # the same one of the two, every 5 s: the other stays healthy and must take over
            # what the victim held (earlier runs alternated, so at times neither was up: a
            # restart is Django's set-up, seconds on this loaded machine)
            while not stop.wait(5):
                workers.kill(0)
                kills.append(time.time())

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        deadline = time.time() + 40
        lat, missing = live_alerts(code, 400, during=lambda: time.time() < deadline)
        stop.set()
        t.join()
        out["kill"] = {**summary(lat), "missing": missing, "kills": len(kills)}
    finally:
        workers.stop()
    return out


def overdue_alerts(areas, n):
    """n open red alerts whose acknowledgement deadline has passed, assigned to the town's
    crisis worker (the district's lead is the next on duty)."""
    from django.utils import timezone

    from xinan.crisis.models import Alert

    now = timezone.now()
    Alert.objects.bulk_create(
        Alert(
            subject_key=f"bench:storm:{i}:{now.timestamp()}",
            trigger_key="phq9-item9",
            trigger="critical_item",
            source="assessment",
            area_code=areas["grid_a"].code,
            level="red",
            summary="storm",
            raised_at=now - dt.timedelta(minutes=10),
            ack_deadline=now - dt.timedelta(minutes=5),
        )
        for i in range(n)
    )
    return n


def part_scheduler(env, areas, total=1_000_000, due=10_000):
    """`total` open alerts with deadlines over the next 30 days, `due` of them falling due in
    one minute; the sweep (every 2 s, two workers) must escalate each within 60 s, once."""
    from django.db import connection
    from django.utils import timezone

    from xinan.core.lib import fastsql
    from xinan.crisis.models import Alert, AlertEvent

    now = timezone.now()
    start = now + dt.timedelta(seconds=60)
    rng = random.Random(7)
    from django.db import transaction

    meta = Alert._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    cols = [f.column for f in fields]
    template = Alert(
        subject_key="",
        trigger_key="phq9-item9",
        trigger="critical_item",
        source="assessment",
        area_code=areas["grid_a"].code,
        level="red",
        summary="due",
        raised_at=now,
        ack_deadline=now,
    )
    # every value as the database takes it (the summary encrypted, JSON as text), once
    prepared = {
        f.column: f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields
    }
    t_fill = time.time()
    batch = []
    for i in range(total):
        if i < due:
            deadline = start + dt.timedelta(seconds=rng.uniform(0, 60))
        else:
            deadline = start + dt.timedelta(minutes=10, days=rng.uniform(0, 30))
        prepared["subject_key"] = f"bench:due:{i}"
        prepared["ack_deadline"] = deadline
        batch.append(tuple(prepared[c] for c in cols))
        if len(batch) == 50_000 or i == total - 1:
            with transaction.atomic():
                fastsql.copy_rows(Alert._meta.db_table, cols, batch)
            batch = []
    fill_seconds = time.time() - t_fill
    with connection.cursor() as c:
        c.execute("ANALYZE crisis_alert")
    due_ids = list(
        Alert.objects.filter(
            subject_key__startswith="bench:due:", ack_deadline__lt=start + dt.timedelta(seconds=61)
        ).values_list("pk", "ack_deadline")
    )
    workers = Workers(env)
    try:
        end = start + dt.timedelta(seconds=60 + 90)
        while timezone.now() < end:
            time.sleep(2)
            left = Alert.objects.filter(
                pk__in=[p for p, _d in due_ids], escalations=0, exhausted=False
            ).count()
            if timezone.now() > start + dt.timedelta(seconds=60) and left == 0:
                break
    finally:
        workers.stop()
    first = {}
    for alert_id, at in AlertEvent.objects.filter(
        kind="escalated", alert_id__in=[p for p, _d in due_ids]
    ).values_list("alert_id", "at"):
        first.setdefault(alert_id, []).append(at)
    late = [(min(first[p]) - d).total_seconds() for p, d in due_ids if p in first]
    return {
        "open_items": total,
        "due_in_minute": len(due_ids),
        "fill_seconds": round(fill_seconds),
        "escalated": len(first),
        "twice": sum(1 for v in first.values() if len(v) > 1),
        "after_due_p99_s": round(pct(late, 0.99), 1) if late else None,
        "after_due_max_s": round(max(late), 1) if late else None,
        "never": len(due_ids) - len(first),
    }


def part_import_kill(env, seeded, user, tmp, rows=100_000):
    from xinan.core.models import Job
    from xinan.screening.models import Assessment

    path = tmp / "import100k.csv"
    write_import(path, seeded["id_numbers"], rows, 1_000, first_day=dt.date(2025, 1, 1))
    workers = Workers(env)
    try:
        job = start_import(path, user)
        started = time.time()
        killed = None
        while time.time() - started < 900:
            job.refresh_from_db()
            if killed is None and job.rows_done >= rows // 2:
                holder = (
                    Job.objects.filter(task_path__endswith="import_file", args=[job.pk])
                    .values_list("leased_by", flat=True)
                    .first()
                    or ""
                )
                for i, p in enumerate(workers.procs):
                    if holder.endswith(f":{p.pid}"):
                        workers.kill(i)
                        killed = {"at_rows": job.rows_done, "pid": p.pid}
            if job.status in ("done", "failed"):
                break
            time.sleep(0.2)
    finally:
        workers.stop()
    record = Job.objects.filter(task_path__endswith="import_file").first()
    return {
        "rows_in_file": rows,
        "killed": killed,
        "status": job.status,
        "rows_imported": job.rows_imported,
        "rows_skipped": job.rows_skipped,
        "assessments": Assessment.objects.filter(import_job=job).count(),
        "job_attempts": record.attempts,
        "seconds": round(time.time() - started, 1),
    }


def child():
    """The whole bench on one database (DATABASE_URL, else SQLite under a fresh var dir)."""
    var = tempfile.mkdtemp(prefix="xinan-worker-bench-")
    os.environ["XINAN_VAR_DIR"] = var
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
    os.environ["XINAN_WORKER_BACKGROUND"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench import worker as bench_worker
    from bench import worker_lag
    from xinan.crisis.models import DutyShift
    from xinan.screening import services
    from xinan.testing import factories

    call_command("migrate", verbosity=0)
    seeded = bench_worker.seed(10_000)
    from xinan.core.models import Area

    areas = {
        "grid_a": Area.objects.get(code="310105001001001"),
        "town_a": Area.objects.get(code="310105001000"),
        "district": Area.objects.get(code="310105000000"),
    }
    now = timezone.now()
    for name, area in (("bench_crisis", areas["town_a"]), ("bench_lead", areas["district"])):
        u = factories.staff("crisis_worker", area=area, username=name)
        DutyShift.objects.create(
            user=u,
            area=area,
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=12),
        )
    services.instrument("PHQ-9")
    user = bench_worker._user()
    env = {**os.environ, "XINAN_LOG_LEVEL": "ERROR"}
    tmp = Path(var)
    result = {
        "database": connection.vendor,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_before": round(os.getloadavg()[0], 1),
    }
    parts = {
        "latency": ("latency", lambda: part_latency(env, areas, seeded, user, tmp)),
        "lag": ("lag", lambda: worker_lag.part_lag(env, areas, tmp)),
        "import": ("import_kill", lambda: part_import_kill(env, seeded, user, tmp)),
        "scheduler": (
            "scheduler",
            lambda: part_scheduler(
                env, areas, total=int(os.environ.get("BENCH_DUE_ITEMS", "1000000"))
            ),
        ),
    }
    for part in PARTS:
        key, run = parts[part]
        try:
            result[key] = run()
        except Exception as exc:  # noqa: BLE001 — the other parts still run and report
            result[key + "_error"] = repr(exc)
        print(json.dumps({key: result.get(key)}, default=str), file=sys.stderr, flush=True)
    result["loadavg_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, default=str), flush=True)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
    import django

    django.setup()


def main():
    from bench import worker_lag

    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        child()
        return
    if args[:1] == ["--lag-worker"]:
        _setup_django()
        worker_lag.lag_worker(args[1])
        return
    if args[:1] == ["--emit"]:
        _setup_django()
        rate, seconds, t0 = (float(x) for x in args[1:4])
        worker_lag.emitter(rate, seconds, t0, int(args[4]), int(args[5]))
        return
    wanted = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")
    results = []
    if "sqlite" in wanted:
        results.append(run_child("bench.worker_bench", None, timeout=3 * 3600))
    if "postgresql" in wanted:
        results.append(run_child("bench.worker_bench", fresh_postgres(PG_DB), timeout=3 * 3600))
    print(json.dumps(results, default=str))
    if "--report" in args:
        write_part(MARK, section(results))


if __name__ == "__main__":
    main()
