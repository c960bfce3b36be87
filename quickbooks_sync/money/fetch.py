"""Ask the Reports API for a period, the way it wants to be asked.

Decisions (API-NOTES §12): a request covers at most ``MAX_MONTHS`` (6) months, so a longer
period is cut into consecutive ranges; a 504 or a timeout on a range is answered by
splitting that range in halves, down to ``MAX_DEPTH`` levels (a single day is never
split), because repeating the same heavy request only times out again. Other errors go
through the client's ordinary retry layer. Point-in-time reports (balance sheet, trial
balance, agings) are one request as of a date: their cost does not grow with a range.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from quickbooks_sync.qbo.client import QBOClient, RetryPolicy
from quickbooks_sync.qbo.errors import RetryableError, ServerError, TransportError

logger = logging.getLogger("quickbooks_sync.money")

MAX_MONTHS = 6
MAX_DEPTH = 4
# Reports whose figures cover a period (and can be summed over consecutive ranges).
PERIOD_REPORTS = {"ProfitAndLoss", "ProfitAndLossDetail", "CashFlow", "GeneralLedger"}
# Reports read as of one date: ``report_date`` for agings, ``end_date`` for the others.
AGING_REPORTS = {"AgedReceivables", "AgedReceivableDetail", "AgedPayables", "AgedPayableDetail"}


@dataclass
class ReportPiece:
    start: date | None
    end: date
    body: dict


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for dom in (day.day, 30, 29, 28):
        try:
            return date(year, month, dom)
        except ValueError:
            continue
    raise ValueError(day)


def split_range(start: date, end: date, months: int = MAX_MONTHS) -> list[tuple[date, date]]:
    """Consecutive, disjoint ranges of at most ``months`` months covering start..end."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    out, cursor = [], start
    while cursor <= end:
        stop = min(end, add_months(cursor, months) - timedelta(days=1))
        out.append((cursor, stop))
        cursor = stop + timedelta(days=1)
    return out


def _is_timeout(exc: RetryableError) -> bool:
    if isinstance(exc, ServerError) and exc.status == 504:
        return True
    return isinstance(exc, TransportError) and "timed out" in str(exc).lower()


def params_for(name: str, basis: str, start: date | None, end: date) -> dict[str, str]:
    params = {"accounting_method": basis}
    if name in AGING_REPORTS:
        params["report_date"] = end.isoformat()
    else:
        params["end_date"] = end.isoformat()
        if start is not None:
            params["start_date"] = start.isoformat()
    if name in PERIOD_REPORTS or name == "TrialBalance":
        params["summarize_column_by"] = "Total"
    return params


def fetch_report(
    client: QBOClient, name: str, *, basis: str, start: date | None, end: date
) -> list[ReportPiece]:
    """The report's pieces, in date order (one piece unless the period had to be split)."""
    if name not in PERIOD_REPORTS or start is None:
        return [ReportPiece(start, end, client.report(name, params_for(name, basis, start, end)))]
    pieces: list[ReportPiece] = []
    for lo, hi in split_range(start, end):
        pieces.extend(_fetch_range(client, name, basis, lo, hi, depth=0))
    return pieces


def _fetch_range(
    client: QBOClient, name: str, basis: str, start: date, end: date, depth: int
) -> list[ReportPiece]:
    can_split = depth < MAX_DEPTH and end > start
    try:
        if can_split:
            body = _once_unless_timeout(client, name, params_for(name, basis, start, end))
        else:
            body = client.report(name, params_for(name, basis, start, end))
        return [ReportPiece(start, end, body)]
    except RetryableError as exc:
        if not (can_split and _is_timeout(exc)):
            raise
        middle = start + (end - start) // 2
        logger.warning(
            "realm %s: %s %s..%s timed out (%s); splitting at %s",
            client.realm_id,
            name,
            start,
            end,
            exc,
            middle,
        )
        return _fetch_range(client, name, basis, start, middle, depth + 1) + _fetch_range(
            client, name, basis, middle + timedelta(days=1), end, depth + 1
        )


def _once_unless_timeout(client: QBOClient, name: str, params: dict[str, str]) -> dict:
    """Retry throttling and other transient errors with the client's policy, but give a
    timeout (504, read timeout) straight back so the range can be split instead."""
    policy, attempt = client.retry, 0
    while True:
        try:
            return client.report(name, params, retry=RetryPolicy(max_retries=0))
        except RetryableError as exc:
            attempt += 1
            if _is_timeout(exc) or attempt > policy.max_retries:
                raise
            if exc.status == 429:
                delay = policy.throttle_delay(attempt, exc.retry_after)
                if client.limiter is not None:
                    client.limiter.pause(delay)
            else:
                delay = policy.server_delay(attempt)
            logger.warning("realm %s: %s; retry %d in %.1fs", client.realm_id, exc, attempt, delay)
            client._sleep(delay)
