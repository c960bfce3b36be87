"""SQL expressions that read QBO JSON (``jsonb``) into the package's typed columns.

Decision: a view must never fail because one stored payload has an odd value, since one bad
row would break every dbt run. So each reader checks the JSON type (or the text shape for
dates and times) and yields NULL when it does not fit, instead of a cast error. Times are
converted to UTC ``timestamp without time zone`` from the offset QBO sends, so the result
does not depend on the session's time zone; date-only values become midnight.
"""

from __future__ import annotations

import re

HEADER = "h.raw_data"  # the synced row's payload
LINE = "l.value"  # one element of the first array the view unnests (e.g. Line[])
INNER = "g.value"  # one element of an array inside it (e.g. GroupLineDetail.Line[])

_KEY = re.compile(r"^[A-Za-z0-9_]+$")
_DATE = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = _DATE + r"T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _path(keys: tuple[str, ...]) -> str:
    for key in keys:
        if not _KEY.match(key):
            raise ValueError(f"unsafe JSON key {key!r}")
    return "'{" + ",".join(keys) + "}'"


def _wrap(src: str) -> str:
    return src if _KEY.match(src.replace(".", "")) else f"({src})"


def node(src: str, *keys: str) -> str:
    """The jsonb value at ``keys`` (NULL when absent)."""
    src = _wrap(src)
    return f"({src} #> {_path(keys)})" if keys else src


def text(src: str, *keys: str) -> str:
    """A scalar as text; objects and arrays give NULL (never their JSON spelling)."""
    src = _wrap(src)
    value = node(src, *keys)
    return (
        f"(CASE WHEN jsonb_typeof({value}) IN ('string', 'number', 'boolean') "
        f"THEN {src} #>> {_path(keys)} END)"
    )


def ref(src: str, *keys: str) -> str:
    """A reference ``{"value": Id, "name": ...}`` (at ``keys``) as the Id."""
    return text(src, *keys, "value")


def number(src: str, *keys: str) -> str:
    src = _wrap(src)
    value = node(src, *keys)
    return (
        f"(CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::double precision "
        f"WHEN jsonb_typeof({value}) = 'string' AND ({src} #>> {_path(keys)}) "
        rf"~ '^\s*-?\d+(\.\d+)?\s*$' THEN ({src} #>> {_path(keys)})::double precision END)"
    )


def boolean(src: str, *keys: str) -> str:
    src = _wrap(src)
    value = node(src, *keys)
    return (
        f"(CASE WHEN jsonb_typeof({value}) = 'boolean' THEN ({value})::boolean "
        f"WHEN lower({src} #>> {_path(keys)}) IN ('true', 'false') "
        f"THEN lower({src} #>> {_path(keys)}) = 'true' END)"
    )


def date(src: str, *keys: str) -> str:
    src = _wrap(src)
    value = f"({src} #>> {_path(keys)})"
    return f"(CASE WHEN {value} ~ '{_DATE}' THEN left({value}, 10)::date END)"


def timestamp(src: str, *keys: str) -> str:
    """UTC wall time of an ISO-8601 time with offset; a bare date is its midnight."""
    src = _wrap(src)
    value = f"({src} #>> {_path(keys)})"
    return (
        f"(CASE WHEN {value} ~ '{_TIME}' THEN ({value})::timestamptz AT TIME ZONE 'UTC' "
        f"WHEN {value} ~ '{_DATE}$' THEN ({value})::date::timestamp END)"
    )


def linked(src: str, txn_type: str, array: str = "LinkedTxn") -> str:
    """The Id of the first ``LinkedTxn`` element of ``txn_type`` (Payment, Bill, ...)."""
    items = node(_wrap(src), array)
    return (
        f"(SELECT t ->> 'TxnId' FROM jsonb_array_elements(CASE WHEN jsonb_typeof({items}) "
        f"= 'array' THEN {items} ELSE '[]'::jsonb END) AS t "
        f"WHERE t ->> 'TxnType' = {literal(txn_type)} LIMIT 1)"
    )
