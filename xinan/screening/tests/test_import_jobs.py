"""The import as a durable job: killed mid-file it resumes after its last committed chunk with
exactly the file's rows; a file that is gone fails clearly; earlier results stay earlier."""

import contextlib
import csv
import datetime as dt
import io
from unittest import mock

import time_machine
from django.utils import timezone

from xinan.core import jobs, outbox, worker
from xinan.core.models import Delivery, Job, OutboxEvent
from xinan.screening import files, import_chunk, importer, services
from xinan.screening.models import Assessment, ImportJob

HEADER = ["身份证号", "姓名", "测评日期", "地点"] + [str(n) for n in range(1, 10)]


def write(path, person, days):
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for day in days:
            w.writerow([person.id_number, "", day, "", *"000000001"])


def test_a_killed_import_resumes_after_its_last_committed_chunk(
    grid_worker, person_a, tmp_path, monkeypatch, settings
):
    settings.SCREENING_IMPORT_INLINE = False
    monkeypatch.setattr(importer, "CHUNK_ROWS", 3)
    path = tmp_path / "ten.csv"
    days = [f"2026-10-{d:02d}" for d in range(1, 11)]
    days[1] = days[7] = "not a date"  # one rejected row in the first chunk, one in the third
    write(path, person_a, days)
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="ten.csv", path=str(path), created_by=grid_worker
    )
    importer.start(job)  # queued; SCREENING_IMPORT_INLINE is off here
    real = import_chunk._lookups
    calls = []

    def dies_in_the_third_chunk(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process is killed: nothing below runs
        return real(*args)

    with (
        mock.patch.object(import_chunk, "_lookups", side_effect=dies_in_the_third_chunk),
        contextlib.suppress(KeyboardInterrupt),
    ):
        jobs.run_next("doomed")
    job.refresh_from_db()
    progress = (job.status, job.rows_done, job.rows_imported, job.rows_rejected)
    assert progress == ("running", 6, 5, 1)
    assert Job.objects.get().status == "RUNNING"  # under the dead worker's lease
    later = timezone.now() + dt.timedelta(seconds=worker.lease_seconds() + 1)
    with time_machine.travel(later, tick=False):
        assert jobs.run_next("live")
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_imported) == ("done", 10, 8)
    assert (job.rows_skipped, job.rows_rejected) == (0, 2)
    assert Assessment.objects.count() == 8
    assert OutboxEvent.objects.filter(topic="assessment.scored").count() == 8
    owed = Delivery.objects.filter(lane="bulk", consumer=outbox.ALL_CONSUMERS)
    assert owed.count() == 8  # one per event, for every consumer of the topic
    text = files.read_rejected(job).decode("utf-8-sig")
    rejected = list(csv.reader(io.StringIO(text)))[1:]
    assert len(rejected) == 2 and [r[2] for r in rejected] == ["not a date"] * 2
    assert [r["line"] for r in job.report] == [3, 9]
    assert Job.objects.get().status == "SUCCESSFUL"


def test_an_import_whose_file_is_gone_fails_clearly(grid_worker, settings, tmp_path):
    settings.SCREENING_IMPORT_INLINE = True
    job = ImportJob.objects.create(
        instrument="PHQ-9",
        file_name="gone.csv",
        path=str(tmp_path / "gone.csv"),
        created_by=grid_worker,
    )
    importer.start(job)
    job.refresh_from_db()
    assert job.status == "failed" and "导入文件已不存在" in job.error
    record = Job.objects.get()
    assert (record.status, record.attempts, record.created_by) == ("FAILED", 1, grid_worker)


def test_an_imported_old_result_is_compared_only_with_earlier_ones(grid_worker, person_a, tmp_path):
    """The person answered 20 in November; a paper result from October must not count it
    as its previous total (that raised a false worsening alert)."""
    for day, answers in ((dt.datetime(2026, 9, 1, 12), [0] * 8 + [3]), (None, [2] * 9 + [2])):
        services.submit_assessment(
            instrument_code="PHQ-9",
            answers=answers[:9],
            mode="paper",
            actor=grid_worker,
            person=person_a,
            submitted_at=timezone.make_aware(day) if day else None,
        )
    path = tmp_path / "old.csv"
    write(path, person_a, ["2026-08-01", "2026-10-01"])
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="old.csv", path=str(path), created_by=grid_worker
    )
    assert importer.run(job.pk).rows_imported == 2
    imported = {
        e.payload["submitted_at"][:10]: e.payload["previous_total"]
        for e in OutboxEvent.objects.filter(topic="assessment.scored", payload__mode="import")
    }
    assert imported == {"2026-08-01": None, "2026-10-01": 3}


def test_each_imported_row_is_compared_with_the_latest_result_up_to_its_own_date(
    grid_worker, person_a, tmp_path, monkeypatch
):
    """Whatever the order of the file and its chunks: the previous total of each row is that
    of the person's latest result at or before the row's date — earlier results in the
    database and rows of the same file written before it — as a single submission's is."""
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    for day, total in ((dt.datetime(2026, 9, 1, 12), 3), (dt.datetime(2026, 11, 1, 9), 18)):
        services.submit_assessment(
            instrument_code="PHQ-9",
            answers=[2] * (total // 2) + [1] * (total % 2) + [0] * (9 - total // 2 - total % 2),
            mode="paper",
            actor=grid_worker,
            person=person_a,
            submitted_at=timezone.make_aware(day),
        )
    days = [
        ("2026-10-15", 4),  # between the two in the database
        ("2026-08-01", 5),  # before everything
        ("2026-10-20", 6),  # after a row of the same chunk
        ("2026-09-01", 7),  # the same day as one in the database
        ("2026-10-16", 8),  # after rows of an earlier chunk
        ("2026-11-02", 9),  # after everything
    ]
    path = tmp_path / "unordered.csv"
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for day, total in days:
            w.writerow([person_a.id_number, "", day, "", *"1" * total, *"0" * (9 - total)])
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="unordered.csv", path=str(path), created_by=grid_worker
    )
    assert importer.run(job.pk).rows_imported == len(days)
    imported = {
        e.payload["submitted_at"][:10]: e.payload["previous_total"]
        for e in OutboxEvent.objects.filter(topic="assessment.scored", payload__mode="import")
    }
    assert imported == {
        "2026-10-15": 3,
        "2026-08-01": None,
        "2026-10-20": 4,
        "2026-09-01": 3,
        "2026-10-16": 4,
        "2026-11-02": 18,
    }
    # the same as the single submission's rule, asked of the database row by row
    for a in Assessment.objects.filter(mode="import"):
        earlier = Assessment.objects.filter(
            person=person_a, submitted_at__lte=a.submitted_at, pk__lt=a.pk
        ).order_by("-submitted_at", "-pk")
        expected = earlier.values_list("total", flat=True).first()
        assert imported[str(timezone.localdate(a.submitted_at))] == expected
