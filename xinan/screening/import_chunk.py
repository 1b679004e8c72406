"""One chunk of a bulk import (importer.py runs the job): each row checked and scored, the
chunk's people, idempotency keys and previous results looked up in three queries, then the
assessments, their `assessment.scored` events with deliveries, one audit row per area and the
job's counts written in one transaction. Writes go through PostgreSQL COPY or SQLite
executemany, because the ORM tops out near 8k rows/s (../shared/reference/performance.md §3.3).
"""

import hashlib
import json
import math
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, jobs, outbox, priority, scope
from xinan.core.lib import fastsql
from xinan.screening import services, topics
from xinan.screening.models import Assessment, ImportJob, Mode

# One audit row per chunk and area, not per assessment (docs/screening.md, "Bulk import").
CHUNK_ACTION = "screening.import.chunk"
# Rows parsed between two chances for the worker's live lanes to run first (core/priority.py).
STEP_ROWS = 200
audit.register_action(CHUNK_ACTION, gettext_lazy("批量导入测评（每批一条）"))


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
assert ROW_FIELDS == [  # noqa: S101 — the order `write` fills the slots in
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


def _parse(chunk, rejects, cache) -> list[tuple]:
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
    for n, (line, row) in enumerate(chunk):
        if not n % STEP_ROWS:
            priority.step_aside()  # a worker's live lanes first (outside the transaction)
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
        # answers None: the JSON is written from the cells (see importer.Cache.answers_format)
        parsed.append((line, row, id_hash, day, key, cells if answers is None else answers, result))
    return parsed


def _values_table(values, cast: str, alias: str = "v") -> tuple[str, list]:
    """A one-column table (column `value`) of these values, bound as a single parameter: a
    list of 10,000 hashes or ids bound one by one costs more than the query itself. JSON text
    on both databases: psycopg dumps a Python list as an array element by element in Python,
    which was a tenth of a PostgreSQL import's CPU."""
    if connection.vendor == "postgresql":
        return (  # the cast and alias are this module's constants
            f"(SELECT value::{cast} AS value FROM json_array_elements_text(%s::json))"  # noqa: S608
            f" AS {alias}",
            [json.dumps(list(values))],
        )
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
    `code` at or before that time: one step back along assess_person_idx per pair. (Reading
    all of the chunk's people's results and bisecting in Python instead made memory grow
    with the file and PostgreSQL slower: docs/benchmarks.md.)"""
    assessments = Assessment._meta.db_table
    pairs = sorted(pairs)
    step = (
        f"FROM {assessments} a WHERE a.person_id = {{pid}} AND a.instrument = %s "  # noqa: S608
        f"AND a.submitted_at <= {{at}} ORDER BY a.submitted_at DESC, a.id DESC LIMIT 1"
    )
    if connection.vendor == "postgresql":
        lateral = step.format(pid="p.pid", at="p.at")
        # the pairs as JSON text, for the reason in _values_table
        cursor.execute(
            f"SELECT p.pid, p.at, a.submitted_at, a.total "  # noqa: S608
            f"FROM (SELECT (e->>0)::bigint AS pid, (e->>1)::timestamptz AS at"
            f" FROM json_array_elements(%s::json) AS e) AS p "
            f"JOIN LATERAL (SELECT a.submitted_at, a.total {lateral}) a ON true",
            [json.dumps([[p, at.isoformat()] for p, at in pairs]), code],
        )
    else:
        # one step back per pair for the row's id (two subqueries, one per column, cost twice),
        # the row itself then read by its primary key; the time as SQLite stores it (UTC
        # text, the form the rows' own times are in), not through Django's datetime converter
        one = step.format(pid="json_extract(p.value, '$[0]')", at="json_extract(p.value, '$[1]')")
        cursor.execute(
            f"SELECT json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]'), "  # noqa: S608
            f"r.submitted_at || '', r.total FROM json_each(%s) AS p "
            f"JOIN {assessments} r ON r.id = (SELECT a.id {one})",
            [json.dumps([list(p) for p in pairs]), code],
        )
    rows = cursor.fetchall()
    return {(pid, at): (when, total) for pid, at, when, total in rows if total is not None}


def write(job, inst, actor, chunk, rejects, counts: dict[str, int], cache) -> None:
    """Check, score and look up one chunk's rows, then write its assessments, events with
    their deliveries, audit rows and the job's counts in one transaction. `rejects` takes the
    rows refused (importer._Rejects), `cache` what repeats across the import (importer.Cache);
    `counts` is updated in place."""
    parsed = _parse(chunk, rejects, cache)
    counts["done"] += len(chunk)
    if not parsed:
        progress(job, counts, rejects)
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
        progress(job, counts, rejects)


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


def progress(job, counts, rejects) -> None:
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
