"""Mirror QBO's reports into ``ReportSnapshot``/``ReportRow``, on demand and on schedule.

Decision: per realm and basis, ProfitAndLoss month by month for the last
``QB_REPORT_MONTHS`` months plus the year to date; BalanceSheet and TrialBalance as of
each of those month ends and today; the agings (and their details, which name the open
transactions the tie-out needs) as of today. A split period is stored as one snapshot
whose rows are the sum of its pieces. ``reports_sync_if_due`` is the worker's hook.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from quickbooks_sync.money.fetch import AGING_REPORTS, fetch_report
from quickbooks_sync.money.flatten import columns_of, flatten, header_of
from quickbooks_sync.money.models import ReportRow, ReportSnapshot
from quickbooks_sync.qbo.client import QBOClient

logger = logging.getLogger("quickbooks_sync.money")

REPORT_NAMES = (
    "ProfitAndLoss",
    "BalanceSheet",
    "TrialBalance",
    "AgedReceivables",
    "AgedReceivableDetail",
    "AgedPayables",
    "AgedPayableDetail",
)
ENTITY_KINDS = {
    "AgedReceivables": "customer",
    "AgedPayables": "vendor",
    "AgedReceivableDetail": "transaction",
    "AgedPayableDetail": "transaction",
}


def month_periods(today: date, months: int) -> list[tuple[date, date]]:
    """The last ``months`` months (the current one included, up to today), oldest first."""
    out, first = [], today.replace(day=1)
    for _ in range(months):
        last = min(today, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        out.append((first, last))
        first = (first - timedelta(days=1)).replace(day=1)
    return out[::-1]


def report_snapshot_store(
    *, client: QBOClient, name: str, basis: str, start: date | None, end: date
) -> ReportSnapshot:
    """Fetch one report (split as needed) and store it with its flattened rows."""
    pieces = fetch_report(client, name, basis=basis, start=start, end=end)
    sums: dict[tuple, object] = defaultdict(int)
    first_seen: dict[tuple, object] = {}
    for piece in pieces:
        for row in flatten(piece.body):
            key = (row.section_path, row.row_type, row.qb_id, row.name, row.column_key)
            sums[key] += row.amount
            first_seen.setdefault(key, row)
    header = header_of(pieces[0].body)
    kind = ENTITY_KINDS.get(name, "account")
    with transaction.atomic():
        snap = ReportSnapshot.objects.create(
            realm_id=client.realm_id,
            report_name=name,
            basis=basis,
            start_date=None if name in AGING_REPORTS else start,
            end_date=end,
            currency=str(header.get("Currency") or ""),
            columns=[vars(c) for c in columns_of(pieces[0].body)],
            raw_data=[p.body for p in pieces],
            pieces=len(pieces),
        )
        ReportRow.objects.bulk_create(
            [
                ReportRow(
                    snapshot=snap,
                    position=row.position,
                    section_path=row.section_path[:500],
                    group=row.group[:64],
                    row_type=row.row_type,
                    entity_kind=kind if row.qb_id else "",
                    qb_id=row.qb_id[:64],
                    name=row.name[:500],
                    column_key=row.column_key[:64],
                    column_title=row.column_title[:128],
                    amount=sums[key],
                    cells=row.cells,
                )
                for key, row in first_seen.items()
            ],
            batch_size=500,
        )
    return snap


def reports_sync(
    *,
    client: QBOClient,
    names: list[str] | None = None,
    bases: list[str] | None = None,
    today: date | None = None,
    months: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[ReportSnapshot]:
    """Mirror the reports; ``should_stop`` is asked before each request (a worker's
    SIGTERM must not wait for a year of reports)."""
    today = today or timezone.localdate()
    names = names or list(REPORT_NAMES)
    bases = bases or list(settings.QB_REPORT_BASES)
    periods = month_periods(today, months or settings.QB_REPORT_MONTHS)
    month_ends = [end for _, end in periods]
    out = []
    for basis in bases:
        for name in names:
            if name == "ProfitAndLoss":
                ranges = [*periods, (today.replace(month=1, day=1), today)]
            elif name in AGING_REPORTS:
                ranges = [(None, today)]
            else:
                ranges = [(None, end) for end in dict.fromkeys([*month_ends, today])]
            for start, end in ranges:
                if should_stop is not None and should_stop():
                    logger.info("realm %s: report mirror stopped", client.realm_id)
                    return out
                out.append(
                    report_snapshot_store(
                        client=client, name=name, basis=basis, start=start, end=end
                    )
                )
    logger.info("realm %s: %d report snapshots stored", client.realm_id, len(out))
    return out


def reports_sync_if_due(*, realm_id: str, should_stop: Callable[[], bool] | None = None) -> bool:
    """The worker's hook after a realm's cycle: mirror reports and re-run the tie-out
    when the last mirror is older than ``QB_REPORT_INTERVAL_HOURS``. Never raises: a
    report failure is logged and must not fail the data sync that just succeeded."""
    hours = settings.QB_REPORT_INTERVAL_HOURS
    if not hours:
        return False
    latest = ReportSnapshot.objects.filter(realm_id=realm_id).order_by("-taken_at").first()
    if latest and latest.taken_at > timezone.now() - timedelta(hours=hours):
        return False
    from quickbooks_sync.money.tieout import money_check_run

    try:
        client = build_report_client(realm_id)
        reports_sync(client=client, should_stop=should_stop)
        if should_stop is not None and should_stop():
            return False
        money_check_run(client=client)
    except Exception:
        logger.exception("realm %s: mirroring reports failed", realm_id)
        return False
    return True


def build_report_client(realm_id: str) -> QBOClient:
    """``runner.build_client`` plus the Reports API's own per-realm budget."""
    from quickbooks_sync.qbo.ratelimit import limiter_for
    from quickbooks_sync.sync.runner import build_client

    client = build_client(realm_id)
    client.report_limiter = limiter_for(
        f"reports:{realm_id}", per_minute=settings.QB_REPORTS_PER_MINUTE, max_in_flight=4
    )
    return client
