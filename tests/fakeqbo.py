"""An in-memory stand-in for QBO's /query, for unit tests of the sync engine.

It understands exactly the statements the reader sends (AND-ed conditions on
Metadata.LastUpdatedTime, ``Active IN``, ``Id IN``, ORDERBY LastUpdatedTime or Id,
STARTPOSITION, MAXRESULTS, COUNT(*)), and lets a test change the data between requests,
which is how the moving-set and crash scenarios are staged. Rows equal on the ORDERBY key
come back by Id (``tie_order="id"``) or in a new random order on every request
(``"shuffle"``): QBO promises neither (API-NOTES §10). The bundled sandbox is the
end-to-end double.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from quickbooks_sync.qbo.client import QueryPage
from quickbooks_sync.timeutil import parse_qbo_datetime

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
PACIFIC = "-08:00"

_IDS = re.compile(r"\bId IN \(((?:'(?:\\.|[^'\\])*'|[^)'])*)\)", re.I)
_LITERAL = re.compile(r"'((?:\\.|[^'\\])*)'")
_COND = re.compile(r"Metadata\.LastUpdatedTime\s*(>=|<=|>|<|=)\s*'([^']+)'", re.I)


def stamp(dt: datetime, offset: str = PACIFIC) -> str:
    """Render like QBO: whole seconds in the company's zone."""
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    local = dt.astimezone(UTC) + sign * timedelta(hours=hours, minutes=minutes)
    return local.replace(tzinfo=None, microsecond=0).isoformat() + offset


class FakeQBO:
    # What a FakeQBO() does when the test does not say; the ``qbo_ordering`` fixture
    # (tests/conftest.py) runs a module's tests once per plausible QBO behaviour.
    default_tie_order = "id"
    default_id_order = "numeric"

    def __init__(
        self,
        entity: str = "Invoice",
        realm_id: str = "123145",
        *,
        tie_order: str | None = None,
        id_order: str | None = None,
        seed: int = 0,
    ) -> None:
        tie_order = tie_order or self.default_tie_order
        id_order = id_order or self.default_id_order
        assert tie_order in {"id", "shuffle"} and id_order in {"numeric", "string"}
        self.tie_order = tie_order
        self.id_order = id_order
        self.rng = random.Random(seed)
        self.entity = entity
        self.realm_id = realm_id
        self.records: dict[str, dict] = {}
        self.now = T0 + timedelta(days=1)
        self.statements: list[str] = []
        self.before_request: list[Callable[[FakeQBO, int], None]] = []
        self.fail_on_request: int | None = None
        self.hidden_from_paging: set[str] = set()  # rows a paged read misses (moving set)

    # --- data --------------------------------------------------------------------
    def put(self, qb_id, ts: datetime, token: int = 0, offset: str = PACIFIC, **extra) -> dict:
        record = {
            "Id": str(qb_id),
            "SyncToken": str(token),
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": stamp(T0, offset), "LastUpdatedTime": stamp(ts, offset)},
            **extra,
        }
        self.records[str(qb_id)] = record
        return record

    def touch(self, qb_id, ts: datetime) -> None:
        record = self.records[str(qb_id)]
        self.put(
            qb_id,
            ts,
            int(record["SyncToken"]) + 1,
            **{
                k: v
                for k, v in record.items()
                if k not in {"Id", "SyncToken", "MetaData", "domain", "sparse"}
            },
        )

    def ts(self, record: dict) -> datetime:
        try:
            return parse_qbo_datetime(record["MetaData"]["LastUpdatedTime"])
        except (KeyError, ValueError):
            return T0  # a malformed record still sits somewhere in QBO's order

    def _id_key(self, record: dict) -> int | str:
        if self.id_order == "string":
            return str(record.get("Id", ""))
        try:
            return int(record["Id"])
        except (KeyError, ValueError):
            return 0

    # --- the client interface the engine uses ------------------------------------
    def _matching(self, statement: str) -> list[dict]:
        rows = list(self.records.values())
        if self.entity == "Customer" and "active in" not in statement.lower():
            rows = [r for r in rows if r.get("Active", True)]
        for op, literal in _COND.findall(statement):
            bound = parse_qbo_datetime(literal)
            check = {
                ">=": lambda t, b=bound: t >= b,
                ">": lambda t, b=bound: t > b,
                "<=": lambda t, b=bound: t <= b,
                "<": lambda t, b=bound: t < b,
                "=": lambda t, b=bound: t == b,
            }[op]
            rows = [r for r in rows if check(self.ts(r))]
        id_list = _IDS.search(statement)
        if id_list:
            wanted = {re.sub(r"\\(.)", r"\1", v) for v in _LITERAL.findall(id_list.group(1))}
            rows = [r for r in rows if str(r.get("Id")) in wanted]
        rows = [r for r in rows if str(r.get("Id")) not in self.hidden_from_paging or id_list]
        if re.search(r"ORDERBY Id\b", statement):
            rows.sort(key=self._id_key)
            return rows
        if self.tie_order == "shuffle":
            self.rng.shuffle(rows)  # the stable sort below keeps ties in this order
            rows.sort(key=self.ts)
        else:
            rows.sort(key=lambda r: (self.ts(r), self._id_key(r)))
        return rows

    def _request(self, statement: str) -> None:
        index = len(self.statements)
        self.statements.append(statement)
        for hook in list(self.before_request):
            hook(self, index)
        if self.fail_on_request is not None and index >= self.fail_on_request:
            from quickbooks_sync.qbo.errors import ServerError

            raise ServerError("injected failure", status=503)

    def query(self, entity: str, statement: str) -> QueryPage:
        assert entity == self.entity
        if statement.startswith("SELECT COUNT(*)"):
            self._request(statement)
            return QueryPage(entity, [], self.now, total_count=len(self._matching(statement)))
        self._request(statement)
        position = re.search(r"STARTPOSITION (\d+)", statement)
        start = int(position.group(1)) if position else 1
        size = int(re.search(r"MAXRESULTS (\d+)", statement).group(1))
        rows = self._matching(statement)[start - 1 : start - 1 + size]
        return QueryPage(entity, [dict(r) for r in rows], self.now)

    def count(self, entity: str, where: str = "") -> QueryPage:
        statement = f"SELECT COUNT(*) FROM {entity} WHERE {where}"
        self._request(statement)
        return QueryPage(entity, [], self.now, total_count=len(self._matching(statement)))
