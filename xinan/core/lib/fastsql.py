"""Plain SQL for the few statements on the hottest write path (one submission: fetch the
person, fetch the previous total, insert the assessment, its audit entry and its outbox event).

Two costs of Django dominate there, not the database: `Model.save()` compiles its INSERT on
every call, and each `connection.cursor()` wraps a new cursor and rewrites the placeholders on
every execute. Here a statement is built once per (model, vendor) and run on one driver cursor
per connection. Errors are still Django's (IntegrityError and friends, through
`wrap_database_errors`), a broken atomic block is still refused, and values are prepared by
each field's own `pre_save` / `get_db_prep_save`, so defaults, auto_now_add, JSON, foreign keys
and encrypted fields are stored exactly as `save()` stores them; values the driver takes as
they are (a str for a text column, an int for an integer or a key, None) skip that step.

What is given up: no model signals (a model with pre_save / post_save receivers is refused),
and these statements are not seen by `connection.queries` or `execute_wrapper`. Like Django's
own cursor, a connection whose health check is due (CONN_HEALTH_CHECKS, once per request) is
checked first and reopened when the database dropped it.

Bulk writers (`copy_rows`, `reserve_ids`): COPY on PostgreSQL, multi-row executemany on SQLite.
"""

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import signals

# Field classes whose preparation of a value of these exact types is the identity.
_PLAIN: dict[type[models.Field], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.BooleanField: (bool,),
    models.FloatField: (float, int),
    models.BigAutoField: (int,),
    models.AutoField: (int,),
    models.ForeignKey: (int, str),
}

Prep = Callable[[models.Model], Any]


def _prep(field: models.Field, connection) -> Prep:
    attname = field.attname
    if type(field).pre_save is not models.Field.pre_save or getattr(field, "auto_now_add", False):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    plain = _PLAIN.get(type(field))
    if plain is None:
        return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)

    def prep(obj):
        value = getattr(obj, attname)
        if value is None or type(value) in plain:
            return value
        return field.get_db_prep_save(value, connection)

    return prep


def _native(sql: str, connection) -> str:
    """Django writes %s; SQLite's driver wants ?."""
    if connection.vendor == "sqlite":
        return sql.replace("%%", "\0").replace("%s", "?").replace("\0", "%")
    return sql


_statements: dict[tuple[type, str, bool], tuple[str, list[Prep]]] = {}
_native_sql: dict[tuple[str, str], str] = {}
_cursors = threading.local()


def _cursor(connection):
    """One driver cursor per (thread, connection), remade when the connection is."""
    # What Django's own cursor() does first: a connection the database dropped is found by
    # the health check (due once per request) and reopened before this statement, not after
    # it failed.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    raw = connection.connection
    found = getattr(_cursors, connection.alias, None)
    if found is None or found[0] is not raw:
        found = (raw, raw.cursor())
        setattr(_cursors, connection.alias, found)
    return found[1]


def execute(sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS):
    """Run one statement (Django's %s placeholders) and return the driver's cursor."""
    connection = connections[using]
    key = (connection.vendor, sql)
    native = _native_sql.get(key)
    if native is None:
        native = _native_sql[key] = _native(sql, connection)
    cursor = _cursor(connection)
    try:
        cursor.execute(native, params)
    except Exception as exc:
        _raise_as_django(connection, exc)
    return cursor


def _raise_as_django(connection, exc: Exception):
    """What the ORM does with a failed statement, done only when one fails (two context
    managers per statement cost more than the statement's own Python): mark the atomic block
    for rollback, and raise the driver's error as Django's (IntegrityError and friends)."""
    if connection.in_atomic_block:
        connection.needs_rollback = True
        connection.rollback_exc = exc
    with connection.wrap_database_errors:
        raise exc


def fetchone(sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS):
    cursor = execute(sql, params, using)
    try:
        return cursor.fetchone()
    except Exception as exc:
        _raise_as_django(connections[using], exc)


def fetchall(sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS) -> list:
    cursor = execute(sql, params, using)
    try:
        return cursor.fetchall()
    except Exception as exc:
        _raise_as_django(connections[using], exc)


def _insert_sql(model: type[models.Model], connection, fields: list[models.Field]) -> str:
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    # Names come from the model's own meta; values are always parameters.
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608


def _refuse_signals(model: type[models.Model]) -> None:
    for name, signal in (("pre_save", signals.pre_save), ("post_save", signals.post_save)):
        if signal.has_listeners(model):
            raise TypeError(
                f"{model.__name__} has {name} receivers, which fastsql would skip: "
                "save it through the ORM"
            )


def _statement(model: type[models.Model], connection, with_pk: bool):
    key = (model, connection.vendor, with_pk)
    found = _statements.get(key)
    if found is None:
        _refuse_signals(model)
        meta = model._meta
        fields = [f for f in meta.concrete_fields if with_pk or f is not meta.pk]
        sql = _insert_sql(model, connection, fields)
        found = _statements[key] = (sql, [_prep(f, connection) for f in fields])
    return found


_MISSING = object()
# pre_save of these classes returns the attribute unchanged unless auto_now(_add) is set.
_PLAIN_PRE_SAVE = (models.Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save)


def _value_prep(field: models.Field, connection) -> Callable[[Any], Any]:
    auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if auto or type(field).pre_save not in _PLAIN_PRE_SAVE:
        raise TypeError(f"{field} computes its value on save: use fastsql.insert()")
    plain = _PLAIN.get(type(field), ())

    def prep(value):
        if value is _MISSING:
            value = field.get_default()  # what the model's __init__ would have set
        if value is None or type(value) in plain:
            return value
        return field.get_db_prep_save(value, connection)

    return prep


_row_statements: dict[tuple[type, str], tuple[str, list[tuple[str, Callable]], frozenset]] = {}


def insert_row(model: type[models.Model], values: dict[str, Any], using: str = DEFAULT_DB_ALIAS):
    """INSERT one row of `model` from {attname: value} without building an instance (for
    append-only rows nobody reads back at once: audit entries, outbox events); fields left out
    take their defaults. Values are prepared by each field as `save()` prepares them. Returns
    the new primary key."""
    connection = connections[using]
    key = (model, connection.vendor)
    found = _row_statements.get(key)
    if found is None:
        _refuse_signals(model)
        meta = model._meta
        fields = [f for f in meta.concrete_fields if f is not meta.pk]
        preps = [(f.attname, _value_prep(f, connection)) for f in fields]
        names = frozenset(name for name, _prep in preps)
        found = _row_statements[key] = (_insert_sql(model, connection, fields), preps, names)
    sql, preps, names = found
    unknown = values.keys() - names
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    return fetchone(sql, [prep(values.get(name, _MISSING)) for name, prep in preps], using)[0]


def insert(obj: models.Model, using: str = DEFAULT_DB_ALIAS) -> models.Model:
    """INSERT `obj` (as `save(force_insert=True)` would, without signals); sets its pk."""
    connection = connections[using]
    sql, preps = _statement(type(obj), connection, obj.pk is not None)
    obj.pk = fetchone(sql, [prep(obj) for prep in preps], using)[0]
    obj._state.adding = False
    obj._state.db = using
    return obj


# SQLite: rows per INSERT statement. One statement with many VALUES rows, run by executemany,
# binds the same values as one-row statements but steps the statement far fewer times.
SQLITE_ROWS_PER_STATEMENT = 50


def copy_rows(
    table: str, columns: list[str], rows: list[tuple], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Append rows of values already as the database takes them: COPY on PostgreSQL,
    executemany of multi-row INSERTs on SQLite. The caller holds the transaction."""
    if not rows:
        return
    connection = connections[using]
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


def reserve_ids(table: str, n: int, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """Primary keys for n new rows of `table`, in order, so rows written by `copy_rows` can be
    named (by events, by deliveries) before they exist. Inside the writing transaction."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # the sequence's name first: pg_get_serial_sequence() per generated row costs ten
            # times the nextval() calls themselves
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, n]
            )
            return [r[0] for r in cursor.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the write lock, so nobody else inserts.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        seq = cursor.fetchone()
        top = max(top, seq[0] if seq else 0)
        return list(range(top + 1, top + n + 1))
