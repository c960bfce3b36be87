"""The column list the analytics views must match, read from the package's own declaration.

Decision: the list is data kept next to the code (``dbt_quickbooks-1.9.0-sources.json``,
written from the package's ``get_<table>_columns.sql`` macros), not retyped here; the views
are built and tested against it, so a package upgrade is a file swap and a failing test.
Two declared types are corrected because the package itself breaks with them on
PostgreSQL: ``index`` is compared as a number (the tax-line models compute
``index + 10000``) and ``vendor_credit_line.item_expense_quantity`` is multiplied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = "fivetran/dbt_quickbooks"
PACKAGE_VERSION = "1.9.0"
SOURCES_FILE = Path(__file__).with_name(f"dbt_quickbooks-{PACKAGE_VERSION}-sources.json")

# Declared datatype -> the PostgreSQL type the view column gets (and information_schema shows).
PG_TYPES = {
    "TEXT": "text",
    "float": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "integer": "integer",
}

# (table, column) -> declared type that replaces the package's; None = every table.
TYPE_FIXES = {
    (None, "index"): "integer",
    ("vendor_credit_line", "item_expense_quantity"): "float",
}


@dataclass(frozen=True)
class Column:
    name: str
    datatype: str  # as declared (after TYPE_FIXES)
    used_by_staging: bool

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.datatype]


@dataclass(frozen=True)
class SourceTable:
    name: str
    always_required: bool
    enabled_by: str | None  # the package's ``var(...)`` expression, None when always on
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _fixed(table: str, column: str, declared: str) -> str:
    return TYPE_FIXES.get((table, column)) or TYPE_FIXES.get((None, column)) or declared


@cache
def source_tables() -> dict[str, SourceTable]:
    """Every package source table in the file's order, columns in declared order."""
    raw = json.loads(SOURCES_FILE.read_text(encoding="utf-8"))
    tables = {}
    for name, spec in raw.items():
        columns = tuple(
            Column(c["name"], _fixed(name, c["name"], c["datatype"]), c["used_by_staging"])
            for c in spec["columns"]
        )
        unknown = {c.datatype for c in columns} - PG_TYPES.keys()
        if unknown:
            raise ValueError(f"{SOURCES_FILE.name}: {name} has unknown datatypes {unknown}")
        tables[name] = SourceTable(name, spec["always_required"], spec["enabled_by"], columns)
    return tables
