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
    cache = _Cache(inst, connection.vendor)
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
                    _chunk(job, inst, actor, chunk, rejects, counts, cache)
                    chunk = []
            if chunk:
                _chunk(job, inst, actor, chunk, rejects, counts, cache)
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


class _Cache:
    """Per-import memo of what repeats across rows: ID numbers, dates, the instrument's shape."""

    def __init__(self, inst, vendor: str):
        self.ids: dict[str, tuple[str, str]] = {}  # text -> (hash, "") or ("", error)
        self.days: dict[str, tuple[dt.date, Any, Any] | None] = {}
        self.item_ids = [str(i.id) for i in inst.items]
        self.pg = vendor == "postgresql"
        self.today = timezone.localdate()

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
        """(date, aware noon, the value as the database takes it), or None when unreadable."""
        if text not in self.days:
            day = parse_date(text)
            if day is None:
                self.days[text] = None
            else:
                noon = timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))
                db = noon if self.pg else connection.ops.adapt_datetimefield_value(noon)
                self.days[text] = (day, noon, db)
        return self.days[text]


def _chunk(job, inst, actor, chunk, rejects: _Rejects, counts: dict[str, int], cache) -> None:
    n_items = len(inst.items)
    parsed = []  # (line, row, id_hash, day, answers, result)
    for line, row in chunk:
        if len(row) < 4 + n_items:
            row = row + [""] * (4 + n_items - len(row))
        id_hash, error = cache.id_hash(row[0])
        if error:
            rejects.add(line, row, _("身份证号：%(e)s") % {"e": error})
            continue
        day = cache.day(row[2])
        if day is None:
            rejects.add(line, row, _("测评日期无法识别，请写成 2026-01-31"))
            continue
        if day[0] > cache.today:
            rejects.add(line, row, _("测评日期不能晚于今天"))
            continue
        try:
            answers = services.parse_codes(inst, ",".join(row[4 : 4 + n_items]))
            result = services.score_answers(inst, answers)
        except services.ScreeningError as exc:
            rejects.add(line, row, _("答案：%(e)s") % {"e": exc.message})
            continue
        parsed.append((line, row, id_hash, day, answers, result))
    counts["done"] += len(chunk)
    if not parsed:
        _progress(job, counts, rejects)
        return

    dumps = json.dumps
    code, version = inst.code, str(inst.version)
    with transaction.atomic():
        in_file = scope.persons(actor, include_grants=False).filter(
            id_number_hash__in={p[2] for p in parsed}
        )
        persons = {
            h: (pk, area)
            for h, pk, area in in_file.values_list("id_number_hash", "pk", "home_area_id")
        }
        keys = {idempotency_key(p[2], code, p[3][0]) for p in parsed}
        seen = set(
            Assessment.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        previous: dict[int, float | None] = {}
        for pid, total in (
            # a subquery, not a list of 10,000 ids: Django prepares each id of a list one by one
            Assessment.objects.filter(person_id__in=in_file.values("pk"), instrument=code)
            .order_by("submitted_at", "id")
            .values_list("person_id", "total")
        ):
            previous[pid] = total
        now = timezone.now()
        now_db = now if cache.pg else connection.ops.adapt_datetimefield_value(now)
        ids = _reserve_ids(len(parsed))
        a_rows, e_rows, u_rows = [], [], []
        label = actor.get_username()
        fields = dumps(["answers"])
        reason = str(Mode.IMPORT.label)
        for line, row, id_hash, (day, noon, noon_db), answers, result in parsed:
            who = persons.get(id_hash)
            if who is None:
                rejects.add(line, row, _("查无此人或不在您的管辖范围内，请先建档"))
                continue
            key = idempotency_key(id_hash, code, day)
            if key in seen:
                counts["skipped"] += 1
                continue
            seen.add(key)
            pid, area_code = who
            pk = ids.pop()
            # parse_answers gives {item_id: code} with int or None codes: JSON as it is
            if isinstance(answers, dict):
                answers_json = dumps(answers, default=str)
            else:
                answers_json = dumps(dict(zip(cache.item_ids, answers, strict=False)), default=str)
            critical = services._critical(result)
            subscales = getattr(result, "subscales", None)
            total, band, positive = result.total, result.band or "", bool(result.positive)
            a_rows.append(
                (
                    pk,
                    pid,
                    code,
                    version,
                    answers_json,
                    total,
                    band,
                    str(getattr(result, "band_label", "") or "")[:120],
                    positive,
                    dumps(critical) if critical else "[]",
                    dumps(services._json_safe(subscales), ensure_ascii=False)
                    if subscales
                    else "{}",
                    Mode.IMPORT.value,
                    actor.pk,
                    area_code,
                    None,
                    job.pk,
                    (row[3] or job.site)[:200],
                    now_db,
                    noon_db,
                    key,
                )
            )
            # the same keys as services.payload(), built without a model instance
            event = {
                "assessment_id": pk,
                "person_id": pid,
                "instrument": code,
                "version": version,
                "total": total,
                "band": band,
                "positive": positive,
                "critical": critical,
                "area_code": area_code,
                "anonymous": False,
                "previous_total": previous.get(pid),
                "mode": Mode.IMPORT.value,
                "submitted_at": noon.isoformat(),
            }
            e_rows.append((services.TOPIC, dumps(event), now_db, "", 0, ""))
            previous[pid] = total
            u_rows.append(
                (
                    now_db,
                    actor.pk,
                    label,
                    "screening.assessment.submit",
                    "screening.assessment",
                    str(pk),
                    area_code,
                    fields,
                    reason,
                )
            )
        bulk_insert(Assessment._meta.db_table, ASSESSMENT_COLUMNS, a_rows)
        bulk_insert(OutboxEvent._meta.db_table, OUTBOX_COLUMNS, e_rows)
        bulk_insert(AuditEntry._meta.db_table, AUDIT_COLUMNS, u_rows)
        counts["imported"] += len(a_rows)
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
