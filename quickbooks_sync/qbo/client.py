"""A QuickBooks Online API client for one realm.

Decision: the client knows HTTP and QBO's envelopes, not the ORM: plain values in,
dicts out. It owns the single retry layer: 429 honours ``Retry-After`` when present and
otherwise backs off with jitter toward Intuit's advised 60 s; 5xx, network errors and
garbled bodies are retried a bounded number of times; other 4xx are not retried; a 401
triggers one token refresh and one replay. Every request passes connect and read
timeouts and takes a slot in the realm's rate budget.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import requests

from quickbooks_sync.qbo.errors import (
    AuthenticationError,
    HostUnreachableError,
    ReauthorizationRequired,
    RetryableError,
    ThrottledError,
    TransportError,
)
from quickbooks_sync.qbo.http import decode_api_response, new_session, send
from quickbooks_sync.qbo.query import Where
from quickbooks_sync.qbo.query import count as count_statement
from quickbooks_sync.qbo.ratelimit import RateLimiter
from quickbooks_sync.timeutil import TimestampError, parse_qbo_datetime

logger = logging.getLogger("quickbooks_sync.qbo")


class TokenProvider(Protocol):
    def access_token(self) -> str: ...

    def refresh(self, stale: str) -> str: ...

    def mark_needs_reauth(self, reason: str) -> None: ...


@dataclass
class QueryPage:
    """One answer of ``/query``: the rows of one entity, QBO's clock, and a count."""

    entity: str
    records: list[dict]
    server_time: datetime | None
    total_count: int | None = None


@dataclass
class CDCResult:
    records: dict[str, list[dict]] = field(default_factory=dict)
    server_time: datetime | None = None

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.records.values())


@dataclass
class RetryPolicy:
    max_retries: int = 4
    backoff_seconds: float = 1.0  # first wait for 5xx/network; doubles, capped at 30 s
    throttle_seconds: float = 60.0  # Intuit's advice after a 429 without Retry-After
    max_backoff_seconds: float = 30.0

    def server_delay(self, attempt: int) -> float:
        base = min(self.max_backoff_seconds, self.backoff_seconds * (2 ** (attempt - 1)))
        return random.uniform(base / 2, base)  # jitter so workers do not retry in lockstep

    def throttle_delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, max(self.throttle_seconds, 1.0) * 10)
        # 1/8, 1/4, 1/2, 1 of the advised wait, each with jitter, never above it.
        base = self.throttle_seconds / (2 ** max(0, 4 - attempt))
        return min(self.throttle_seconds, random.uniform(base * 0.75, base * 1.25))


class QBOClient:
    def __init__(
        self,
        realm_id: str,
        *,
        base_url: str,
        tokens: TokenProvider,
        minor_version: int = 75,
        timeout: tuple[float, float] = (10.0, 60.0),
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        report_limiter: RateLimiter | None = None,
    ) -> None:
        self.realm_id = str(realm_id)
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.minor_version = minor_version
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self.session = session or new_session()
        self._sleep = sleep
        self.requests_sent = 0
        self.report_limiter = report_limiter

    # --- public API ------------------------------------------------------------------

    def query(self, entity: str, statement: str) -> QueryPage:
        """Run ``statement`` (a SELECT on ``entity``) and return the page."""
        body = self._get("query", {"query": statement})
        response = body.get("QueryResponse")
        if response is None:
            raise TransportError("QBO answered /query without a QueryResponse")
        if not isinstance(response, dict):
            raise TransportError("QBO answered /query with a QueryResponse that is not an object")
        records = response.get(entity, [])
        if not isinstance(records, list):
            raise TransportError(f"QBO answered /query with {entity} that is not a list")
        total = response.get("totalCount")
        return QueryPage(
            entity=entity,
            records=records,
            server_time=self._server_time(body),
            total_count=int(total)
            if isinstance(total, int | str) and str(total).isdigit()
            else None,
        )

    def count(self, entity: str, where: Where | None = None) -> QueryPage:
        page = self.query(entity, count_statement(entity, where))
        if page.total_count is None:
            page.total_count = 0  # QBO leaves totalCount out of an empty answer
        return page

    def cdc(self, entities: list[str], changed_since: str) -> CDCResult:
        body = self._get("cdc", {"entities": ",".join(entities), "changedSince": changed_since})
        result = CDCResult(server_time=self._server_time(body))
        blocks = body.get("CDCResponse")
        if not isinstance(blocks, list):
            raise TransportError("QBO answered /cdc without a CDCResponse list")
        for block in blocks:
            for response in (block or {}).get("QueryResponse", []) or []:
                if not isinstance(response, dict):
                    continue
                # Look elements up by key, never by position (API-NOTES §3).
                for entity in entities:
                    if isinstance(response.get(entity), list):
                        result.records.setdefault(entity, []).extend(response[entity])
        return result

    def read(self, entity: str, qb_id: str) -> dict:
        body = self._get(f"{entity.lower()}/{qb_id}", {})
        return body.get(entity) or {}

    def report(
        self, name: str, params: dict[str, str], *, retry: RetryPolicy | None = None
    ) -> dict:
        """One Reports API answer (``{"Header", "Columns", "Rows"}``), as QBO sent it.

        Reports have their own budget (``report_limiter``, historically 200/min per realm,
        API-NOTES §6) on top of the realm's. ``retry`` overrides the retry policy, so the
        caller (``money.fetch``) can answer a 504 by splitting the range, not by repeating.
        """
        if self.report_limiter is None:
            return self._get(f"reports/{name}", params, retry=retry)
        with self.report_limiter.slot():
            return self._get(f"reports/{name}", params, retry=retry)

    def company_info(self) -> dict:
        body = self._get(f"companyinfo/{self.realm_id}", {})
        return body.get("CompanyInfo") or {}

    # --- one retry layer -----------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str], *, retry: RetryPolicy | None = None) -> dict:
        policy = retry or self.retry
        url = f"{self.base_url}/v3/company/{self.realm_id}/{path}"
        params = {**params, "minorversion": str(self.minor_version)}
        attempt = 0
        replayed_after_401 = False
        while True:
            token = self.tokens.access_token()
            try:
                return self._send_once(url, params, token)
            except HostUnreachableError as exc:
                raise HostUnreachableError(
                    f"{exc}: check QB_API_BASE_URL (now {self.base_url}); for the bundled "
                    "sandbox, is `manage.py qbo_sandbox` running?"
                ) from None
            except AuthenticationError as exc:
                if replayed_after_401:
                    reason = f"QBO refused a freshly refreshed token ({exc})"
                    self.tokens.mark_needs_reauth(reason)
                    raise ReauthorizationRequired(
                        f"realm {self.realm_id}: {reason}; run `manage.py bootstrap_tokens`",
                        status=exc.status,
                        code=exc.code,
                        intuit_tid=exc.intuit_tid,
                    ) from None
                replayed_after_401 = True
                self.tokens.refresh(stale=token)
            except RetryableError as exc:
                attempt += 1
                if attempt > policy.max_retries:
                    logger.error(
                        "realm %s: giving up on %s after %d attempts: %s",
                        self.realm_id,
                        path.split("/")[0],
                        attempt,
                        exc,
                    )
                    raise
                if isinstance(exc, ThrottledError):
                    delay = policy.throttle_delay(attempt, exc.retry_after)
                    if self.limiter is not None:
                        self.limiter.pause(delay)
                else:
                    delay = policy.server_delay(attempt)
                logger.warning(
                    "realm %s: %s; retry %d/%d in %.1fs",
                    self.realm_id,
                    exc,
                    attempt,
                    policy.max_retries,
                    delay,
                )
                self._sleep(delay)

    def _send_once(self, url: str, params: dict[str, str], token: str) -> dict:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self.limiter is not None:
            with self.limiter.slot():
                response = self._transport(url, params, headers)
        else:
            response = self._transport(url, params, headers)
        return decode_api_response(response)

    def _transport(self, url: str, params: dict, headers: dict) -> requests.Response:
        self.requests_sent += 1
        return send(self.session, "GET", url, params=params, headers=headers, timeout=self.timeout)

    @staticmethod
    def _server_time(body: dict) -> datetime | None:
        value = body.get("time")
        if isinstance(value, str):
            try:
                return parse_qbo_datetime(value)
            except TimestampError:
                return None
        return None
