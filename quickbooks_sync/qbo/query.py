"""The one place QBO query statements are written: every literal escaped, one grammar.

Decision: backfill, reconcile and ``verifysync`` all read QBO through statements built
here, so a rule about how QBO is asked (the inactive-records clause, the timestamp literal
form, the ordering, escaping) is fixed once. Statements use only the documented grammar
(API-NOTES §2): ``SELECT * | COUNT(*) FROM <Entity> [WHERE a AND b ...] [ORDERBY <prop>]
[STARTPOSITION n] [MAXRESULTS n]``, one ORDERBY property, AND-only conditions.

String literals are single-quoted with ``\\`` and ``'`` backslash-escaped (API-NOTES §2,
"Escape Character"), so an Id or name holding a quote can neither break a statement nor
change its meaning. Entity and property names are never taken from data: they must match
a plain identifier pattern or the builder refuses them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from quickbooks_sync.timeutil import format_qbo_datetime

LAST_UPDATED = "Metadata.LastUpdatedTime"
ID = "Id"
MAX_PAGE = 1000  # QBO's MAXRESULTS ceiling
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$")


class QueryBuildError(ValueError):
    """A statement would not be what the caller meant (bad name, bad literal)."""


def identifier(name: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise QueryBuildError(f"{name!r} is not a QBO entity or property name")
    return name


def literal(value: object) -> str:
    """A value as a query literal: strings quoted and escaped, datetimes with an offset."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return literal(format_qbo_datetime(value))
    if isinstance(value, str):
        if any(ord(ch) < 32 for ch in value):
            raise QueryBuildError("a query literal may not contain control characters")
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise QueryBuildError(f"cannot write a {type(value).__name__} as a QBO literal")


@dataclass(frozen=True)
class Where:
    """AND-ed conditions; immutable so a reader can derive narrower filters safely."""

    conditions: tuple[str, ...] = ()

    def and_(self, prop: str, op: str, value: object) -> Where:
        if op not in {"=", "<", ">", "<=", ">="}:
            raise QueryBuildError(f"unsupported operator {op!r}")
        return Where((*self.conditions, f"{identifier(prop)} {op} {literal(value)}"))

    def in_(self, prop: str, values: Iterable[object]) -> Where:
        items = ", ".join(literal(v) for v in values)
        if not items:
            raise QueryBuildError("IN () with no values")
        return Where((*self.conditions, f"{identifier(prop)} IN ({items})"))

    def updated_between(
        self,
        lo: datetime | None,
        hi: datetime | None,
        *,
        lo_inclusive: bool = True,
        hi_inclusive: bool = True,
    ) -> Where:
        where = self
        if lo is not None:
            where = where.and_(LAST_UPDATED, ">=" if lo_inclusive else ">", lo)
        if hi is not None:
            where = where.and_(LAST_UPDATED, "<=" if hi_inclusive else "<", hi)
        return where

    def text(self) -> str:
        return " AND ".join(self.conditions)


def base_filter(*, include_inactive: bool) -> Where:
    """Name-list entities hide ``Active = false`` unless the query mentions Active
    (API-NOTES §2): a mirror must see the inactive ones too."""
    return Where(("Active IN (true, false)",)) if include_inactive else Where()


def select(
    entity: str,
    where: Where | None = None,
    *,
    order_by: str | None = None,
    start: int = 1,
    max_results: int = MAX_PAGE,
) -> str:
    if not 1 <= max_results <= MAX_PAGE:
        raise QueryBuildError(f"MAXRESULTS must be 1..{MAX_PAGE}, not {max_results}")
    if start < 1:
        raise QueryBuildError(f"STARTPOSITION is 1-based, not {start}")
    statement = f"SELECT * FROM {identifier(entity)}"
    if where is not None and where.conditions:
        statement += f" WHERE {where.text()}"
    if order_by is not None:
        statement += f" ORDERBY {identifier(order_by)}"
    return statement + f" STARTPOSITION {start} MAXRESULTS {max_results}"


def count(entity: str, where: Where | None = None) -> str:
    statement = f"SELECT COUNT(*) FROM {identifier(entity)}"
    if where is not None and where.conditions:
        statement += f" WHERE {where.text()}"
    return statement
