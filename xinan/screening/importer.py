"""Bulk import of paper results (.xlsx or .csv), streamed in chunks of 10,000 rows.

Each row is validated and scored by the same engine as an online submission and written with
its audit row and its `assessment.scored` outbox row; a chunk is one transaction. Writes go
through PostgreSQL COPY or SQLite executemany, because the ORM tops out near 8k rows/s
(../shared/reference/performance.md §3.3). Re-uploading a file skips rows already imported: the
idempotency key is a hash of the person's keyed ID-number hash, the instrument and the date.
"""

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import scope
from xinan.core.lib import crypto, idnumber
from xinan.core.models import AuditEntry, OutboxEvent
from xinan.screening import services
from xinan.screening.models import Assessment, ImportJob, ImportStatus, Mode

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
    ws.append(header(inst))
    codes = wb.create_sheet(_("选项编码说明"))
    codes.append([_("题号"), _("题目"), _("选项编码")])
    for n, item in enumerate(inst.items, start=1):
        options = "；".join(f"{o[0]}={services.option_label(o)}" for o in item.options)
        codes.append([n, services.item_text(item) or _("（未安装条目文本）"), options])
    codes.append([])
    codes.append(
        [_("说明"), _("测评日期格式 2026-01-31；每行一份问卷；同一人同一量表同一天只导入一次。")]
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- reading, streamed


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def iter_rows(path: str | Path) -> Iterator[list[str]]:
    """Rows of the first sheet or of the CSV, as strings, header included."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        for row in sheet.iter_rows():
            yield [_cell(v) for v in row]
    else:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.reader(f):
                yield [c.strip() for c in row]


def count_rows(path: str | Path) -> int:
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from python_calamine import CalamineWorkbook

        return max(0, CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).height - 1)
    with path.open("rb") as f:
        return max(0, sum(1 for line in f if line.strip()) - 1)


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
    """Process in a background thread (or inline when SCREENING_IMPORT_INLINE is set, as in tests).

    The thread lives in the web process: if the process dies mid-import, the job stays
    "running" and re-uploading the same file finishes it without duplicates.
    """
    if getattr(settings, "SCREENING_IMPORT_INLINE", False):
        run(job.pk)
        return
    threading.Thread(target=_run_in_thread, args=(job.pk,), daemon=True).start()


def _run_in_thread(job_pk: int) -> None:
    close_old_connections()
    try:
        run(job_pk)
    finally:
        connection.close()


def run(job_pk: int) -> ImportJob:
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

    def __init__(self, job: ImportJob, head: list[str]):
        self.job = job
        self.path = import_dir() / f"{job.pk}-rejected.csv"
        self.f = self.path.open("w", encoding="utf-8-sig", newline="")
        self.w = csv.writer(self.f)
        self.w.writerow([*head, _("错误原因")])
        self.report: list[dict[str, Any]] = []
        self.count = 0

    def add(self, line: int, row: list[str], message: str) -> None:
        self.count += 1
        self.w.writerow([*row, message])
        if len(self.report) < REPORT_LIMIT:
            self.report.append({"line": line, "message": message})

    def close(self) -> None:
        self.f.close()


def _run(job: ImportJob) -> None:
    inst = services.instrument(job.instrument)
    actor = job.created_by
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, rows_total=count_rows(job.path)
    )
    rows = iter_rows(job.path)
    head = next(rows, None)
    expected = header(inst)
    rejects = _Rejects(job, head or expected)
    counts = {"done": 0, "imported": 0, "skipped": 0}
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
                chunk.append((line, row))
                if len(chunk) >= CHUNK_ROWS:
                    _chunk(job, inst, actor, chunk, rejects, counts)
                    chunk = []
            if chunk:
                _chunk(job, inst, actor, chunk, rejects, counts)
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


def _chunk(job, inst, actor, chunk, rejects: _Rejects, counts: dict[str, int]) -> None:
    n_items = len(inst.items)
    parsed = []  # (line, row, id_hash, day, answers, result)
    for line, row in chunk:
        row = row + [""] * (4 + n_items - len(row))
        try:
            number = idnumber.validate(row[0])
        except idnumber.InvalidIdNumber as exc:
            rejects.add(line, row, _("身份证号：%(e)s") % {"e": exc})
            continue
        day = parse_date(row[2])
        if day is None:
            rejects.add(line, row, _("测评日期无法识别，请写成 2026-01-31"))
            continue
        if day > timezone.localdate():
            rejects.add(line, row, _("测评日期不能晚于今天"))
            continue
        try:
            answers = services.parse_codes(inst, ",".join(row[4 : 4 + n_items]))
            result = services.score_answers(inst, answers)
        except services.ScreeningError as exc:
            rejects.add(line, row, _("答案：%(e)s") % {"e": exc.message})
            continue
        parsed.append((line, row, crypto.lookup_hash(number), day, answers, result))
    counts["done"] += len(chunk)
    if not parsed:
        _progress(job, counts, rejects)
        return

    with transaction.atomic():
        persons = {
            h: (pk, area)
            for h, pk, area in scope.persons(actor, include_grants=False)
            .filter(id_number_hash__in={p[2] for p in parsed})
            .values_list("id_number_hash", "pk", "home_area_id")
        }
        keys = {idempotency_key(p[2], inst.code, p[3]) for p in parsed}
        seen = set(
            Assessment.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        previous: dict[int, float | None] = {}
        for pid, total in (
            Assessment.objects.filter(
                person_id__in={v[0] for v in persons.values()}, instrument=inst.code
            )
            .order_by("submitted_at", "id")
            .values_list("person_id", "total")
        ):
            previous[pid] = total
        now = timezone.now()
        ids = _reserve_ids(len(parsed))
        assessments, events, audits = [], [], []
        for line, row, id_hash, day, answers, result in parsed:
            who = persons.get(id_hash)
            if who is None:
                rejects.add(line, row, _("查无此人或不在您的管辖范围内，请先建档"))
                continue
            key = idempotency_key(id_hash, inst.code, day)
            if key in seen:
                counts["skipped"] += 1
                continue
            seen.add(key)
            pid, area_code = who
            a = Assessment(
                id=ids.pop(),
                person_id=pid,
                instrument=inst.code,
                version=str(inst.version),
                answers=services._json_safe(services._answers_dict(inst, answers)),
                total=result.total,
                band=result.band or "",
                band_label=str(getattr(result, "band_label", "") or "")[:120],
                positive=bool(result.positive),
                critical=services._critical(result),
                subscales=services._json_safe(getattr(result, "subscales", None) or {}),
                mode=Mode.IMPORT,
                entered_by_id=actor.pk,
                area_code=area_code,
                import_job_id=job.pk,
                site=(row[3] or job.site)[:200],
                created_at=now,
                submitted_at=timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0))),
                idempotency_key=key,
            )
            assessments.append(a)
            events.append(services.payload(a, previous.get(pid)))
            previous[pid] = a.total
            audits.append((a.pk, area_code))
        _write(assessments, events, audits, actor, now)
        counts["imported"] += len(assessments)
        _progress(job, counts, rejects)


def _progress(job, counts, rejects) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        rows_done=counts["done"],
        rows_imported=counts["imported"],
        rows_skipped=counts["skipped"],
        rows_rejected=rejects.count,
    )


def _reserve_ids(n: int) -> list[int]:
    """Primary keys for n new assessments, so events can name them before the rows exist."""
    table = Assessment._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, n],
            )
            ids = [r[0] for r in cursor.fetchall()]
        else:
            # SQLite: the IMMEDIATE transaction holds the write lock, so nobody else inserts.
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
            top = cursor.fetchone()[0]
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            seq = cursor.fetchone()
            top = max(top, seq[0] if seq else 0)
            ids = list(range(top + 1, top + n + 1))
    ids.reverse()  # popped from the end, so in file order
    return ids


ASSESSMENT_COLUMNS = [
    "id",
    "person_id",
    "instrument",
    "version",
    "answers",
    "total",
    "band",
    "band_label",
    "positive",
    "critical",
    "subscales",
    "mode",
    "entered_by_id",
    "area_code",
    "campaign_id",
    "import_job_id",
    "site",
    "created_at",
    "submitted_at",
    "idempotency_key",
]
OUTBOX_COLUMNS = ["topic", "payload", "created_at", "claimed_by", "attempts", "last_error"]
AUDIT_COLUMNS = [
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "area_code",
    "changed_fields",
    "reason",
]


def _write(assessments: list[Assessment], events, audits, actor, now) -> None:
    pg = connection.vendor == "postgresql"
    dumps = json.dumps

    def when(value):
        return value if pg else connection.ops.adapt_datetimefield_value(value)

    a_rows = [
        (
            a.id,
            a.person_id,
            a.instrument,
            a.version,
            dumps(a.answers, ensure_ascii=False),
            a.total,
            a.band,
            a.band_label,
            a.positive,
            dumps(a.critical, ensure_ascii=False),
            dumps(a.subscales, ensure_ascii=False),
            a.mode,
            a.entered_by_id,
            a.area_code,
            None,
            a.import_job_id,
            a.site,
            when(a.created_at),
            when(a.submitted_at),
            a.idempotency_key,
        )
        for a in assessments
    ]
    at = when(now)
    e_rows = [(services.TOPIC, dumps(e, ensure_ascii=False), at, "", 0, "") for e in events]
    label = actor.get_username()
    fields = dumps(["answers"])
    reason = str(Mode.IMPORT.label)
    u_rows = [
        (
            at,
            actor.pk,
            label,
            "screening.assessment.submit",
            "screening.assessment",
            str(pk),
            area,
            fields,
            reason,
        )
        for pk, area in audits
    ]
    bulk_insert(Assessment._meta.db_table, ASSESSMENT_COLUMNS, a_rows)
    bulk_insert(OutboxEvent._meta.db_table, OUTBOX_COLUMNS, e_rows)
    bulk_insert(AuditEntry._meta.db_table, AUDIT_COLUMNS, u_rows)


def bulk_insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY on PostgreSQL, executemany on SQLite; the caller holds the transaction."""
    if not rows:
        return
    cols = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608
