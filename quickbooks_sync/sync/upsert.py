"""Landing a page in the database: the fastest correct path each backend offers.

Decision: a page is written set-wise, never row by row through the ORM (Django's
``bulk_create(update_conflicts=True)`` spends most of a page's time preparing values field
by field). What is stored is exactly what the ORM would store; ``raw_data`` is serialised
once with orjson.

* PostgreSQL: the page is ``COPY``-ed into a temporary stage table (one per synced table
  and connection, emptied by the statement that reads it) and moved with one
  ``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE`` the never-older rule holds,
  ``RETURNING`` the rows written; their children are deleted with one ``= ANY`` and
  ``COPY``-ed straight into the child table.
  The rule runs in SQL, so no read of stored versions precedes the write. psycopg adapts
  dates, datetimes and decimals itself; no value passes through Python adapters.
* SQLite: one ``executemany`` per table (the statement is compiled once; the driver binds
  in C), after one read of the stored versions; the rule runs in Python. Values are bound
  as the ORM binds them (``Decimal`` and ``date`` through the adapters Django registers,
  datetimes as naive UTC text).

The never-older rule, in both: a row is written when its (LastUpdatedTime, SyncToken) is
newer than the stored one, or equal and the stored row is soft-deleted (resurrection).
SyncToken compares as a number when it is 1-18 ASCII digits, else as -1 (``token_number``
and its SQL twin ``_token_sql`` say the same thing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from django.db import connection, models

KEY_COLUMNS = ("realm_id", "qb_id")
INSERT_ONLY = ("created_at",)
_TOKEN = re.compile(r"[0-9]{1,18}")


def dump_json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
        return json.dumps(value)


def token_number(sync_token: Any) -> int:
    """SyncToken as a number (QBO's are small decimal integers); anything else is -1."""
    text = str(sync_token) if isinstance(sync_token, int) else sync_token
    if isinstance(text, str) and _TOKEN.fullmatch(text):
        return int(text)
    return -1


def _token_sql(column: str) -> str:
    """``token_number`` in SQL (PostgreSQL)."""
    return f"(CASE WHEN {column} ~ '^[0-9]{{1,18}}$' THEN {column}::bigint ELSE -1 END)"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _fields(model: type[models.Model], columns: tuple[str, ...]):
    """The named fields, then the model's other concrete columns (not the key).

    Columns the sync does not own (e.g. ``merged_into_qb_id``, set from webhooks) get their
    model default on insert and are left alone on update."""
    named = [model._meta.get_field(name) for name in columns]
    others = [f for f in model._meta.concrete_fields if f.name not in columns and not f.primary_key]
    return named, others


# --- SQLite: executemany, values bound as the ORM binds them --------------------------------


def _sqlite_adapter(field: models.Field) -> Callable[[Any], Any] | None:
    """What the driver cannot bind as the ORM would (None: bind the value as is).

    Decimals and dates go through the adapters Django registers with sqlite3 (``str``,
    ``isoformat``), in C, with no copy of the row; JSON text is passed as is. Aware
    datetimes become naive UTC text, as the ORM stores them; they repeat across a page
    (one ``now``, bulk-edited seconds), so each distinct one is converted once
    (``lru_cache``: thread-safe, in C)."""
    if isinstance(field, models.JSONField):
        return lambda value: value if value is None or isinstance(value, str) else dump_json(value)
    if isinstance(field, models.DateTimeField):
        return lru_cache(maxsize=4096)(connection.ops.adapt_datetimefield_value)
    return None


def _bind(rows: Sequence[Sequence[Any]], adapters: list) -> list[tuple] | Sequence:
    """Rows with the adapters applied, column-wise; rows as they are when none applies."""
    plan = [(i, a) for i, a in enumerate(adapters) if a is not None]
    if not plan:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for index, adapt in plan:
            values[index] = adapt(values[index])
        out.append(values)
    return out


@lru_cache(maxsize=64)
def _sqlite_upsert_plan(model: type[models.Model], columns: tuple[str, ...]):
    named, others = _fields(model, columns)
    fields = named + others
    updates = ", ".join(
        f"{_quote(f.column)} = excluded.{_quote(f.column)}"
        for f in named
        if f.name not in KEY_COLUMNS + INSERT_ONLY
    )
    sql = (
        f"INSERT INTO {_quote(model._meta.db_table)} "
        f"({', '.join(_quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(_quote(c) for c in KEY_COLUMNS)}) DO UPDATE SET {updates}"
    )
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    return sql, [_sqlite_adapter(f) for f in named], defaults


def upsert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """SQLite: insert or update ``rows`` (tuples in ``columns`` order) unconditionally;
    the caller has applied the never-older rule. Call inside a transaction."""
    if not rows:
        return
    sql, adapters, defaults = _sqlite_upsert_plan(model, tuple(columns))
    params = _bind(rows, adapters)
    if defaults:
        params = [(*row, *defaults) for row in params]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


@lru_cache(maxsize=64)
def _sqlite_insert_plan(model: type[models.Model], columns: tuple[str, ...]):
    fields = [model._meta.get_field(name) for name in columns]
    sql = (
        f"INSERT INTO {_quote(model._meta.db_table)} "
        f"({', '.join(_quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    return sql, [_sqlite_adapter(f) for f in fields]


# --- PostgreSQL: COPY into a stage, one set-wise upsert --------------------------------------


def _stage_name(model: type[models.Model]) -> str:
    return f"qbs_stage_{model._meta.db_table}"[:63]


@lru_cache(maxsize=64)
def _pg_upsert_plan(model: type[models.Model], columns: tuple[str, ...]):
    named, others = _fields(model, columns)
    fields = named + others
    table, stage = _quote(model._meta.db_table), _quote(_stage_name(model))
    column_list = ", ".join(_quote(f.column) for f in fields)
    # The stage has the table's column types and nothing else (no key, constraint or
    # default); ON COMMIT DELETE ROWS empties it with every transaction that used it.
    # IF NOT EXISTS every time: a connection pooler may hand us a fresh server session.
    create = (
        "SET LOCAL client_min_messages TO warning; "
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
        f"SELECT {column_list} FROM {table} WITH NO DATA"
    )
    copy = f"COPY {stage} ({column_list}) FROM STDIN"
    updates = ", ".join(
        f"{_quote(f.column)} = excluded.{_quote(f.column)}"
        for f in named
        if f.name not in KEY_COLUMNS + INSERT_ONLY
    )
    new = f"(excluded.qb_updated_at, {_token_sql('excluded.sync_token')})"
    old = f"({table}.qb_updated_at, {_token_sql(f'{table}.sync_token')})"
    upsert = (
        # The stage is emptied by the same statement: ON COMMIT does not run when the
        # page's transaction is a savepoint inside an outer one.
        f"WITH page AS (DELETE FROM {stage} RETURNING {column_list}) "
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM page "
        f"ON CONFLICT ({', '.join(_quote(c) for c in KEY_COLUMNS)}) DO UPDATE SET {updates} "
        f"WHERE {new} > {old} OR ({new} = {old} AND {table}.deleted_at IS NOT NULL) "
        f"RETURNING {table}.qb_id, {table}.{_quote(model._meta.pk.column)}"
    )
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    return create, copy, upsert, defaults, _json_positions(named)


def _json_positions(fields: Sequence[models.Field]) -> tuple[int, ...]:
    """Positions of JSON columns: COPY takes their JSON text, not a dict or list
    (``raw_data`` is serialised once already; e.g. ``custom_fields`` is not)."""
    return tuple(i for i, f in enumerate(fields) if isinstance(f, models.JSONField))


def _json_text(rows: Sequence[Sequence[Any]], positions: tuple[int, ...]) -> Sequence:
    if not positions:
        return rows
    out = []
    for row in rows:
        row = list(row)
        for i in positions:
            value = row[i]
            if value is not None and not isinstance(value, str):
                row[i] = dump_json(value)
        out.append(row)
    return out


def upsert_newer(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, int]:
    """PostgreSQL: upsert the rows the never-older rule lets through, set-wise.

    ``rows`` are tuples in ``columns`` order (``realm_id``, ``qb_id``, … first), at most
    one per Id. Returns qb_id -> primary key of the rows written (inserted or updated).
    Call inside a transaction."""
    if not rows:
        return {}
    create, copy, upsert, defaults, json_at = _pg_upsert_plan(model, tuple(columns))
    rows = _json_text(rows, json_at)
    with _pg_cursor() as cursor:
        cursor.execute(create, prepare=False)  # two statements: the simple protocol
        with cursor.copy(copy) as pipe:
            write = pipe.write_row
            if defaults:
                for row in rows:
                    write((*row, *defaults))
            else:
                for row in rows:
                    write(row)
        cursor.execute(upsert, prepare=_prepare())
        return dict(cursor.fetchall())


@lru_cache(maxsize=64)
def _pg_copy_plan(model: type[models.Model], columns: tuple[str, ...]):
    fields = [model._meta.get_field(name) for name in columns]
    copy = (
        f"COPY {_quote(model._meta.db_table)} "
        f"({', '.join(_quote(f.column) for f in fields)}) FROM STDIN"
    )
    return copy, _json_positions(fields)


def _pg_cursor():
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _prepare() -> bool:
    """Server-side prepared statements, unless a pooler forbids them
    (``QB_PG_PREPARED_STATEMENTS=false`` behind PgBouncer in transaction mode < 1.21)."""
    from django.conf import settings

    return bool(settings.QB_PG_PREPARED_STATEMENTS)


# --- children, both backends ----------------------------------------------------------------


def replace_children(
    model: type[models.Model], parent_ids: Sequence[int], columns: Sequence[str], rows: Sequence
) -> None:
    """Delete every child of ``parent_ids`` and insert ``rows`` (tuples in ``columns``
    order, ``parent`` among them); call inside the parent's transaction."""
    if not parent_ids:
        return
    table = _quote(model._meta.db_table)
    parent_column = _quote(model._meta.get_field("parent").column)
    if connection.vendor == "postgresql":
        with _pg_cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE {parent_column} = ANY(%s)",
                (list(parent_ids),),
                prepare=_prepare(),
            )
            if rows:
                copy, json_at = _pg_copy_plan(model, tuple(columns))
                with cursor.copy(copy) as pipe:
                    write = pipe.write_row
                    for row in _json_text(rows, json_at):
                        write(row)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {parent_column} IN ({', '.join(['%s'] * len(parent_ids))})",
            list(parent_ids),
        )
        if rows:
            sql, adapters = _sqlite_insert_plan(model, tuple(columns))
            cursor.executemany(sql, _bind(rows, adapters))


# --- reads the SQLite path needs ------------------------------------------------------------


def parent_keys(model: type[models.Model], realm_id: str, qb_ids: Sequence[str]) -> dict[str, int]:
    """qb_id -> primary key of the stored rows among ``qb_ids``, in one query."""
    if not qb_ids:
        return {}
    sql = (
        f"SELECT qb_id, {_quote(model._meta.pk.column)} FROM {_quote(model._meta.db_table)} "
        f"WHERE realm_id = %s AND qb_id IN ({', '.join(['%s'] * len(qb_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [realm_id, *qb_ids])
        return dict(cursor.fetchall())


def stored_versions(
    model: type[models.Model], realm_id: str, qb_ids: Sequence[str]
) -> dict[str, tuple[datetime, int, datetime | None]]:
    """(LastUpdatedTime, SyncToken as int, deleted_at) of the stored rows among ``qb_ids``,
    in one query (the ORM's ``__in`` spends more time building it than running it)."""
    if not qb_ids:
        return {}
    sql = (
        f"SELECT qb_id, qb_updated_at, sync_token, deleted_at "
        f"FROM {_quote(model._meta.db_table)} WHERE realm_id = %s "
        f"AND qb_id IN ({', '.join(['%s'] * len(qb_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [realm_id, *qb_ids])
        rows = cursor.fetchall()
    return {
        qb_id: (_aware(updated_at), token_number(token), _aware(deleted_at))
        for qb_id, updated_at, token, deleted_at in rows
    }


def _aware(value: Any) -> datetime | None:
    """SQLite hands back naive UTC datetimes (or text); PostgreSQL aware ones."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
