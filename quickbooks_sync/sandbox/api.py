"""The /v3 accounting API: query, CDC, read, companyinfo, writes and batch.

Why pure functions of (state, request) -> Reply: the HTTP layer (server.py) owns sockets,
auth, throttling and injected faults; this module owns QBO semantics and can be unit-tested
without a socket. Page bodies are assembled from each row's stored JSON text, so a 1000-row
page costs one string join rather than 1000 ``json.dumps`` calls.

Decisions where API-NOTES is unverified: CDC with ``changedSince`` older than the window,
an unsupported CDC entity and a bad ``changedSince`` all answer 400 ValidationFault code
2010 ("Request has invalid or unsupported property"); a missing parameter answers 2020.
Unknown routes answer 400 code 500 "Unsupported Operation". An entity the sandbox does not
serve (``catalog``) is answered like a name QBO does not know: 400 code 4000 "Error parsing
query", ``Invalid entity name`` (never an empty list, which would let a half-added entity
sync 0 rows and verify 0 = 0).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from . import reports
from .catalog import CDC_UNSUPPORTED, ENTITIES
from .clock import fmt_qbo, fmt_time_ms, parse_qbo_datetime
from .entities import HTTP_READ_ONLY, QBOError
from .evaluate import execute
from .faults import validation
from .query import OTHER_ENTITIES, Query, QueryError, parse
from .store import SandboxState

CDC_MAX = 1000
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict = field(default_factory=dict)


def json_reply(status: int, obj) -> Reply:
    return Reply(status, json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


def _canonical(name: str) -> str | None:
    for e in ENTITIES:
        if e.lower() == name.lower():
            return e
    return None


def _unknown_entity(name: str) -> QueryError:
    known_to_qbo = any(e.lower() == name.lower() for e in (*OTHER_ENTITIES, *CDC_UNSUPPORTED))
    note = " (a QBO entity this sandbox does not serve)" if known_to_qbo else ""
    return QueryError(f"QueryParserError: Invalid entity name: {name}{note}")


def classify(rest: str, method: str) -> str:
    """Stats bucket for a /v3/company/{realm}/<rest> request."""
    head = rest.split("/", 1)[0].lower()
    if head in ("query", "cdc", "companyinfo", "batch"):
        return head
    if method == "POST":
        return "write"
    if method == "GET" and "/" in rest:
        return "read"
    return "other"


class V3Api:
    def __init__(self, state: SandboxState):
        self.state = state

    def _time(self) -> str:
        return fmt_time_ms(self.state.clock.time())

    def fault(self, code, message, detail, element=None, status=400) -> Reply:
        return json_reply(status, validation(code, message, detail, self._time(), element))

    def handle(self, method: str, realm_id: str, rest: str, params: dict, body: bytes) -> Reply:
        parts = [p for p in rest.split("/") if p]
        head = parts[0].lower() if parts else ""
        try:
            if head == "query" and method in ("GET", "POST"):
                text = params.get("query")
                if text is None and method == "POST":
                    text = body.decode("utf-8", "replace")
                return self.query(realm_id, text or "")
            if head == "cdc" and method == "GET":
                return self.cdc(realm_id, params)
            if head == "companyinfo" and method == "GET" and len(parts) == 2:
                return self.company_info(realm_id, parts[1])
            if head == "batch" and method == "POST":
                return self.batch(realm_id, body)
            if head == "reports" and method == "GET" and len(parts) == 2:
                report = reports.build(self.state, realm_id, parts[1], params)
                return json_reply(200, report)
            entity = _canonical(head)
            if entity and method == "GET" and len(parts) == 2:
                return self.read(realm_id, entity, parts[1])
            if entity in ENTITIES and method == "POST" and len(parts) == 1:
                return self.write(realm_id, entity, params, body)
        except QueryError as exc:
            return self.fault(exc.code, exc.message, exc.detail)
        except QBOError as exc:
            return self.fault(exc.code, exc.message, exc.detail, exc.element)
        return self.fault(
            "500", "Unsupported Operation", f"Operation {method} /{rest} is not supported."
        )

    # -- query ------------------------------------------------------------------------
    def run_query(self, realm_id: str, text: str) -> str:
        """The QueryResponse object as JSON text (shared by /query and /batch)."""
        q = parse(text)
        entity = _canonical(q.entity)
        if entity is None:
            raise _unknown_entity(q.entity)
        q.entity = entity
        if entity == "ExchangeRate":
            self._rates_for(realm_id, q)
        with self.state.lock:
            rows, total = execute(q, self.state.table(realm_id, entity), self.state.ordering)
            items = [r.json for r in rows]
        if q.count:
            return f'{{"totalCount":{total}}}'
        return _page_json(entity, items, q)

    def _rates_for(self, realm_id: str, q: Query) -> None:
        """QBO has a rate for every day: asked for ``AsOfDate = 'd'``, make d's exist."""
        for cond in q.conds:
            if cond.path == "asofdate" and cond.op == "=" and cond.values:
                try:
                    day = date.fromisoformat(cond.values[0].raw[:10])
                except ValueError:
                    raise QueryError(
                        f"QueryValidationError: AsOfDate {cond.values[0].raw!r} is not a date",
                        code="4001",
                    ) from None
                self.state.exchange_rates(realm_id, day)

    def query(self, realm_id: str, text: str) -> Reply:
        inner = self.run_query(realm_id, text)
        return Reply(200, (f'{{"QueryResponse":{inner},"time":"{self._time()}"}}').encode())

    # -- CDC --------------------------------------------------------------------------
    def cdc(self, realm_id: str, params: dict) -> Reply:
        names = [n.strip() for n in (params.get("entities") or "").split(",") if n.strip()]
        since_text = params.get("changedSince")
        if not names or not since_text:
            missing = "entities" if not names else "changedSince"
            return self.fault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                f"Required parameter {missing} is missing in the request",
                missing,
            )
        entities = []
        for n in names:
            e = _canonical(n)
            if e is None or e in CDC_UNSUPPORTED or e in ("CompanyInfo", "ExchangeRate"):
                return self.fault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f"Property Name:entities specified is unsupported or invalid"
                    f" : CDC is not supported for entity {n}",
                    "entities",
                )
            entities.append(e)
        try:
            since = parse_qbo_datetime(since_text)
        except ValueError:
            return self.fault(
                "2010",
                "Request has invalid or unsupported property",
                f"Property Name:changedSince specified is unsupported or invalid : {since_text}",
                "changedSince",
            )
        now = self.state.clock.time()
        window = self.state.cfg.cdc_window_days * 86400
        if since < now - window:
            return self.fault(
                "2010",
                "Request has invalid or unsupported property",
                f"Property Name:changedSince specified is unsupported or invalid"
                f" : changedSince must be within the last "
                f"{self.state.cfg.cdc_window_days} days",
                "changedSince",
            )
        items = []  # (time, entity position, id, json)
        with self.state.lock:
            for pos, e in enumerate(entities):
                tab = self.state.table(realm_id, e)
                items += [(r.lut, pos, r.id, r.json) for r in tab.changed_since(since, CDC_MAX)]
                for at, rid in tab.deleted_since(since)[:CDC_MAX]:
                    stub = (
                        f'{{"domain":"QBO","status":"Deleted","Id":"{rid}",'
                        f'"MetaData":{{"LastUpdatedTime":"{fmt_qbo(at)}"}}}}'
                    )
                    items.append((at, pos, rid, stub))
        items.sort(key=lambda t: t[:3])
        kept = items[:CDC_MAX]  # silent truncation; the oldest changes are kept
        groups = []
        for pos, e in enumerate(entities):
            objs = [t[3] for t in kept if t[1] == pos]
            groups.append(_page_json(e, objs, Query(entity=e)))
        body = '{{"CDCResponse":[{{"QueryResponse":[{}]}}],"time":"{}"}}'.format(
            ",".join(groups), self._time()
        )
        return Reply(200, body.encode())

    # -- reads and writes -------------------------------------------------------------
    def read(self, realm_id: str, entity: str, id_: str) -> Reply:
        obj = self.state.get(realm_id, entity, id_) if entity in ENTITIES else None
        if obj is None:
            return self.fault(
                "610",
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made"
                f" inactive or deleted. {entity} Id={id_}",
            )
        return json_reply(200, {entity: obj, "time": self._time()})

    def company_info(self, realm_id: str, id_: str) -> Reply:
        if id_ != realm_id:
            return self.fault("610", "Object Not Found", f"CompanyInfo Id={id_} not found")
        info = self.state.realm(realm_id).company_info
        return json_reply(200, {"CompanyInfo": info, "time": self._time()})

    def write(self, realm_id: str, entity: str, params: dict, body: bytes) -> Reply:
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            return self.fault(
                "2010",
                "Request has invalid or unsupported property",
                "Request body is not a JSON object",
            )
        payload = payload.get(entity, payload)
        ignored = HTTP_READ_ONLY.get(entity, HTTP_READ_ONLY["Invoice"])
        payload = {k: v for k, v in payload.items() if k not in ignored}
        op = (params.get("operation") or "").lower()
        st = self.state
        if op in ("delete", "void"):
            if "Id" not in payload:
                return self.fault(
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    "Required parameter Id is missing in the request",
                    "Id",
                )
            fn = st.delete if op == "delete" else st.void
            obj = fn(realm_id, entity, payload["Id"], sync_token=payload.get("SyncToken"))
        elif payload.get("Id") not in (None, ""):
            if "SyncToken" not in payload:
                return self.fault(
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    "Required parameter SyncToken is missing in the request",
                    "SyncToken",
                )
            obj = st.update(
                realm_id,
                entity,
                payload["Id"],
                payload,
                sync_token=payload["SyncToken"],
                sparse=payload.get("sparse") is True,
            )
        else:
            obj = st.create(realm_id, entity, payload)
        return json_reply(200, {entity: obj, "time": self._time()})

    def batch(self, realm_id: str, body: bytes) -> Reply:
        try:
            items = json.loads(body or b"{}").get("BatchItemRequest") or []
        except (ValueError, AttributeError):
            items = None
        if not isinstance(items, list) or not 0 < len(items) <= 30:
            return self.fault(
                "2010",
                "Request has invalid or unsupported property",
                "BatchItemRequest must hold 1 to 30 items",
            )
        out = []
        for item in items:
            bid = json.dumps(str(item.get("bId", "")))
            try:
                if "Query" not in item:
                    raise QueryError("Only Query batch items are supported", code="4001")
                out.append(
                    '{{"bId":{},"QueryResponse":{}}}'.format(
                        bid, self.run_query(realm_id, item["Query"])
                    )
                )
            except (QueryError, QBOError) as exc:
                err = {"Message": exc.message, "Detail": exc.detail, "code": exc.code}
                out.append(
                    '{{"bId":{},"Fault":{}}}'.format(
                        bid, json.dumps({"Error": [err], "type": "ValidationFault"})
                    )
                )
        body_text = '{{"BatchItemResponse":[{}],"time":"{}"}}'.format(",".join(out), self._time())
        return Reply(200, body_text.encode())


def _page_json(entity: str, items: list[str], q: Query) -> str:
    """``{"Customer":[...],"startPosition":s,"maxResults":<rows>}``; ``{}`` when empty."""
    if not items:
        return "{}"
    rows = ",".join(items)
    return f'{{"{entity}":[{rows}],"startPosition":{q.start},"maxResults":{len(items)}}}'


_REALM_PATH = re.compile(r"^/v3/company/([^/]+)/?(.*)$")


def split_v3_path(path: str) -> tuple[str, str] | None:
    m = _REALM_PATH.match(path)
    return (m.group(1), m.group(2)) if m else None
