"""Bulk inserts and updates for the sync's hot path, fast on PostgreSQL and plain Django elsewhere.

On PostgreSQL, rows are inserted with COPY (ids taken from the table's sequence first, so callers get their
primary keys as with bulk_create) and updated by COPY into a scratch table and one UPDATE ... FROM it.
Django's bulk_create and bulk_update spend most of their time building SQL (bulk_update writes a CASE per
row and field) and psycopg most of its time parsing the long statements; COPY skips both. Values are stored
as a save() would store them (see `_converters`).
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

BATCH = 1000


def _converters(fields, connection) -> list[Callable[[Any], Any]]:
    """Per field, what get_db_prep_save would give COPY, without its per-value call chain where the result is
    plainly the value: JSON documents are dumped to text (COPY reads text into jsonb), strings and integers go
    as they are, anything else through the field itself."""
    out = []
    for field in fields:
        if isinstance(field, models.JSONField):
            encoder = field.encoder

            def dump(value, encoder=encoder):
                return None if value is None else json.dumps(value, cls=encoder)
            out.append(dump)
        elif isinstance(field, (models.CharField, models.TextField)) and not field.null:
            def text(value, field=field):
                return value if type(value) is str else field.get_db_prep_save(value, connection)
            out.append(text)
        elif isinstance(field, (models.IntegerField, models.ForeignKey, models.AutoField)) and not (
                isinstance(field, models.ForeignKey) and not isinstance(field.target_field,
                                                                        (models.IntegerField, models.AutoField))):
            def number(value, field=field):
                return value if value is None or type(value) is int else field.get_db_prep_save(value, connection)
            out.append(number)
        else:
            out.append(lambda value, field=field: field.get_db_prep_save(value, connection))
    return out


def insert_many(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert new rows, setting their primary keys and auto_now(_add) fields (as bulk_create would)."""
    if not objs:
        return
    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs a lookup per value
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=BATCH)
        return
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields]
    missing = [obj for obj in objs if obj.pk is None]
    table = meta.db_table
    # pre_save matters only where it computes a value (auto_now, auto_now_add); elsewhere it reads the attribute.
    computed = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    convert = _converters(fields, connection)
    attnames = [f.attname for f in fields]
    with connection.cursor() as cursor:
        if missing:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk.column, len(missing)])
            for obj, (value,) in zip(missing, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                for field in computed:
                    field.pre_save(obj, add=True)
                copy.write_row([c(getattr(obj, name)) for c, name in zip(convert, attnames, strict=True)])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"


def insert_rows(model: type[models.Model], attnames: Sequence[str], rows: Sequence[Sequence[Any]], *,
                ignore_conflicts: bool = False) -> None:
    """Insert rows given as value tuples for `attnames` (the primary key left to its sequence), without
    building a model instance per row: for rows nobody reads back, such as history. `ignore_conflicts` skips
    rows a unique constraint already holds (through a scratch table: COPY itself cannot)."""
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows],
                                  batch_size=BATCH, ignore_conflicts=ignore_conflicts)
        return
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    fields = [by_attname[name] for name in attnames]
    convert = _converters(fields, connection)
    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in fields)
    with transaction.atomic(), connection.cursor() as cursor:
        target = q(meta.db_table)
        if ignore_conflicts:
            target = _scratch(cursor, q, meta.db_table, columns)
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([c(value) for c, value in zip(convert, row, strict=True)])
        if ignore_conflicts:
            cursor.execute(f"INSERT INTO {q(meta.db_table)} ({columns}) SELECT {columns} FROM {target} "
                           "ON CONFLICT DO NOTHING")


def _scratch(cursor, q, table: str, columns: str) -> str:
    """An empty temporary table with these columns of `table`, kept for the connection's life (one per table and
    column list, emptied before each use)."""
    scratch = q(f"_bulk_{zlib.crc32(columns.encode()):08x}_{table}"[:63])
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} AS SELECT {columns} FROM {q(table)} WITH NO DATA")
    cursor.execute(f"TRUNCATE {scratch}")
    return scratch


def update_many(model: type[models.Model], objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Write ``field_names`` of existing rows from the objects (as bulk_update would).

    On PostgreSQL the new values are copied into a temporary table and joined in one UPDATE: a statement with
    a VALUES row per object would cost psycopg more time to parse than PostgreSQL to run."""
    if not objs:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, field_names, batch_size=500)
        return
    meta = model._meta
    pk = meta.pk
    fields = [pk] + [meta.get_field(name) for name in field_names]
    q = connection.ops.quote_name
    convert = _converters(fields, connection)
    attnames = [f.attname for f in fields]
    names = ", ".join(q(f.column) for f in fields)
    assignments = ", ".join(f"{q(f.column)} = v.{q(f.column)}" for f in fields[1:])
    with transaction.atomic(), connection.cursor() as cursor:
        scratch = _scratch(cursor, q, meta.db_table, names)
        with cursor.cursor.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([c(getattr(obj, name)) for c, name in zip(convert, attnames, strict=True)])
        # A temporary table has no statistics: without them the planner may scan the whole target table
        # instead of looking each row up by its primary key.
        cursor.execute(f"ANALYZE {scratch}")
        cursor.execute(f"UPDATE {q(meta.db_table)} AS t SET {assignments} FROM {scratch} AS v "
                       f"WHERE t.{q(pk.column)} = v.{q(pk.column)}")
