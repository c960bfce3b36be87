#!/usr/bin/env python
"""The local cost of one 1000-invoice page (lines and linked txns included), against a floor.

Run by ``scripts/bench.py`` in a child process with ``DATABASE_URL`` set (a migrated,
empty database); prints one JSON line. ``python scripts/bench_page.py SANDBOX_URL REALM``.

* ours: the client's JSON parser, validation and mapping (``writer.prepare_page``) and
  the write with its cursor (``writer.write_page``), page after page into empty tables;
* floor: the fastest way this machine lands the same rows, parents and children: orjson
  parses the page, then the raw driver upserts rows built beforehand (no validation, no
  mapping, no never-older check): on PostgreSQL ``COPY`` into a stage, one ``INSERT …
  SELECT … ON CONFLICT DO UPDATE … RETURNING``, children deleted with ``= ANY`` and
  ``COPY``-ed; on SQLite ``executemany`` (parents' upsert, their keys, children).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = 10


def fetch_pages(base: str, realm: str) -> list[bytes]:
    import requests

    from quickbooks_sync.models import Token

    token = Token.objects.get(realm_id=realm).access_token
    session = requests.Session()
    pages = []
    for n in range(PAGES):
        answer = session.get(
            f"{base}/v3/company/{realm}/query",
            params={
                "query": f"SELECT * FROM Invoice ORDERBY Metadata.LastUpdatedTime "
                f"STARTPOSITION {n * 1000 + 1} MAXRESULTS 1000",
                "minorversion": "75",
            },
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=600,
        )
        answer.raise_for_status()
        pages.append(answer.content)
    return pages


def empty(spec) -> None:
    from django.db import connection

    tables = [c.model._meta.db_table for c in spec.children] + [spec.model._meta.db_table]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")  # no dead rows left behind
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


def ours(spec, pages: list[bytes]) -> dict:
    from quickbooks_sync.models import SyncState
    from quickbooks_sync.qbo.http import parse_json
    from quickbooks_sync.sync.writer import prepare_page, write_page

    state, _ = SyncState.objects.get_or_create(realm_id="bench", object_type=spec.name)
    parse = prepare = write = 0.0
    for raw in pages:
        t0 = time.perf_counter()
        records = parse_json(raw)["QueryResponse"][spec.name]
        t1 = time.perf_counter()
        prepared, skipped = prepare_page(spec, "bench", records)
        t2 = time.perf_counter()
        write_page(
            spec,
            "bench",
            prepared,
            state=state,
            cursor=max(r.updated_at for r in prepared),
            skipped=skipped,
        )
        t3 = time.perf_counter()
        parse, prepare, write = parse + t1 - t0, prepare + t2 - t1, write + t3 - t2
    n = len(pages)
    return {
        "page_ms_parse": round(parse / n * 1000, 1),
        "page_ms_map": round(prepare / n * 1000, 1),
        "page_ms_write": round(write / n * 1000, 1),
        "page_ms_ours": round((parse + prepare + write) / n * 1000, 1),
    }


def other_fields(spec) -> list:
    """Columns the sync does not set (e.g. merged_into_qb_id): their defaults, as ours."""
    named = {"realm_id", "qb_id", "sync_token", "qb_updated_at", "raw_data", "created_at"}
    named |= {"updated_at", *spec.columns}
    return [
        f for f in spec.model._meta.concrete_fields if f.name not in named and not f.primary_key
    ]


def floor_rows(spec, pages: list[bytes]) -> list[tuple[list, list[list]]]:
    """The rows ours writes, built outside the timer: (parents, [children per table])."""
    from django.db import connection
    from django.utils import timezone

    from quickbooks_sync.qbo.http import parse_json
    from quickbooks_sync.sync.writer import prepare_page

    now = timezone.now()
    sqlite = connection.vendor == "sqlite"
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in other_fields(spec))
    stamp = connection.ops.adapt_datetimefield_value if sqlite else (lambda v: v)
    out = []
    for raw in pages:
        prepared, _ = prepare_page(spec, "bench", parse_json(raw)["QueryResponse"][spec.name])
        parents = [
            (
                "bench",
                r.qb_id,
                r.sync_token,
                stamp(r.updated_at),
                r.raw_json,
                stamp(now),
                stamp(now),
                *[_plain(r.fields[c]) for c in spec.columns],
                *defaults,
            )
            for r in prepared
        ]
        children = [
            [(r.qb_id, "bench", *row) for r in prepared for row in r.children[i]]
            for i in range(len(spec.children))
        ]
        out.append((parents, children))
    return out


def _plain(value):
    """A JSON column's value (e.g. custom_fields) as the JSON text a driver binds."""
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value).decode()
    return value


def floor(spec, pages: list[bytes], rows: list) -> dict:
    import orjson
    from django.db import connection

    columns = [
        "realm_id",
        "qb_id",
        "sync_token",
        "qb_updated_at",
        "raw_data",
        "created_at",
        "updated_at",
        *[spec.model._meta.get_field(c).column for c in spec.columns],
        *[f.column for f in other_fields(spec)],
    ]
    table = spec.model._meta.db_table
    child_tables = [
        (
            c.model._meta.db_table,
            ["parent_id", "realm_id", *[c.model._meta.get_field(n).column for n in c.columns]],
        )
        for c in spec.children
    ]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[2:] if c != "created_at")
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        import psycopg

        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            dbname=settings["NAME"],
            password=settings["PASSWORD"] or None,
        ) as raw_connection:
            cursor = raw_connection.cursor()
            cursor.execute(
                f"CREATE TEMP TABLE stage ON COMMIT DELETE ROWS AS "
                f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
            )
            raw_connection.commit()
            started = time.perf_counter()
            for raw, (parents, children) in zip(pages, rows, strict=True):
                orjson.loads(raw)
                with cursor.copy(f"COPY stage ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in parents:
                        copy.write_row(row)
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM stage "
                    f"ON CONFLICT (realm_id, qb_id) DO UPDATE SET {updates} RETURNING qb_id, id"
                )
                keys = dict(cursor.fetchall())
                for (child_table, child_columns), child_rows in zip(
                    child_tables, children, strict=True
                ):
                    cursor.execute(
                        f"DELETE FROM {child_table} WHERE parent_id = ANY(%s)",
                        (list(keys.values()),),
                    )
                    with cursor.copy(
                        f"COPY {child_table} ({', '.join(child_columns)}) FROM STDIN"
                    ) as copy:
                        for row in child_rows:
                            copy.write_row((keys[row[0]], *row[1:]))
                raw_connection.commit()
    else:
        import sqlite3

        raw_connection = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        raw_connection.execute("PRAGMA journal_mode=WAL")
        raw_connection.execute("PRAGMA synchronous=NORMAL")
        upsert = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join('?' * len(columns))}) ON CONFLICT (realm_id, qb_id) DO UPDATE SET "
            f"{updates}"
        )
        started = time.perf_counter()
        for raw, (parents, children) in zip(pages, rows, strict=True):
            orjson.loads(raw)
            raw_connection.execute("BEGIN IMMEDIATE")
            raw_connection.executemany(upsert, parents)
            ids = [r[1] for r in parents]
            keys = dict(
                raw_connection.execute(
                    f"SELECT qb_id, id FROM {table} WHERE realm_id = 'bench' AND qb_id IN "
                    f"({', '.join('?' * len(ids))})",
                    ids,
                ).fetchall()
            )
            for (child_table, child_columns), child_rows in zip(
                child_tables, children, strict=True
            ):
                raw_connection.execute(
                    f"DELETE FROM {child_table} WHERE parent_id IN ({', '.join('?' * len(keys))})",
                    list(keys.values()),
                )
                raw_connection.executemany(
                    f"INSERT INTO {child_table} ({', '.join(child_columns)}) VALUES "
                    f"({', '.join('?' * len(child_columns))})",
                    [(keys[row[0]], *row[1:]) for row in child_rows],
                )
            raw_connection.execute("COMMIT")
        raw_connection.close()
    return {"page_ms_floor": round((time.perf_counter() - started) / len(pages) * 1000, 1)}


def main(base: str, realm: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from quickbooks_sync.registry import ENTITIES
    from quickbooks_sync.sync import gcpolicy

    gcpolicy.tune()  # as runsync does; the floor runs under the same policy

    spec = ENTITIES["Invoice"]
    pages = fetch_pages(base, realm)
    result = {"page_kb": round(sum(len(p) for p in pages) / len(pages) / 1024)}
    rows = floor_rows(spec, pages)
    result["page_children"] = round(sum(len(c) for _, cs in rows for c in cs) / len(rows))
    empty(spec)
    result.update(ours(spec, pages))
    empty(spec)
    result.update(floor(spec, pages, rows))
    result["ours_vs_floor"] = round(result["page_ms_ours"] / result["page_ms_floor"], 2)
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
