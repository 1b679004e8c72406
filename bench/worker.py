"""Steps the benchmark runs in a child process against one database (see bench/run.py).

python -m bench.worker seed   PERSONS            -> JSON: session cookie, csrf, id numbers
python -m bench.worker import CSV_PATH           -> JSON: rows/s of the real importer
python -m bench.worker raw    CSV_PATH           -> JSON: rows/s of a raw bulk load
python -m bench.worker memory PATH               -> JSON: peak RSS of one import
python -m bench.worker reset                     -> empty the assessment, outbox, audit tables
"""

import datetime as dt
import json
import os
import resource
import sys
import time


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
    import django

    django.setup()


def seed(n_persons: int) -> dict:
    from django.db import transaction
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    from xinan.core.lib import crypto, idnumber
    from xinan.people.models import Person
    from xinan.testing import factories

    areas = factories.area_tree()
    user = factories.staff("counsellor", area=areas["district"], username="bench_counsellor")
    numbers = []
    people = []
    for i in range(n_persons):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=i % 18000)
        first17 = f"310105{born:%Y%m%d}{i % 1000:03d}"
        number = first17 + idnumber.check_digit(first17)
        numbers.append(number)
        people.append(
            Person(
                name=f"居民{i}",
                gender="M",
                birth_date=born,
                id_number=number,
                id_number_hash=crypto.lookup_hash(number),
                id_number_masked=idnumber.mask(number),
                home_area=areas["grid_a"] if i % 2 else areas["grid_b"],
            )
        )
    with transaction.atomic():
        Person.objects.bulk_create(people, batch_size=2000, ignore_conflicts=True)
    client = Client()
    client.force_login(user)
    from xinan.api import services as api_services

    _token, api_key = api_services.issue(user, "bench")
    return {
        "api_key": api_key,
        "session": client.cookies["sessionid"].value,
        "csrf": _get_new_csrf_string(),
        "id_numbers": numbers,
        "user_id": user.pk,
    }


def _user():
    from xinan.accounts.models import User

    return User.objects.get(username="bench_counsellor")


def run_import(path: str) -> dict:
    from xinan.screening import importer, services
    from xinan.screening.models import ImportJob

    services.instrument("PHQ-9")  # load the library first, as a running server has

    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name=os.path.basename(path), path=path, created_by=_user()
    )
    start, cpu = time.perf_counter(), time.process_time()
    job = importer.run(job.pk)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if job.status != "done" or job.rows_rejected:
        raise SystemExit(f"import failed: {job.status} {job.error} {job.report[:3]}")
    return {
        "rows": job.rows_imported,
        "seconds": seconds,
        "rows_per_s": job.rows_imported / seconds,
        # this process only (with SQLite that includes the database's work; not PostgreSQL's)
        "cpu_seconds": cpu,
    }


def run_raw(path: str) -> dict:
    """The ceiling: the same assessment rows, already built, loaded with COPY / executemany in
    10,000-row transactions into the same table, with nothing else done per row.

    The same rows: the people, areas, totals, bands and idempotency keys the import writes
    (the keys are hashes, so each lands at a random place in the unique index, as the
    import's do; sequential stand-in keys would make the ceiling an easier load)."""
    import csv

    from django.db import connection, transaction
    from django.utils import timezone

    from xinan.core.lib import crypto
    from xinan.people.models import Person
    from xinan.screening import import_chunk, importer, services
    from xinan.screening.models import ImportJob

    inst = services.instrument("PHQ-9")
    people = {
        h: (pk, area)
        for h, pk, area in Person.objects.values_list("id_number_hash", "pk", "home_area_id")
    }
    user = _user()
    # the import's rows name their job; so do these (not timed)
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="raw", path=path, created_by=user, status="done"
    )
    now = timezone.now()
    if connection.vendor != "postgresql":
        now = connection.ops.adapt_datetimefield_value(now)
    rows = []
    with open(path, encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        for n, r in enumerate(reader, start=1):
            answers = {str(i): int(v) for i, v in enumerate(r[4:13], start=1)}
            total = sum(answers.values())
            band = inst.band_for(total)
            day = dt.date.fromisoformat(r[2])
            when = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
            if connection.vendor != "postgresql":
                when = connection.ops.adapt_datetimefield_value(when)
            id_hash = crypto.lookup_hash(r[0])
            pk, area = people[id_hash]
            rows.append(
                (
                    10_000_000 + n,
                    pk,
                    "PHQ-9",
                    "1",
                    json.dumps(answers),
                    total,
                    band.code,
                    band.label_zh,
                    total >= 10,
                    "[]",
                    "{}",
                    "import",
                    user.pk,
                    area,
                    None,
                    job.pk,
                    "",
                    now,
                    when,
                    importer.idempotency_key(id_hash, "PHQ-9", day),
                )
            )
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(rows), importer.CHUNK_ROWS):
        with transaction.atomic():
            import_chunk.bulk_insert(
                "screening_assessment",
                import_chunk.ASSESSMENT_COLUMNS,
                rows[i : i + importer.CHUNK_ROWS],
            )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "rows": len(rows),
        "seconds": seconds,
        "rows_per_s": len(rows) / seconds,
        "cpu_seconds": cpu,
    }


# audit rows the submit and import steps write
BENCH_ACTIONS = "('screening.assessment.submit', 'screening.import.chunk')"


def reset() -> dict:
    from django.db import connection

    # deliveries first: any left (parked, or owed for events written after the last catch-up,
    # such as a sweep's escalations) still hold their events
    tables = ["screening_assessment", "core_delivery", "core_outboxevent"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # CASCADE: campaign invitations point at assessments (empty in the bench)
            cursor.execute("TRUNCATE screening_assessment, core_outboxevent CASCADE")
            # the audit table is append-only through the ORM; the bench owns this database
            cursor.execute(f"DELETE FROM core_auditentry WHERE action IN {BENCH_ACTIONS}")  # noqa: S608
            cursor.execute("VACUUM ANALYZE")
        else:
            for t in tables:
                cursor.execute(f"DELETE FROM {t}")  # noqa: S608
            cursor.execute(f"DELETE FROM core_auditentry WHERE action IN {BENCH_ACTIONS}")  # noqa: S608
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"ok": True}


def memory(path: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run_import(path)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {**result, "rss_before_kb": before, "peak_rss_kb": after}


def main(argv: list[str]) -> None:
    setup()
    step, *args = argv
    if step == "seed":
        out = seed(int(args[0]))
    elif step == "import":
        out = run_import(args[0])
    elif step == "raw":
        out = run_raw(args[0])
    elif step == "reset":
        out = reset()
    elif step == "memory":
        out = memory(args[0])
    else:
        raise SystemExit(f"unknown step {step}")
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
