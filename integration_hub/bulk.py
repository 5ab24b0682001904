"""Bulk inserts and updates for the sync's hot path, fast on PostgreSQL and plain Django elsewhere.

On PostgreSQL, rows are inserted with COPY (ids taken from the table's sequence first, so callers get their
primary keys as with bulk_create) and updated with one UPDATE ... FROM (VALUES ...) per batch. Django's
bulk_create and bulk_update spend most of their time building SQL (bulk_update writes a CASE per row and
field) and psycopg most of its time parsing the long statements; COPY and a VALUES join skip both.
Values go through each field's own get_db_prep_save, exactly as a save() would store them.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections, models

BATCH = 1000


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
    with connection.cursor() as cursor:
        if missing:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk.column, len(missing)])
            for obj, (value,) in zip(missing, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"


def update_many(model: type[models.Model], objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Write ``field_names`` of existing rows from the objects (as bulk_update would)."""
    if not objs:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, field_names, batch_size=500)
        return
    meta = model._meta
    pk = meta.pk
    fields = [meta.get_field(name) for name in field_names]
    q = connection.ops.quote_name
    casts = [f"%s::{pk.db_type(connection)}"] + [f"%s::{f.db_type(connection).split('(')[0]}" for f in fields]
    row_sql = "(" + ", ".join(casts) + ")"
    assignments = ", ".join(f"{q(f.column)} = v.{q(f.column)}" for f in fields)
    names = ", ".join([q(pk.column)] + [q(f.column) for f in fields])
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            batch = objs[start:start + BATCH]
            params = []
            for obj in batch:
                params.append(obj.pk)
                params += [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
            cursor.execute(
                f"UPDATE {q(meta.db_table)} AS t SET {assignments} "
                f"FROM (VALUES {', '.join([row_sql] * len(batch))}) AS v({names}) "
                f"WHERE t.{q(pk.column)} = v.{q(pk.column)}", params)
