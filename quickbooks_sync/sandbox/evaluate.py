"""Run a parsed query against an EntityTable without re-sorting on every page.

Why the fast paths: a sync pages 100k invoices with ``WHERE Metadata.LastUpdatedTime >= x
ORDER BY Metadata.LastUpdatedTime``. The table keeps ``order`` sorted by (LUT, Id), so the
cursor bound is a bisect and the page a slice; Id/Active/SyncToken/timestamps are read from
the row without parsing JSON. Only conditions or orderings on other fields parse rows.

Rows equal on the ORDERBY key: QBO documents no order for them, nor that it is the same on
two requests (API-NOTES §10). ``Ordering`` says what this sandbox does: break ties by Id
(stable), or shuffle them on every request, so that a client relying on tie order loses
rows here too. ``ORDERBY Id`` sorts numerically or as strings, for the same reason.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import re
from dataclasses import dataclass, field

from .catalog import is_name_list, queryable
from .clock import parse_qbo_datetime
from .query import Cond, Query, QueryError
from .table import EntityTable, Row

_ROW_PATHS = {
    "id": "id",
    "synctoken": "sync",
    "active": "active",
    "metadata.lastupdatedtime": "lut",
    "metadata.createtime": "ct",
}


_STRING_PATHS = frozenset(
    [
        "displayname",
        "givenname",
        "middlename",
        "familyname",
        "companyname",
        "fullyqualifiedname",
        "title",
        "suffix",
        "printoncheckname",
        "docnumber",
        "txndate",
        "duedate",
        "customerref",
        "currencyref",
        "salestermref",
        "notes",
        "emailstatus",
        "printstatus",
        "privatenote",
        "primaryemailaddr",
        "billemail",
    ]
)


@dataclass
class Ordering:
    """How rows the query does not fully order come back (see the module docstring)."""

    ties: str = "id"  # "id" | "shuffle"
    ids: str = "numeric"  # "numeric" | "string"
    rng: random.Random = field(default_factory=random.Random)

    @property
    def shuffles(self) -> bool:
        return self.ties == "shuffle"

    def id_key(self, rid: int):
        return str(rid) if self.ids == "string" else rid

    def shuffle_ties(self, ids, lut_of) -> list[int]:
        """``ids`` in LUT order; each run of equal LUT comes back in a random order."""
        out: list[int] = []
        for _, group in itertools.groupby(ids, key=lut_of):
            run = list(group)
            self.rng.shuffle(run)
            out.extend(run)
        return out


STABLE = Ordering()


def _validate(q: Query) -> None:
    known = queryable(q.entity)
    for path in [c.path for c in q.conds] + [p for p, _ in q.order]:
        if path.split(".")[0] not in known:
            raise QueryError(
                f"QueryValidationError: property '{path}' is not queryable", code="4001"
            )


def _row_literal(attr: str, lit) -> object:
    raw = lit.raw
    try:
        if attr in ("lut", "ct"):
            return parse_qbo_datetime(raw)
        if attr == "active":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        return int(float(raw))
    except ValueError:
        raise QueryError(f"QueryParserError: Invalid value '{raw}' for property '{attr}'") from None


def _resolve(obj: dict, path: str):
    cur = obj
    for seg in path.split("."):
        if not isinstance(cur, dict):
            return None
        for k, v in cur.items():
            if k.lower() == seg:
                cur = v
                break
        else:
            return None
    if isinstance(cur, dict):
        for k in ("value", "Address", "FreeFormNumber", "URI"):
            if k in cur:
                return cur[k]
        return None
    return cur


def _coerce(field, lit):
    """The literal as a value comparable with ``field`` (None when incomparable)."""
    if isinstance(field, bool):
        return lit.raw.lower() == "true" if lit.raw.lower() in ("true", "false") else None
    if isinstance(field, (int, float)):
        try:
            return float(lit.raw)
        except ValueError:
            return None
    return lit.raw


def _test(op: str, field, values) -> bool:
    if field is None:
        return False
    if op == "in":
        return any(_coerce(field, v) == field for v in values)
    if op == "like":
        pat = "".join(".*" if ch == "%" else re.escape(ch) for ch in values[0].raw)
        return re.fullmatch(pat, str(field), re.I | re.S) is not None
    want = _coerce(field, values[0])
    if want is None:
        return False
    if op == "=":
        return field == want
    if isinstance(field, bool):
        return False
    try:
        return {"<": field < want, ">": field > want, "<=": field <= want, ">=": field >= want}[op]
    except TypeError:
        return False


def _compile(q: Query, hide_inactive: bool):
    """Split conditions into LUT index bounds, row-level and parsed-object predicates."""
    row_preds, obj_preds, lut_conds = [], [], []
    for c in q.conds:
        attr = _ROW_PATHS.get(c.path)
        if attr is None:
            obj_preds.append(c)
            continue
        vals = [_row_literal(attr, v) for v in c.values]
        if attr == "lut" and c.op in ("=", "<", ">", "<=", ">="):
            lut_conds.append((c.op, vals[0]))  # answered exactly by bisecting the index
        elif attr == "active" and c.op == "in" and set(vals) == {True, False}:
            continue  # "include inactive": no filter at all
        else:
            row_preds.append((attr, c.op, vals))
    if hide_inactive:
        row_preds.append(("active", "=", [True]))
    return row_preds, obj_preds, lut_conds


def _lut_range(order: list, lut_conds) -> tuple[int, int]:
    """Index range of ``order`` (sorted (lut, id)) satisfying every LUT condition."""
    i, j = 0, len(order)
    for op, v in lut_conds:
        lo_incl = bisect.bisect_left(order, (v, -1))
        hi_incl = bisect.bisect_right(order, (v, float("inf")))
        if op in (">=", "="):
            i = max(i, lo_incl)
        if op == ">":
            i = max(i, hi_incl)
        if op in ("<=", "="):
            j = min(j, hi_incl)
        if op == "<":
            j = min(j, lo_incl)
    return i, max(i, j)


def _row_ok(row: Row, preds) -> bool:
    for attr, op, vals in preds:
        v = getattr(row, attr)
        if op == "=" and v != vals[0]:
            return False
        if op == "in" and v not in vals:
            return False
        if op == "<" and not v < vals[0]:
            return False
        if op == ">" and not v > vals[0]:
            return False
        if op == "<=" and not v <= vals[0]:
            return False
        if op == ">=" and not v >= vals[0]:
            return False
        if op == "like" and not _test("like", str(v), vals):
            return False
    return True


def _sort_key(row: Row, obj, path: str):
    attr = _ROW_PATHS.get(path)
    v = getattr(row, attr) if attr else _resolve(obj, path)
    if v is None:
        return (2, "")
    if isinstance(v, (bool, int, float)):
        return (0, float(v))
    return (1, str(v).lower())


def execute(q: Query, tab: EntityTable, ordering: Ordering = STABLE) -> tuple[list[Row], int]:
    """Return ``(page rows, number of matches)``; the count is exact only for COUNT(*)."""
    _validate(q)
    hide = is_name_list(q.entity) and not any(c.path == "active" for c in q.conds)
    row_preds, obj_conds, lut_conds = _compile(q, hide)
    rows = tab.rows

    def matches(row: Row) -> bool:
        if row_preds and not _row_ok(row, row_preds):
            return False
        if obj_conds:
            obj = json.loads(row.json)
            return all(_test(c.op, _resolve(obj, c.path), c.values) for c in obj_conds)
        return True

    order = q.order
    by_lut = len(order) == 1 and order[0][0] == "metadata.lastupdatedtime"
    if order and not by_lut and not (len(order) == 1 and order[0][0] == "id"):
        if lut_conds:
            i, j = _lut_range(tab.order, lut_conds)
            candidates = [rows[rid] for _, rid in tab.order[i:j]]
        else:
            candidates = rows.values()
        found = [r for r in candidates if matches(r)]
        objs = (
            {r.id: json.loads(r.json) for r in found}
            if any(p not in _ROW_PATHS for p, _ in order)
            else {}
        )
        if ordering.shuffles:
            ordering.rng.shuffle(found)  # the stable sorts below keep ties in this order
            keys = list(order)
        else:
            keys = [*order, ("id", False)]
        for path, desc in reversed(keys):
            found.sort(key=lambda r, p=path: _sort_key(r, objs.get(r.id), p), reverse=desc)
        return _page(found, q), len(found)

    desc = bool(order) and order[0][1]
    by_id = bool(order) and not by_lut
    if by_lut or lut_conds:
        i, j = _lut_range(tab.order, lut_conds)
        if by_lut:
            ids = _LutView(tab.order, i, j, desc)
        else:
            ids = sorted((rid for _, rid in tab.order[i:j]), reverse=desc)
    else:
        ids = tab.ids[::-1] if desc else tab.ids
    if by_id and ordering.ids == "string":
        ids = sorted(ids, key=str, reverse=desc)
    if not order and ordering.shuffles:
        ids = list(ids)  # no ORDERBY: QBO promises no order at all
        ordering.rng.shuffle(ids)
    if not row_preds and not obj_conds:
        if q.count:
            return [], len(ids)
        if by_lut and ordering.shuffles:
            page = ids.shuffled_slice(q.start - 1, q.start - 1 + q.max, ordering)
            return [rows[i] for i in page], len(ids)
        return [rows[i] for i in ids[q.start - 1 : q.start - 1 + q.max]], len(ids)
    if by_lut and ordering.shuffles:
        ids = _tie_shuffled(ids, rows, ordering)
    needles = _needles(obj_conds)
    out, seen, skip = [], 0, q.start - 1
    for rid in ids:
        row = rows[rid]
        if needles and not all(any(n in row.json for n in alts) for alts in needles):
            continue
        if not matches(row):
            continue
        seen += 1
        if q.count or seen <= skip:
            continue
        if len(out) < q.max:
            out.append(row)
        else:
            break
    return out, seen


def _tie_shuffled(ids, rows, ordering: Ordering):
    """Iterate ``ids`` (in LUT order) with each run of equal LUT shuffled, lazily."""
    for _, group in itertools.groupby(ids, key=lambda rid: rows[rid].lut):
        run = list(group)
        ordering.rng.shuffle(run)
        yield from run


class _LutView:
    """Ids of ``order[i:j]`` (ascending or reversed) without copying the whole range."""

    def __init__(self, order, i: int, j: int, desc: bool):
        self.order, self.i, self.j, self.desc = order, i, j, desc

    def __len__(self) -> int:
        return self.j - self.i

    def __getitem__(self, sl: slice) -> list[int]:
        a, b, _ = sl.indices(len(self))
        if self.desc:
            keys = self.order[self.j - b : self.j - a][::-1]
        else:
            keys = self.order[self.i + a : self.i + b]
        return [rid for _, rid in keys]

    def shuffled_slice(self, a: int, b: int, ordering: Ordering) -> list[int]:
        """``self[a:b]`` with ties shuffled: widen to whole LUT runs, shuffle, cut."""
        a, b, _ = slice(a, b).indices(len(self))
        if a >= b:
            return []
        n = len(self)
        lo, hi = (n - b, n - a) if self.desc else (a, b)  # ascending positions
        order = self.order
        first, last = order[self.i + lo][0], order[self.i + hi - 1][0]
        wide_lo = max(self.i, bisect.bisect_left(order, (first, -1)))
        wide_hi = min(self.j, bisect.bisect_right(order, (last, float("inf"))))
        keys = order[wide_lo:wide_hi]
        lut_of = dict((rid, lut) for lut, rid in keys).__getitem__
        run = ordering.shuffle_ties([rid for _, rid in keys], lut_of)
        if self.desc:
            run.reverse()
            cut = wide_hi - (self.i + hi)
        else:
            cut = (self.i + lo) - wide_lo
        return run[cut : cut + (b - a)]

    def __iter__(self):
        rng = range(self.j - 1, self.i - 1, -1) if self.desc else range(self.i, self.j)
        order = self.order
        for k in rng:
            yield order[k][1]


def _needles(conds: list[Cond]) -> list[list[str]]:
    """Substrings a row's JSON must contain for case-sensitive ``=``/``IN`` on strings.

    A cheap pre-filter so ``WHERE DocNumber = '1001'`` does not parse 100k rows.
    """
    out = []
    for c in conds:
        if (
            c.path in _STRING_PATHS
            and c.op in ("=", "in")
            and all(v.kind == "str" for v in c.values)
        ):
            out.append([json.dumps(v.raw, ensure_ascii=False) for v in c.values])
    return out


def _page(found: list[Row], q: Query) -> list[Row]:
    if q.count:
        return []
    return found[q.start - 1 : q.start - 1 + q.max]
