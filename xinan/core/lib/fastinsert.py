"""Insert one model instance with SQL built once per model, for the hottest write paths.

`Model.save()` recompiles its INSERT on every call, which costs more than the database does on
a busy submission path. `insert()` keeps the statement per (model, vendor, explicit pk) and
prepares each value with the field's own `pre_save` and `get_db_prep_save`, so defaults,
auto_now_add, JSON, foreign keys and encrypted fields are stored exactly as `save()` stores
them. No signals are sent: use it only for models that have no receivers.
"""

from django.db import connections, models

_statements: dict[tuple[type, str, bool], tuple[str, list[models.Field]]] = {}


def _statement(model: type[models.Model], connection, with_pk: bool):
    key = (model, connection.vendor, with_pk)
    found = _statements.get(key)
    if found is None:
        meta = model._meta
        qn = connection.ops.quote_name
        fields = [f for f in meta.concrete_fields if with_pk or f is not meta.pk]
        columns = ", ".join(qn(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        # Names come from the model's own meta; values are always parameters.
        table, pk = qn(meta.db_table), qn(meta.pk.column)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608
        found = _statements[key] = (sql, fields)
    return found


def insert(obj: models.Model, using: str = "default") -> models.Model:
    """INSERT `obj` (as `save(force_insert=True)` would, without signals); sets its pk."""
    connection = connections[using]
    sql, fields = _statement(type(obj), connection, obj.pk is not None)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = using
    return obj
