"""Bulk import of paper results (.xlsx or .csv), streamed in chunks of 10,000 rows.

Each row is validated and scored by the same engine as an online submission and written with
its audit row and its `assessment.scored` outbox row; a chunk is one transaction. Writes go
through PostgreSQL COPY or SQLite executemany, because the ORM tops out near 8k rows/s
(../shared/reference/performance.md §3.3). Re-uploading a file skips rows already imported: the
idempotency key is a hash of the person's keyed ID-number hash, the instrument and the date.
"""

import datetime as dt
import hashlib
import io
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, bus, scope
from xinan.core.lib import crypto, idnumber, spreadsheet, uploads
from xinan.core.lib.background import run_in_background
from xinan.core.models import AuditEntry, OutboxEvent
from xinan.screening import files, services
from xinan.screening.models import Assessment, ImportJob, ImportStatus, Mode

log = logging.getLogger(__name__)

CHUNK_ROWS = 10_000
REPORT_LIMIT = 500  # errors kept for the on-screen report; the rejected-rows file has them all
HEADER_ID = "身份证号"
HEADER_NAME = "姓名"
HEADER_DATE = "测评日期"
HEADER_SITE = "地点"
# One audit row per chunk and area, not per assessment (docs/screening.md, "Bulk import").
CHUNK_ACTION = "screening.import.chunk"
audit.register_action(CHUNK_ACTION, gettext_lazy("批量导入测评（每批一条）"))


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
    """Process in a background thread (or inline when SCREENING_IMPORT_INLINE is set, as in tests).

    The thread lives in the web process: if the process dies mid-import, the job stays
    "running" and re-uploading the same file finishes it without duplicates.
    """
    run_in_background(run, job.pk, inline=getattr(settings, "SCREENING_IMPORT_INLINE", False))


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
        # kept in memory (the upload's size is capped) and written encrypted on close
        self.f = io.StringIO(newline="")
        self.w = spreadsheet.SafeWriter(self.f)
        self.w.writerow([*head, _("错误原因")])
        self.report: list[dict[str, Any]] = []
        self.count = 0

    def add(self, line: int, row: list[str], message: str) -> None:
        self.count += 1
        self.w.writerow([*row, message])
        if len(self.report) < REPORT_LIMIT:
            self.report.append({"line": line, "message": message})

    def close(self) -> None:
        if self.count:
            self.path = files.write_encrypted(self.path, self.f.getvalue())
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


def _number_json(value) -> str:
    """A total as json.dumps writes it (json.dumps itself for what is not a plain number)."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return json.dumps(value)


# The `assessment.scored` payload of services.payload(), written without a model instance or
# json.dumps per row: the same keys, values and JSON (test_import compares them).
EVENT_FORMAT = (
    '{"assessment_id": %s, "person_id": %s, "instrument": %s, "version": %s, "total": %s, '
    '"band": %s, "positive": %s, "critical": %s, "area_code": %s, "anonymous": false, '
    '"previous_total": %s, "mode": %s, "submitted_at": %s}'
)


def _parse(chunk, rejects: _Rejects, cache: _Cache) -> list[tuple]:
    """Rows that pass every check needing no database: (line, row, id hash, day, idempotency
    key, answers, result), answers being the list of cells where the compiled scorer read
    them as plain codes. The others go to the rejected-rows file."""
    width = 4 + cache.n_items
    score_row = cache.scorer.score_row
    instrument_error = cache.InstrumentError
    ids, days, today = cache.ids, cache.days, cache.today
    suffix = cache.key_suffix
    sha256 = hashlib.sha256
    parsed = []
    for line, row in chunk:
        if len(row) < width:
            row = row + [""] * (width - len(row))
        id_hash, error = ids.get(row[0]) or cache.id_hash(row[0])
        if error:
            rejects.add(line, row, _("身份证号：%(e)s") % {"e": error})
            continue
        day = days[row[2]] if row[2] in days else cache.day(row[2])
        if day is None:
            rejects.add(line, row, _("测评日期无法识别，请写成 2026-01-31"))
            continue
        if day[0] > today:
            rejects.add(line, row, _("测评日期不能晚于今天"))
            continue
        cells = row[4:width]
        try:
            answers, result = score_row(cells)
        except instrument_error as exc:
            rejects.add(line, row, _("答案：%(e)s") % {"e": exc.message})
            continue
        key = sha256(f"{id_hash}{suffix}{day[4]}".encode()).hexdigest()
        # answers None: the JSON is written from the cells (see _Cache.answers_format)
        parsed.append((line, row, id_hash, day, key, cells if answers is None else answers, result))
    return parsed


def _values_table(values, cast: str, alias: str = "v") -> tuple[str, list]:
    """A one-column table (column `value`) of these values, bound as a single parameter: a
    list of 10,000 hashes or ids bound one by one costs more than the query itself."""
    if connection.vendor == "postgresql":
        return f"unnest(%s::{cast}[]) AS {alias}(value)", [list(values)]
    return f"json_each(%s) AS {alias}", [json.dumps(list(values))]


def _lookups(actor, code: str, parsed: list[tuple]):
    """Per chunk: the people of the file in the uploader's scope by ID-number hash, the
    idempotency keys already imported, and each person's latest total on this instrument."""
    from django.db.models.expressions import RawSQL

    table, params = _values_table({p[2] for p in parsed}, "text")
    in_file = (
        scope.persons(actor, include_grants=False)
        .filter(id_number_hash__in=RawSQL(f"SELECT value FROM {table}", params))  # noqa: S608, S611
        .order_by()
        .values_list("id_number_hash", "pk", "home_area_id")
    )
    assessments = Assessment._meta.db_table
    with connection.cursor() as cursor:
        # the scope gate's own query, its rows read without building model values one by one
        cursor.execute(*in_file.query.sql_with_params())
        persons = {h: (pk, area) for h, pk, area in cursor.fetchall()}
        table, params = _values_table([p[4] for p in parsed], "text")
        cursor.execute(
            f"SELECT idempotency_key FROM {assessments} "  # noqa: S608
            f"WHERE idempotency_key IN (SELECT value FROM {table})",
            params,
        )
        seen = {r[0] for r in cursor.fetchall()}
        previous: dict[int, float | None] = {}
        if persons:
            # each person's latest row only: one step back along assess_person_idx
            table, params = _values_table([pk for pk, _area in persons.values()], "bigint", "p")
            cursor.execute(
                f"SELECT p.value, (SELECT a.total FROM {assessments} a "  # noqa: S608
                "WHERE a.person_id = p.value AND a.instrument = %s "
                f"ORDER BY a.submitted_at DESC, a.id DESC LIMIT 1) FROM {table}",
                [code, *params],
            )
            previous = {pid: total for pid, total in cursor.fetchall() if total is not None}
    return persons, seen, previous


def _chunk(job, inst, actor, chunk, rejects: _Rejects, counts: dict[str, int], cache) -> None:
    parsed = _parse(chunk, rejects, cache)
    counts["done"] += len(chunk)
    if not parsed:
        _progress(job, counts, rejects)
        return

    dumps = json.dumps
    jsonof = cache.dumps
    code, version = cache.code, cache.version
    answers_format = cache.answers_format
    mode = Mode.IMPORT.value
    site, job_pk, topic = job.site, job.pk, services.TOPIC
    actor_pk = actor.pk
    # the event's constant values written in once per chunk, leaving the per-row slots
    constant = [dumps(v).replace("%", "%%") for v in (code, version, mode)]
    event_format = EVENT_FORMAT % ("%s", "%s", *constant[:2], *["%s"] * 6, constant[2], "%s")
    with transaction.atomic():
        persons, seen, previous = _lookups(actor, code, parsed)
        now = timezone.now()
        now_db = now if cache.pg else connection.ops.adapt_datetimefield_value(now)
        ids = _reserve_ids(len(parsed))
        a_rows, e_rows = [], []
        by_area: dict[str, list[int]] = {}  # area -> ids of this chunk's assessments there
        for line, row, id_hash, day, key, answers, result in parsed:
            who = persons.get(id_hash)
            if who is None:
                rejects.add(line, row, _("查无此人或不在您的管辖范围内，请先建档"))
                continue
            if key in seen:
                counts["skipped"] += 1
                continue
            seen.add(key)
            pid, area_code = who
            pk = ids.pop()
            if type(answers) is list:
                answers_json = answers_format % tuple(answers)
            else:
                answers_json = dumps(answers, default=str)
            critical_json = dumps(services._critical(result)) if result.critical else "[]"
            subscales = result.subscales
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
                    str(result.band_label or "")[:120],
                    positive,
                    critical_json,
                    dumps(services._json_safe(subscales), ensure_ascii=False)
                    if subscales
                    else "{}",
                    mode,
                    actor_pk,
                    area_code,
                    None,
                    job_pk,
                    (row[3] or site)[:200],
                    now_db,
                    day[2],
                    key,
                )
            )
            e_rows.append(
                (
                    topic,
                    event_format
                    % (
                        pk,
                        pid,
                        str(total) if type(total) is int else _number_json(total),
                        jsonof(band),
                        "true" if positive else "false",
                        critical_json,
                        jsonof(area_code),
                        _number_json(previous.get(pid)),
                        day[3],
                    ),
                    now_db,
                    "",
                    0,
                    "",
                )
            )
            previous[pid] = total
            if area_code in by_area:
                by_area[area_code].append(pk)
            else:
                by_area[area_code] = [pk]
        bulk_insert(Assessment._meta.db_table, ASSESSMENT_COLUMNS, a_rows)
        bulk_insert(OutboxEvent._meta.db_table, OUTBOX_COLUMNS, e_rows)
        if e_rows:
            # what outbox.emit does per event, once for the chunk: wake the crisis consumer
            # when this transaction commits
            bus.publish(topic)
        bulk_insert(
            AuditEntry._meta.db_table, AUDIT_COLUMNS, _audit_rows(job, actor, by_area, now_db)
        )
        counts["imported"] += len(a_rows)
        _progress(job, counts, rejects)


def _audit_rows(job, actor, by_area: dict[str, list[int]], now_db) -> list[tuple]:
    """One audit row per chunk and area (so an area's administrators see their part): the
    job, how many assessments and their first and last ids. Each assessment itself records
    who entered it, how (mode=import), where and when."""
    label = actor.get_username()
    return [
        (
            now_db,
            actor.pk,
            label,
            CHUNK_ACTION,
            "screening.importjob",
            str(job.pk),
            area_code,
            '["answers"]',
            _("导入 %(count)s 份测评，编号 %(first)s–%(last)s")
            % {"count": len(pks), "first": pks[0], "last": pks[-1]},
        )
        for area_code, pks in by_area.items()
    ]


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
            # the sequence's name first: pg_get_serial_sequence() per generated row costs ten
            # times the nextval() calls themselves
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, n]
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


# SQLite: rows per INSERT statement. One statement with many VALUES rows, run by executemany,
# binds the same values as one-row statements but steps the statement far fewer times.
SQLITE_ROWS_PER_STATEMENT = 50


def bulk_insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY on PostgreSQL, executemany on SQLite; the caller holds the transaction."""
    if not rows:
        return
    cols = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
            return
        # the sqlite3 connection under Django's wrapper: qmark placeholders, no conversion
        db = connection.connection
        one = "(" + ", ".join(["?"] * len(columns)) + ")"
        per = SQLITE_ROWS_PER_STATEMENT
        full = len(rows) - len(rows) % per
        if full:
            many = f"INSERT INTO {table} ({cols}) VALUES " + ", ".join([one] * per)  # noqa: S608
            db.executemany(
                many, [[v for row in rows[i : i + per] for v in row] for i in range(0, full, per)]
            )
        if full < len(rows):
            db.executemany(f"INSERT INTO {table} ({cols}) VALUES {one}", rows[full:])  # noqa: S608
