"""Writing the rows of a feed poll without the ORM's per-call overhead.

bulk_create and save() prepare every value through each field's full save path and build
their SQL anew on each call; for a poll's 20-odd new articles of 30 columns and its feed row
that was most of the poll's time in the process that talks to the database
(bench/ingest.py, feeds only). Here each model gets its columns and value preparation
worked out once, and a call is one statement. For plain rows only: no pre_save hooks
(auto_now), no signals; a column left out gets its field's default, as the model's
constructor would give it. `one_writer` lets one thread of a process write at a time on
SQLite."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

# SQLite's historical limit on parameters per statement (newer builds allow more).
MAX_PARAMETERS = 999


@dataclass(frozen=True)
class _Table:
    name: str
    pk: str
    columns: dict[str, str]  # attname → quoted column, the primary key left out
    prepare: dict[str, Callable[[Any], Any]]  # attname → value preparation, where one is needed


@lru_cache(maxsize=None)
def _table(model: type[models.Model], alias: str) -> _Table:
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns, prepare = {}, {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns[field.attname] = quote(field.column)
        if isinstance(field, models.DateTimeField):
            prepare[field.attname] = _datetime_preparation(field, connection.vendor, alias)
        elif isinstance(field, models.JSONField):
            prepare[field.attname] = lambda value, field=field: field.get_db_prep_save(value, connections[alias])
        # str, int, bool, bytes and None go to the driver as they are.
    return _Table(quote(model._meta.db_table), quote(model._meta.pk.column), columns, prepare)


def _datetime_preparation(field: models.Field, vendor: str, alias: str) -> Callable[[Any], Any]:
    def prepare(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            # What Django stores: PostgreSQL takes the aware value, SQLite naive UTC text.
            return value if vendor != "sqlite" else str(value.astimezone(UTC).replace(tzinfo=None))
        return field.get_db_prep_save(value, connections[alias])  # naive or odd: the ORM's way
    return prepare


def _values(table: _Table, obj: models.Model, names: Sequence[str]) -> list[Any]:
    return _prepared(table, names, [getattr(obj, name) for name in names])


def insert_values(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """INSERT rows given as {attname: value} (columns left out take the field's default, as
    the model's constructor would give them) and return their primary keys, in order.
    For a poll's articles: building a model instance per row cost more than inserting it."""
    if not rows:
        return []
    table = _table(model, DEFAULT_DB_ALIAS)
    names = list(table.columns)
    defaults = _defaults(model)
    for row in rows:
        if unknown := row.keys() - table.columns.keys():
            raise ValueError(f"{model.__name__} has no column for {sorted(unknown)}")
    return _insert(table, names, [
        _prepared(table, names, [row[name] if name in row else defaults[name]() for name in names]) for row in rows])


def _prepared(table: _Table, names: Sequence[str], values: Sequence[Any]) -> list[Any]:
    """`values` (one per name) as the database driver takes them."""
    prepared = []
    for name, value in zip(names, values):
        prepare = table.prepare.get(name)
        prepared.append(value if prepare is None or value is None else prepare(value))
    return prepared


@lru_cache(maxsize=None)
def _defaults(model: type[models.Model]) -> dict[str, Callable[[], Any]]:
    return {field.attname: field.get_default for field in model._meta.concrete_fields if not field.primary_key}


def _insert(table: _Table, names: list[str], rows: list[list[Any]]) -> list[int]:
    """One INSERT … RETURNING per slice of rows that fits the parameter limit; the ids, in
    the order of `rows`."""
    connection = connections[DEFAULT_DB_ALIAS]  # this thread's, looked up once, not per value
    head = f"INSERT INTO {table.name} ({', '.join(table.columns[name] for name in names)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(names))
    ids: list[int] = []
    for start in range(0, len(rows), per_statement):
        batch = rows[start:start + per_statement]
        with connection.cursor() as cursor:
            cursor.execute(head + ", ".join([row] * len(batch)) + f" RETURNING {table.pk}",
                           [value for values in batch for value in values])
            # Neither engine promises RETURNING's order, but both number the rows of one
            # INSERT in the order of its VALUES (SQLite's rowid, PostgreSQL's sequence) and
            # ascending: sorted, the ids line up with the rows.
            batch_ids = sorted(r[0] for r in cursor.fetchall())
        if len(batch_ids) != len(batch):
            raise RuntimeError(f"inserted {len(batch)} rows, got {len(batch_ids)} ids back")
        ids += batch_ids
    return ids


def update_row(obj: models.Model, names: Sequence[str]) -> None:
    """UPDATE these fields (attnames) of a stored instance, as save(update_fields=…) would."""
    table = _table(type(obj), DEFAULT_DB_ALIAS)
    assignments = ", ".join(f"{table.columns[name]} = %s" for name in names)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"UPDATE {table.name} SET {assignments} WHERE {table.pk} = %s",
                       [*_values(table, obj, names), obj.pk])


_sqlite_writer = threading.Lock()


@contextmanager
def one_writer() -> Iterator[None]:
    """Around a write transaction: on SQLite, one thread of this process writes at a time.
    SQLite admits one writer anyway, but a thread that finds the file locked sleeps in
    SQLite's busy handler (1, 2, 5, 10 ms and longer) however soon the lock is free again;
    one queued on this lock wakes as soon as it is. Not taken inside an open transaction
    (that thread may already hold SQLite's lock: waiting here could deadlock), nor on
    PostgreSQL, which has row locks."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with _sqlite_writer:
        yield
