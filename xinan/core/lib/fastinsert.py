"""Insert one model instance with SQL built once per model, for the hottest write paths.

`Model.save()` recompiles its INSERT on every call, which costs more than the database does on
a busy submission path. `insert()` keeps the statement per (model, vendor, explicit pk) and
prepares each value as `save()` would: the field's own `pre_save` and `get_db_prep_save`, so
defaults, auto_now_add, JSON, foreign keys and encrypted fields are stored exactly the same.
Values that the driver takes as they are (a str for a text column, an int for an integer or
a foreign key, None) skip that preparation. No signals are sent: use it only for models that
have no receivers.
"""

from collections.abc import Callable
from typing import Any

from django.db import connections, models

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


_statements: dict[tuple[type, str, bool], tuple[str, list[Prep]]] = {}


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
        found = _statements[key] = (sql, [_prep(f, connection) for f in fields])
    return found


def insert(obj: models.Model, using: str = "default") -> models.Model:
    """INSERT `obj` (as `save(force_insert=True)` would, without signals); sets its pk."""
    connection = connections[using]
    sql, preps = _statement(type(obj), connection, obj.pk is not None)
    values = [prep(obj) for prep in preps]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = using
    return obj
