"""Render a view declaration into one ``SELECT`` with exactly the package's columns.

Decision: the column list (``columns.source_tables``) drives the output, not the
declaration: each package column, in the package's order, is ``CAST(<expr> AS <type>)``
from the declaration, a standard column (below), or ``CAST(NULL AS <type>)``. So the view
has the declared names, order and types by construction (shared families may carry keys
a table lacks; they are not used, and per-view keys are checked in ``declarations``).
"""

from __future__ import annotations

from .columns import SourceTable
from .declarations import ViewSpec
from .sql import HEADER, quote, timestamp

# Columns with one meaning in every view that has them.
STANDARD = {
    "_fivetran_deleted": "(h.deleted_at IS NOT NULL)",  # the parent's flag on child rows
    "_fivetran_synced": "(h.updated_at AT TIME ZONE 'UTC')",  # when we stored the row
}
# Record-level columns of one-row-per-record views.
RECORD = {
    "id": "h.qb_id",
    "sync_token": "h.sync_token",
    "created_at": timestamp(HEADER, "MetaData", "CreateTime"),
    "updated_at": timestamp(HEADER, "MetaData", "LastUpdatedTime"),
}
ALIASES = ("l", "g")


def _array(src: str, path: tuple[str, ...]) -> str:
    value = f"({src} #> '{{{','.join(path)}}}')"
    return f"(CASE WHEN jsonb_typeof({value}) = 'array' THEN {value} ELSE '[]'::jsonb END)"


def column_exprs(spec: ViewSpec, source: SourceTable) -> list[tuple[str, str | None]]:
    """(column, SQL or None for NULL) in the package's order."""
    defaults = dict(STANDARD)
    if spec.rows:
        defaults["index"] = f"({ALIASES[len(spec.rows) - 1]}.ordinality - 1)"
    elif spec.table != "address":
        defaults.update(RECORD)
    return [(c.name, spec.columns.get(c.name) or defaults.get(c.name)) for c in source.columns]


def select_sql(spec: ViewSpec, source: SourceTable, db_table: str, realm: str | None) -> str:
    cols = ",\n  ".join(
        f"CAST({expr or 'NULL'} AS {col.pg_type}) AS {quote(col.name)}"
        for (_name, expr), col in zip(column_exprs(spec, source), source.columns, strict=True)
    )
    sql = f"SELECT\n  {cols}\nFROM {quote(db_table)} AS h"
    src = HEADER
    for alias, path in zip(ALIASES, spec.rows, strict=False):
        sql += (
            f"\nCROSS JOIN LATERAL jsonb_array_elements({_array(src, path)}) "
            f"WITH ORDINALITY AS {alias}(value, ordinality)"
        )
        src = f"{alias}.value"
    where = [w for w in (spec.where, _realm_filter(realm)) if w]
    if where:
        sql += "\nWHERE " + " AND ".join(where)
    return sql


def _realm_filter(realm: str | None) -> str | None:
    if realm is None:
        return None
    return "h.realm_id = '" + realm.replace("'", "''") + "'"


def view_sql(parts: list[tuple[ViewSpec, str]], source: SourceTable, realm: str | None) -> str:
    """The view body for one package table from its registered parts ((spec, db_table))."""
    selects = [select_sql(spec, source, db_table, realm) for spec, db_table in parts]
    if len(selects) == 1:
        return selects[0]
    # Several entities carry the same address (one Id): keep the most recently stored copy.
    union = "\nUNION ALL\n".join(f"({s})" for s in selects)
    return (
        f'SELECT DISTINCT ON ("id") * FROM (\n{union}\n) AS parts\n'
        'ORDER BY "id", "_fivetran_synced" DESC'
    )
