"""The ``/_sandbox/...`` control API: the SandboxState API over HTTP, JSON in and out.

Why: demo scripts, benchmarks and crash tests run the sandbox in another process (the
``qbo_sandbox`` management command) and still need to create data, move the clock and arm
faults. The prefix does not exist in QBO, so it can never be confused with the real API.
No auth: the sandbox binds to localhost.

Endpoints (``{entity}`` is any entity of ``catalog.ENTITIES``, any case)::

    GET  /_sandbox/health                       {"status":"ok", realms, client_id, ...}
    POST /_sandbox/realms                       {"realm_id", "customers", "invoices", "seed"}
    POST /_sandbox/realms/{realm}/codes         -> {"code": ...}  (one-time auth code)
    POST /_sandbox/realms/{realm}/tokens        -> token JSON (code + exchange, not counted)
    POST /_sandbox/realms/{realm}/seed          {"customers", "invoices", "seed"} -> counts
    POST /_sandbox/realms/{realm}/{entity}      fields -> created object
    GET  /_sandbox/realms/{realm}/{entity}/{id} -> object (404 when missing/deleted)
    POST /_sandbox/realms/{realm}/{entity}/{id} {"op": "update", "fields": {..}}
                                                | {"op": "deactivate"|"activate"|"delete"|"void"}
    POST /_sandbox/realms/{realm}/bulk_touch    {"entity", "ids": [..], "at": iso?} -> {"touched"}
    POST /_sandbox/realms/{realm}/merge         {"absorbed_id", "survivor_id"} -> survivor
    GET  /_sandbox/realms/{realm}/truth/{entity} -> {"records": {id: {SyncToken, Active,
                                                   LastUpdatedTime}}, "deleted": [ids]}
    GET  /_sandbox/clock                        -> {"now", "frozen"}
    POST /_sandbox/clock                        {"set": iso} | {"advance_seconds": n}
                                                | {"freeze": bool}  (combinable) -> clock
    POST /_sandbox/faults                       {kind, count, realm_id, path_contains,
                                                 retry_after, delay, status} -> {"pending"}
    GET  /_sandbox/faults   DELETE /_sandbox/faults
    GET  /_sandbox/stats    POST /_sandbox/stats/reset
    POST /_sandbox/latency                      {"seconds", "jitter"}
    POST /_sandbox/report_skew                  {"amount"}: every report's first figure is off
                                                by it (0 restores); tests the tie-out's diffs
    POST /_sandbox/throttle                     {"enabled": bool}
    POST /_sandbox/ordering                     {"tie_order": "id"|"shuffle",
                                                 "id_order": "numeric"|"string"}
    GET/POST /_sandbox/webhooks                 {"url", "verifier_token"?, "delay"?}: send
                                                signed CloudEvents to url on every change
    POST /_sandbox/tokens/expire                {"realm_id"?} -> {"expired": n}

Errors: 400 ``{"error": ...}`` for bad input or a refused operation (e.g. deleting a
customer), 404 for an unknown realm/record/route.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from .api import Reply, json_reply
from .clock import parse_qbo_datetime
from .config import LEDGER_COUNTS
from .entities import QBOError


def _dt(text: str) -> datetime:
    return datetime.fromtimestamp(parse_qbo_datetime(text), UTC)


def _clock(st) -> dict:
    return {"now": st.clock.now().isoformat(), "frozen": st.clock.frozen}


def handle(app, method: str, path: str, params: dict, body: bytes) -> Reply:
    try:
        payload = json.loads(body) if body else {}
        if not isinstance(payload, dict):
            raise ValueError("body must be a JSON object")
        result = _route(app, method, [p for p in path.split("/") if p][1:], payload)
    except KeyError as exc:
        return json_reply(404, {"error": str(exc.args[0]) if exc.args else "not found"})
    except (ValueError, TypeError) as exc:
        return json_reply(400, {"error": str(exc)})
    if isinstance(result, Reply):
        return result
    return json_reply(200, result)


def _route(app, method: str, parts: list[str], p: dict):
    st = app.state
    head = parts[0] if parts else ""
    if head == "health" and method == "GET":
        return {
            "status": "ok",
            "realms": list(st.realms),
            "client_id": st.cfg.client_id,
            "client_secret": st.cfg.client_secret,
            "url": app.server.url,
            "token_url": app.server.token_url,
            **_clock(st),
        }
    if head == "clock":
        if method == "POST":
            if "set" in p:
                st.clock.set(_dt(p["set"]))
            if "advance_seconds" in p:
                st.clock.advance(float(p["advance_seconds"]))
            if p.get("freeze") is True:
                st.clock.freeze()
            elif p.get("freeze") is False:
                st.clock.unfreeze()
        return _clock(st)
    if head == "faults":
        if method == "POST":
            st.inject_fault(
                p.get("kind", ""),
                int(p.get("count", 1)),
                p.get("realm_id"),
                p.get("path_contains"),
                p.get("retry_after"),
                p.get("delay"),
                p.get("status"),
            )
        elif method == "DELETE":
            st.clear_faults()
        return {"pending": st.faults.pending()}
    if head == "stats":
        if parts[1:] == ["reset"] and method == "POST":
            st.reset_stats()
        return st.stats()
    if head == "latency" and method == "POST":
        st.set_latency(float(p.get("seconds", 0.0)), float(p.get("jitter", 0.0)))
        return {"seconds": st.latency[0], "jitter": st.latency[1]}
    if head == "ordering" and method == "POST":
        try:
            st.set_ordering(p.get("tie_order"), p.get("id_order"))
        except ValueError as exc:
            raise QBOError("2010", "Invalid ordering", str(exc)) from None
        return {"tie_order": st.ordering.ties, "id_order": st.ordering.ids}
    if head == "report_skew" and method == "POST":
        st.report_skew = float(p.get("amount", 0.0))
        return {"amount": st.report_skew}
    if head == "throttle" and method == "POST":
        st.set_throttle(bool(p.get("enabled", True)))
        return {"enabled": st.throttle_enabled}
    if head == "webhooks":
        if method == "POST":
            st.webhooks.configure(p.get("url"), p.get("verifier_token"), p.get("delay"))
        hooks = st.webhooks
        return {"url": hooks.url, "sent": hooks.sent, "failed": hooks.failed}
    if parts[:2] == ["tokens", "expire"] and method == "POST":
        return {"expired": st.tokens.expire_access_tokens(p.get("realm_id"))}
    if head == "realms":
        return _realm_route(st, method, parts[1:], p)
    raise KeyError(f"no sandbox route {method} /_sandbox/{'/'.join(parts)}")


def _seed(st, realm: str, p: dict) -> dict:
    counts = {k: int(p[k]) for k in LEDGER_COUNTS if k in p}
    customers, invoices = int(p.get("customers", 0)), int(p.get("invoices", 0))
    return st.seed(realm, customers, invoices, p.get("seed"), **counts)


def _realm_route(st, method: str, parts: list[str], p: dict):
    if not parts and method == "POST":
        realm = str(p["realm_id"])
        st.add_realm(realm)
        return {
            "realm_id": realm,
            **_seed(st, realm, p),
        }
    if not parts:
        return {"realms": list(st.realms)}
    realm, rest = parts[0], parts[1:]
    st.realm(realm)  # KeyError -> 404
    action = rest[0] if rest else ""
    if action == "codes" and method == "POST":
        return {"code": st.issue_authorization_code(realm)}
    if action == "tokens" and method == "POST":
        return st.tokens.exchange_code(st.issue_authorization_code(realm), True)
    if action == "seed" and method == "POST":
        return _seed(st, realm, p)
    if action == "bulk_touch" and method == "POST":
        at = _dt(p["at"]) if p.get("at") else None
        return {"touched": st.bulk_touch(realm, p["entity"], p.get("ids", []), at)}
    if action == "merge" and method == "POST":
        return _qbo(st.merge_customers, realm, p["absorbed_id"], p["survivor_id"])
    if action == "truth" and len(rest) == 2 and method == "GET":
        return st.truth(realm, rest[1])
    if len(rest) == 1 and method == "POST":
        return _qbo(st.create, realm, rest[0], p)
    if len(rest) == 2 and method == "GET":
        obj = st.get(realm, rest[0], rest[1])
        if obj is None:
            raise KeyError(f"{rest[0]} {rest[1]} not found")
        return obj
    if len(rest) == 2 and method == "POST":
        entity, id_ = rest
        op = p.get("op", "update")
        ops = {
            "update": lambda: st.update(realm, entity, id_, p.get("fields") or {}),
            "deactivate": lambda: st.deactivate(realm, entity, id_),
            "activate": lambda: st.activate(realm, entity, id_),
            "delete": lambda: st.delete(realm, entity, id_),
            "void": lambda: st.void(realm, entity, id_),
        }
        if op not in ops:
            raise ValueError(f"unknown op {op!r}; expected one of {sorted(ops)}")
        return _qbo(ops[op])
    raise KeyError(f"no sandbox route {method} /_sandbox/realms/{'/'.join(parts)}")


def _qbo(fn, *args):
    """Run a state operation; a QBO business error becomes 400 with its code."""
    try:
        return fn(*args)
    except QBOError as exc:
        return json_reply(400, {"error": exc.message, "code": exc.code, "detail": exc.detail})
