"""Error bodies as QBO sends them, injected faults, and the per-realm throttle.

Why the two envelopes: the API answers validation/server errors with a PascalCase
``{"Fault": {"Error": [...]}}``, but 401/403 come from Intuit's gateway with lowercase keys
and an epoch-ms ``time`` (API-NOTES §5). Clients must handle both, so the sandbox sends both.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

FAULT_KINDS = (
    "429",
    "500",
    "503",
    "401",
    "slow",
    "reset",
    "truncated",
    "html",
    "token_invalid_grant",
)


def fault_body(code: str, message: str, detail: str, ftype: str, time_str: str, element=None):
    """The API's PascalCase Fault envelope (code is a string, as in QBO)."""
    err = {"Message": message, "Detail": detail, "code": str(code)}
    if element is not None:
        err["element"] = element
    return {"Fault": {"Error": [err], "type": ftype}, "time": time_str}


def gateway_body(code: str, status: int, message: str, detail: str, ftype: str, epoch: float):
    """The gateway's lowercase body used for 401 (3200) and 403 (3100)."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": f"message={message}; errorCode={int(code):06d}; statusCode={status}",
                    "detail": detail,
                    "code": str(code),
                    "element": None,
                }
            ],
            "type": ftype,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(epoch * 1000),
        "status": None,
        "cdcresponse": [],
    }


def auth_failed(detail: str, epoch: float) -> dict:
    return gateway_body("3200", 401, "AuthenticationFailed", detail, "AUTHENTICATION", epoch)


def authz_failed(detail: str, epoch: float) -> dict:
    return gateway_body("3100", 403, "ApplicationAuthorizationFailed", detail, "SERVICE", epoch)


def throttled(time_str: str) -> dict:
    return fault_body(
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.  Try again later",
        "SERVICE",
        time_str,
    )


def system_fault(time_str: str) -> dict:
    return fault_body(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data."
        " Please wait a few minutes and try again.",
        "SystemFault",
        time_str,
    )


def unavailable(time_str: str) -> dict:
    return fault_body(
        "10000",
        "Service Unavailable",
        "The service is temporarily unavailable. Please try again later.",
        "SystemFault",
        time_str,
    )


def validation(code: str, message: str, detail: str, time_str: str, element=None) -> dict:
    return fault_body(code, message, detail, "ValidationFault", time_str, element)


HTML_BODY = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p>"
    b"</body></html>"
)


@dataclass
class FaultRule:
    """One armed fault: applies to the next ``remaining`` matching requests."""

    kind: str
    remaining: int
    realm_id: str | None = None
    path_contains: str | None = None
    retry_after: float | None = None
    delay: float | None = None
    status: int | None = None

    def matches(self, path: str, realm_id: str | None, token_endpoint: bool) -> bool:
        if (self.kind == "token_invalid_grant") != token_endpoint:
            return False
        if self.realm_id is not None and self.realm_id != realm_id:
            return False
        return self.path_contains is None or self.path_contains in path


class FaultInjector:
    """FIFO of armed faults; the first matching rule fires and is decremented."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        if rule.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {rule.kind!r}; expected one of {FAULT_KINDS}")
        if rule.remaining < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._rules.append(rule)

    def take(self, path: str, realm_id: str | None, token_endpoint: bool) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(path, realm_id, token_endpoint):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def pending(self) -> list[dict]:
        with self._lock:
            return [dict(vars(r)) for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


class Throttle:
    """Per-realm rolling-minute counter and in-flight gauge.

    Uses the real monotonic clock, not the sandbox clock: a frozen sandbox clock must not
    freeze the rate window. Throttled requests are not added to the window, so a client that
    backs off recovers (QBO's exact accounting is unknown).
    """

    def __init__(self, per_minute: int, max_in_flight: int) -> None:
        self.per_minute = per_minute
        self.max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._windows: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._in_flight: dict[str, int] = collections.defaultdict(int)
        self.max_seen: dict[str, int] = collections.defaultdict(int)
        self._traffic: dict[str, dict] = {}

    def _observe(self, realm: str, now: float, entering: bool) -> None:
        """Traffic measures for benchmarks: mean in flight, busiest rolling minute."""
        t = self._traffic.setdefault(
            realm,
            {
                "requests": 0,
                "busy": 0.0,
                "first": now,
                "last": now,
                "recent": collections.deque(),
                "max_per_minute": 0,
            },
        )
        if entering:
            t["requests"] += 1
            t["busy"] -= now
            recent = t["recent"]
            recent.append(now)
            while recent[0] <= now - 60.0:
                recent.popleft()
            t["max_per_minute"] = max(t["max_per_minute"], len(recent))
        else:
            t["busy"] += now
            t["last"] = now

    def traffic(self) -> dict:
        with self._lock:
            out = {}
            for realm, t in self._traffic.items():
                span = max(t["last"] - t["first"], 1e-9)
                busy = t["busy"] + self._in_flight[realm] * time.monotonic()
                out[realm] = {
                    "requests": t["requests"],
                    "mean_in_flight": round(busy / span, 2),
                    "max_per_minute": t["max_per_minute"],
                }
            return out

    def enter(self, realm: str, enforce: bool) -> bool:
        """Register a request; False means "answer 429". Always pair with ``leave``."""
        now = time.monotonic()
        with self._lock:
            self._observe(realm, now, entering=True)
            self._in_flight[realm] += 1
            current = self._in_flight[realm]
            self.max_seen[realm] = max(self.max_seen[realm], current)
            if not enforce:
                return True
            window = self._windows[realm]
            while window and window[0] <= now - 60.0:
                window.popleft()
            if current > self.max_in_flight or len(window) >= self.per_minute:
                return False
            window.append(now)
            return True

    def leave(self, realm: str) -> None:
        with self._lock:
            self._in_flight[realm] -= 1
            self._observe(realm, time.monotonic(), entering=False)

    def reset_stats(self) -> None:
        with self._lock:
            self.max_seen.clear()
            self._traffic.clear()

    def reset_windows(self) -> None:
        with self._lock:
            self._windows.clear()
