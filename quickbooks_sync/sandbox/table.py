"""One entity type of one realm: rows, sort indexes and the delete log.

Why rows hold JSON text rather than dicts: a 100k-invoice realm as nested dicts costs
~5 KB per invoice; compact JSON costs ~1.5 KB and a query page is then a string join, which
is what lets the sandbox serve ~100 pages of 1000 invoices per second. Dicts are rebuilt
(``json.loads``) only for reads, writes and filters on non-indexed fields.

Two indexes are kept sorted at all times so paging never re-sorts: ``ids`` (numeric Id
order, the default query order) and ``order`` (``(LastUpdatedTime epoch, Id)``, for
``ORDERBY MetaData.LastUpdatedTime`` and for CDC ranges). Writes keep them sorted with
bisect; bulk loads append and sort once.
"""

from __future__ import annotations

import bisect
import json

from .clock import fmt_qbo

_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class Row:
    """A stored record: the indexed scalars plus the full JSON text."""

    __slots__ = ("active", "ct", "id", "json", "lut", "sync")

    def __init__(self, id_: int, sync: int, ct: int, lut: int, active: bool, text: str):
        self.id = id_
        self.sync = sync
        self.ct = ct
        self.lut = lut
        self.active = active
        self.json = text

    def obj(self) -> dict:
        return json.loads(self.json)


def stamp(obj: dict, id_: int, sync: int, ct: int, lut: int) -> dict:
    """Write the system-owned fields into ``obj`` (Id/SyncToken strings, MetaData)."""
    obj["domain"] = "QBO"
    obj["sparse"] = False
    obj["Id"] = str(id_)
    obj["SyncToken"] = str(sync)
    meta = dict(obj.get("MetaData") or {})
    meta["CreateTime"] = fmt_qbo(ct)
    meta["LastUpdatedTime"] = fmt_qbo(lut)
    obj["MetaData"] = meta
    return obj


def make_row(obj: dict, ct: int, lut: int, keyless: bool = False) -> Row:
    """A keyless entity (QBO's ExchangeRate has no Id) keeps its row number internally
    and leaves ``Id`` out of the JSON it serves."""
    return Row(
        int(obj["Id"]),
        int(obj["SyncToken"]),
        ct,
        lut,
        obj.get("Active", True) is not False,
        _DUMPS({k: v for k, v in obj.items() if k != "Id"} if keyless else obj),
    )


class EntityTable:
    """Rows of one entity with sorted indexes and deletion stubs (id -> delete epoch)."""

    def __init__(self, name: str, keyless: bool = False) -> None:
        self.name = name
        self.keyless = keyless
        self.rows: dict[int, Row] = {}
        self.ids: list[int] = []
        self.order: list[tuple[int, int]] = []
        self.deleted: dict[int, int] = {}
        self.next_id = 1

    def __len__(self) -> int:
        return len(self.rows)

    def allocate_id(self) -> int:
        id_ = self.next_id
        self.next_id += 1
        return id_

    def get(self, id_: int) -> Row | None:
        return self.rows.get(id_)

    def insert(self, obj: dict, ct: int, lut: int) -> Row:
        row = make_row(obj, ct, lut, self.keyless)
        if row.id in self.rows:
            raise ValueError(f"{self.name} {row.id} already exists")
        self.rows[row.id] = row
        bisect.insort(self.ids, row.id)
        bisect.insort(self.order, (row.lut, row.id))
        self.next_id = max(self.next_id, row.id + 1)
        return row

    def bulk_insert(self, items) -> int:
        """Insert many ``(obj, ct, lut)`` at once, re-sorting the indexes only once."""
        n = 0
        for obj, ct, lut in items:
            row = make_row(obj, ct, lut, self.keyless)
            self.rows[row.id] = row
            self.ids.append(row.id)
            self.order.append((row.lut, row.id))
            self.next_id = max(self.next_id, row.id + 1)
            n += 1
        self.ids.sort()
        self.order.sort()
        return n

    def replace(self, obj: dict, lut: int) -> Row:
        """Store a new version of an existing row (caller already bumped SyncToken)."""
        old = self.rows[int(obj["Id"])]
        new = make_row(obj, old.ct, lut, self.keyless)
        self._unindex_order(old)
        self.rows[new.id] = new
        bisect.insort(self.order, (new.lut, new.id))
        return new

    def rewrite(self, obj: dict) -> Row:
        """Change a stored row's content in place (seeding: same version and time)."""
        old = self.rows[int(obj["Id"])]
        old.json = make_row(obj, old.ct, old.lut, self.keyless).json
        return old

    def remove(self, id_: int, at: int) -> None:
        row = self.rows.pop(id_)
        i = bisect.bisect_left(self.ids, id_)
        del self.ids[i]
        self._unindex_order(row)
        self.deleted[id_] = at

    def _unindex_order(self, row: Row) -> None:
        key = (row.lut, row.id)
        i = bisect.bisect_left(self.order, key)
        if i < len(self.order) and self.order[i] == key:
            del self.order[i]

    def changed_since(self, since: float, limit: int | None = None) -> list[Row]:
        """Live rows with LastUpdatedTime >= since, oldest first (ties by Id)."""
        i = bisect.bisect_left(self.order, (since, -1))
        j = len(self.order) if limit is None else i + limit
        return [self.rows[rid] for _, rid in self.order[i:j]]

    def deleted_since(self, since: float) -> list[tuple[int, int]]:
        """``(delete epoch, Id)`` of deletions at or after ``since``, oldest first."""
        return sorted((at, rid) for rid, at in self.deleted.items() if at >= since)
