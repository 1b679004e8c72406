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
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, jobs, outbox, scope
from xinan.core.lib import crypto, fastsql, idnumber, spreadsheet, uploads
from xinan.screening import files, services, topics
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
                if to_skip:  # in a chunk committed before the resume
                    to_skip -= 1
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


# The `assessment.scored` payload (screening/topics.py), written without a model instance or
# json.dumps per row: the dataclass's keys in its order, with the values constant for an
# import filled in once per chunk and a slot for each of the others (test_import compares them).
CONSTANT_FIELDS = ("instrument", "version", "anonymous", "mode")
ROW_FIELDS = [f for f in topics.FIELDS if f not in CONSTANT_FIELDS]
assert ROW_FIELDS == [  # noqa: S101 — the order _chunk fills the slots in
    "assessment_id",
    "person_id",
    "total",
    "band",
    "positive",
    "critical",
    "area_code",
    "previous_total",
    "submitted_at",
]


def event_format(constants: dict[str, str]) -> str:
    """The payload's JSON with `constants` (field -> JSON text) written in, %s for the rest."""
    slots = {name: text.replace("%", "%%") for name, text in constants.items()}
    return "{" + ", ".join(f"{json.dumps(n)}: {slots.get(n, '%s')}" for n in topics.FIELDS) + "}"


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
    idempotency keys already imported, and for each (person, day) of the chunk the person's
    latest earlier result on this instrument as (submitted_at, total) — bounded by the row's
    own date, as a single submission's previous total is, so an old paper result is never
    compared with a later one."""
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
        previous: dict[tuple[int, Any], tuple[Any, float]] = {}
        pairs = {(persons[p[2]][0], p[3][2]) for p in parsed if p[2] in persons}
        if pairs:
            previous = _previous_before(cursor, code, pairs)
    return persons, seen, previous


def _previous_before(cursor, code: str, pairs) -> dict:
    """{(person, noon as stored): (submitted_at, total)} of each person's latest result on
    `code` at or before that time: one step back along assess_person_idx per pair."""
    assessments = Assessment._meta.db_table
    pairs = sorted(pairs)
    step = (
        f"FROM {assessments} a WHERE a.person_id = {{pid}} AND a.instrument = %s "  # noqa: S608
        f"AND a.submitted_at <= {{at}} ORDER BY a.submitted_at DESC, a.id DESC LIMIT 1"
    )
    if connection.vendor == "postgresql":
        lateral = step.format(pid="p.pid", at="p.at")
        cursor.execute(
            f"SELECT p.pid, p.at, a.submitted_at, a.total "  # noqa: S608
            f"FROM unnest(%s::bigint[], %s::timestamptz[]) AS p(pid, at) "
            f"JOIN LATERAL (SELECT a.submitted_at, a.total {lateral}) a ON true",
            [[p for p, _at in pairs], [at for _p, at in pairs], code],
        )
    else:
        one = step.format(pid="json_extract(p.value, '$[0]')", at="json_extract(p.value, '$[1]')")
        cursor.execute(
            f"SELECT json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]'), "  # noqa: S608
            f"(SELECT a.submitted_at {one}), (SELECT a.total {one}) FROM json_each(%s) AS p",
            [code, code, json.dumps([list(p) for p in pairs])],
        )
    rows = cursor.fetchall()
    if connection.vendor != "postgresql":
        # the times as SQLite stores them (UTC text), the form the rows' own times are in
        rows = [(pid, at, str(when), total) for pid, at, when, total in rows]
    return {(pid, at): (when, total) for pid, at, when, total in rows if total is not None}


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
    constants = {"instrument": dumps(code), "version": dumps(version), "mode": dumps(mode)}
    row_format = event_format({**constants, "anonymous": "false"})
    with transaction.atomic():
        persons, seen, previous = _lookups(actor, code, parsed)
        in_chunk: dict[int, list[tuple[Any, float]]] = {}  # person -> (when, total) written
        now = timezone.now()
        now_db = now if cache.pg else connection.ops.adapt_datetimefield_value(now)
        ids = fastsql.reserve_ids(Assessment._meta.db_table, len(parsed))
        ids.reverse()  # popped from the end, so in file order
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
            at = day[2]
            before = previous.get((pid, at))
            for when, earlier in in_chunk.get(pid, ()):
                if when <= at and (before is None or when >= before[0]):
                    before = (when, earlier)
            e_rows.append(
                row_format
                % (
                    pk,
                    pid,
                    str(total) if type(total) is int else _number_json(total),
                    jsonof(band),
                    "true" if positive else "false",
                    critical_json,
                    jsonof(area_code),
                    _number_json(None if before is None else before[1]),
                    day[3],
                )
            )
            in_chunk.setdefault(pid, []).append((at, total))
            if area_code in by_area:
                by_area[area_code].append(pk)
            else:
                by_area[area_code] = [pk]
        fastsql.copy_rows(Assessment._meta.db_table, ASSESSMENT_COLUMNS, a_rows)
        # events and their deliveries on the bulk lane: a file's alerts never hold up a live one
        outbox.emit_many(topic, e_rows)
        audit.record_many(_audit_entries(job, by_area), actor=actor)
        counts["imported"] += len(a_rows)
        _progress(job, counts, rejects)


def _audit_entries(job, by_area: dict[str, list[int]]) -> list[dict[str, Any]]:
    """One audit row per chunk and area (so an area's administrators see their part): the
    job, how many assessments and their first and last ids. Each assessment itself records
    who entered it, how (mode=import), where and when."""
    return [
        {
            "action": CHUNK_ACTION,
            "object_type": "screening.importjob",
            "object_id": job.pk,
            "area_code": area_code,
            "changed_fields": ["answers"],
            "reason": _("导入 %(count)s 份测评，编号 %(first)s–%(last)s")
            % {"count": len(pks), "first": pks[0], "last": pks[-1]},
        }
        for area_code, pks in by_area.items()
    ]


def _progress(job, counts, rejects) -> None:
    """Inside the chunk's transaction: the counts commit with the rows they count."""
    ImportJob.objects.filter(pk=job.pk).update(
        rows_done=counts["done"],
        rows_imported=counts["imported"],
        rows_skipped=counts["skipped"],
        rows_rejected=rejects.count,
        report=sorted(rejects.report, key=lambda r: r["line"]),
        rejected_path=rejects.checkpoint(),
    )
    jobs.progress(counts["done"])


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


def bulk_insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Assessment rows as the database takes them (the benchmark's raw ceiling uses it too)."""
    fastsql.copy_rows(table, columns, rows)
