"""Bulk import of paper results (.xlsx or .csv), streamed in chunks of 10,000 rows.

Each row is validated and scored by the same engine as an online submission and written with
its audit row and its `assessment.scored` outbox row; a chunk is one transaction. This module
holds the job (the template, reading the file, resuming, the rejected rows); one chunk's
checks, lookups and writes are in import_chunk.py. Re-uploading a file skips rows already
imported: the idempotency key is a hash of the person's keyed ID-number hash, the instrument
and the date.
"""

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import jobs
from xinan.core.lib import crypto, idnumber, spreadsheet, uploads
from xinan.screening import files, import_chunk, services
from xinan.screening.models import ImportJob, ImportStatus

log = logging.getLogger(__name__)

CHUNK_ROWS = 10_000
REPORT_LIMIT = 500  # errors kept for the on-screen report; the rejected-rows file has them all
HEADER_ID = "身份证号"
HEADER_NAME = "姓名"
HEADER_DATE = "测评日期"
HEADER_SITE = "地点"


def import_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "screening" / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def header(inst) -> list[str]:
    return [HEADER_ID, HEADER_NAME, HEADER_DATE, HEADER_SITE] + [
        f"{n}" for n in range(1, len(inst.items) + 1)
    ]


def template_xlsx(inst) -> bytes:
    """An Excel template: one sheet to fill in, one listing each item's option codes."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("录入"))
    ws.append(spreadsheet.safe_row(header(inst)))
    codes = wb.create_sheet(_("选项编码说明"))
    codes.append(spreadsheet.safe_row([_("题号"), _("题目"), _("选项编码")]))
    for n, item in enumerate(inst.items, start=1):
        options = "；".join(f"{o[0]}={services.option_label(o)}" for o in item.options)
        codes.append(
            spreadsheet.safe_row([n, services.item_text(item) or _("（未安装条目文本）"), options])
        )
    codes.append([])
    codes.append(
        spreadsheet.safe_row(
            [
                _("说明"),
                _("测评日期格式 2026-01-31；每行一份问卷；同一人同一量表同一天只导入一次。"),
            ]
        )
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- reading, streamed


def iter_rows(path: str | Path) -> Iterator[list[str]]:
    """Rows of the first sheet or of the CSV, as strings, header included; a file that cannot
    be read raises uploads.UnreadableFile with a Chinese message (xinan/core/lib/uploads.py)."""
    return uploads.table_rows(path)


def count_rows(path: str | Path) -> int:
    return uploads.count_table_rows(path)


def parse_date(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def idempotency_key(id_hash: str, code: str, day: dt.date) -> str:
    return hashlib.sha256(f"{id_hash}|{code}|{day.isoformat()}".encode()).hexdigest()


# ---------------------------------------------------------------- running a job


def start(job: ImportJob) -> None:
    """Queue the import as a durable job (xinan/core/jobs.py), run by a worker; inline when
    SCREENING_IMPORT_INLINE is set (tests), through the same job path.

    A worker killed mid-import leaves the job running under a lease; another worker takes it
    over and resumes after the last committed chunk (`_run`)."""
    result = jobs.enqueue(
        import_file, job.pk, user=job.created_by, description=_("导入 %(f)s") % {"f": job.file_name}
    )
    if getattr(settings, "SCREENING_IMPORT_INLINE", False):
        jobs.run_now(result)


def _give_up(job) -> None:
    """The import job failed for good: say so, with what was done (committed chunks stay)."""
    ImportJob.objects.filter(pk=job.args[0], status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED,
        error=job.last_error or _("导入中断"),
        finished_at=timezone.now(),
    )


@jobs.durable(max_attempts=5, on_give_up=_give_up)
@task()
def import_file(import_job_id: int) -> dict:
    """The import as a job: resumable, so a retry or a takeover goes on from the last
    committed chunk; a file that is gone fails at once."""
    job = ImportJob.objects.select_related("created_by").get(pk=import_job_id)
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return {"status": job.status}  # finished by an earlier attempt
    if not Path(job.path).exists():
        message = _("导入文件已不存在，请重新上传")
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, error=message, finished_at=timezone.now()
        )
        raise jobs.Permanent(message)
    _run(job)
    job.refresh_from_db()
    return {"status": job.status, "imported": job.rows_imported, "rejected": job.rows_rejected}


def run(job_pk: int) -> ImportJob:
    """The import in this thread (the benchmark's path); a failure is recorded on the job."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_pk)
    try:
        _run(job)
    except Exception as exc:
        log.exception("import %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


class _Rejects:
    """The rejected-rows file, written as rows fail, plus the first errors for the page."""

    def __init__(self, job: ImportJob, head: list[str], keep: int = 0):
        """`keep`: resuming, the rows of the chunks already committed stay (any a killed
        chunk wrote after them go, as its rows will be read again)."""
        self.job = job
        self.plain_path = self.path = import_dir() / f"{job.pk}-rejected.csv"
        # kept in memory (the upload's size is capped) and written encrypted at each chunk
        # (`checkpoint`) and on close
        self.f = io.StringIO(newline="")
        self.w = spreadsheet.SafeWriter(self.f)
        kept: list[list[str]] = []
        if keep and job.rejected_path and Path(job.rejected_path).exists():
            text = files.read_rejected(job).decode("utf-8").lstrip(spreadsheet.BOM)
            kept = list(csv.reader(io.StringIO(text)))[1 : keep + 1]
        self.w.writerow([*head, _("错误原因")])
        csv.writer(self.f).writerows(kept)  # as written the first time (already made safe)
        self.report: list[dict[str, Any]] = list(job.report)[:REPORT_LIMIT] if keep else []
        self.count = keep

    def add(self, line: int, row: list[str], message: str) -> None:
        self.count += 1
        self.w.writerow([*row, message])
        if len(self.report) < REPORT_LIMIT:
            self.report.append({"line": line, "message": message})

    def checkpoint(self) -> str:
        """Write what is rejected so far (inside the chunk's transaction: a resume keeps the
        first `rows_rejected` rows, so rows of a chunk that never committed are dropped);
        returns the file's path, or "" when nothing was rejected."""
        if not self.count:
            return ""
        self.path = files.write_encrypted(self.plain_path, self.f.getvalue())
        return str(self.path)

    def close(self) -> None:
        self.checkpoint()
        self.f.close()


class Cache:
    """Per-import memo of what repeats across rows, and what is built once per import: ID
    numbers, dates, the compiled scorer, the JSON of values that recur (bands, areas, days)."""

    def __init__(self, inst, vendor: str):
        from xinan.instruments import engine

        self.inst = inst
        self.n_items = len(inst.items)
        self.scorer = engine.compile_scorer(inst)
        self.InstrumentError = engine.InstrumentError
        self.ids: dict[str, tuple[str, str]] = {}  # text -> (hash, "") or ("", error)
        self.days: dict[str, tuple | None] = {}
        self.item_ids = [str(i.id) for i in inst.items]
        self.pg = vendor == "postgresql"
        self.today = timezone.localdate()
        self.code, self.version = inst.code, str(inst.version)
        self.key_suffix = f"|{self.code}|"
        # {"1": %s, "2": %s, …}: the answers JSON of a row the compiled scorer took as plain
        # codes, filled with its cells (each is str(code), so already a JSON number)
        self.answers_format = "{" + ", ".join(f"{json.dumps(i)}: %s" for i in self.item_ids) + "}"
        self.json: dict[Any, str] = {}  # str / None -> its JSON, for values that recur

    def id_hash(self, text: str) -> tuple[str, str]:
        found = self.ids.get(text)
        if found is None:
            try:
                found = (crypto.lookup_hash(idnumber.validate(text)), "")
            except idnumber.InvalidIdNumber as exc:
                found = ("", str(exc))
            self.ids[text] = found
        return found

    def day(self, text: str):
        """(date, aware noon, the value as the database takes it, the JSON of noon), or None
        when unreadable."""
        if text not in self.days:
            day = parse_date(text)
            if day is None:
                self.days[text] = None
            else:
                noon = timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))
                db = noon if self.pg else connection.ops.adapt_datetimefield_value(noon)
                self.days[text] = (day, noon, db, json.dumps(noon.isoformat()), day.isoformat())
        return self.days[text]

    def dumps(self, value) -> str:
        found = self.json.get(value)
        if found is None:
            found = self.json[value] = json.dumps(value)
        return found


def _run(job: ImportJob) -> None:
    """Read, check and write the file chunk by chunk. Each chunk's rows, events, audit rows
    and counts commit together, so a job found running (its worker died, or a retry) resumes
    after its last committed chunk with those counts: nothing twice, nothing half-counted."""
    inst = services.instrument(job.instrument)
    actor = job.created_by
    resume = job.status == ImportStatus.RUNNING and job.rows_done > 0
    total = count_rows(job.path)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, rows_total=total)
    jobs.progress(job.rows_done if resume else 0, total)
    rows = iter_rows(job.path)
    head = next(rows, None)
    expected = header(inst)
    rejects = _Rejects(job, head or expected, keep=job.rows_rejected if resume else 0)
    counts = {"done": 0, "imported": 0, "skipped": 0}
    if resume:
        counts = {"done": job.rows_done, "imported": job.rows_imported, "skipped": job.rows_skipped}
        log.warning("import %s resumes after %s rows", job.pk, job.rows_done)
    to_skip = counts["done"]
    cache = Cache(inst, connection.vendor)
    try:
        if head is None or [h.strip() for h in head[: len(expected)]] != expected:
            rejects.add(
                1,
                head or [],
                _("表头与模板不一致，请下载“%(code)s”的导入模板") % {"code": inst.code},
            )
        else:
            chunk: list[tuple[int, list[str]]] = []
            for line, row in enumerate(rows, start=2):
                if not any(row):
                    continue
                if to_skip:  # in a chunk committed before the resume
                    to_skip -= 1
                    continue
                chunk.append((line, row))
                if len(chunk) >= CHUNK_ROWS:
                    import_chunk.write(job, inst, actor, chunk, rejects, counts, cache)
                    chunk = []
            if chunk:
                import_chunk.write(job, inst, actor, chunk, rejects, counts, cache)
    finally:
        rejects.close()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE,
        rows_done=counts["done"],
        rows_imported=counts["imported"],
        rows_skipped=counts["skipped"],
        rows_rejected=rejects.count,
        report=sorted(rejects.report, key=lambda r: r["line"]),
        rejected_path=str(rejects.path) if rejects.count else "",
        finished_at=timezone.now(),
    )
