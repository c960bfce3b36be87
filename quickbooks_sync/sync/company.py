"""Company facts: CompanyInfo, Preferences and ExchangeRate, read whole every cycle.

Decision: each is one small object (one per realm; rates one per foreign currency and
day), so every cycle reads it with one query and stores it like any page, rather than
trusting CDC (which Intuit's page does not promise for CompanyInfo, and ExchangeRate has no
Id for CDC to name). A full read proves the row complete, so ``deletes_verified_at`` moves
with it. ExchangeRate is read only when Preferences says the company is multi-currency,
for the day of QBO's clock (UTC date): ``AsOfDate = '<day>'``; each day's rates are kept,
so the table grows into a history of the days the sync saw.
"""

from __future__ import annotations

from datetime import UTC, datetime

from quickbooks_sync.models import SyncState
from quickbooks_sync.qbo.client import QBOClient
from quickbooks_sync.registry import EntitySpec
from quickbooks_sync.sync.engine import EntitySyncResult
from quickbooks_sync.sync.writer import prepare_page, write_page


def multi_currency(realm_id: str) -> bool:
    from quickbooks_sync.list_models import Preferences

    return (
        Preferences.objects.live().filter(realm_id=realm_id, multi_currency_enabled=True).exists()
    )


def statement(spec: EntitySpec, now: datetime) -> str:
    if spec.name == "ExchangeRate":
        return f"SELECT * FROM ExchangeRate WHERE AsOfDate = '{now.astimezone(UTC).date()}'"
    return f"SELECT * FROM {spec.name}"


def refresh_fact(
    client: QBOClient, spec: EntitySpec, state: SyncState, *, now: datetime | None = None
) -> tuple[EntitySyncResult, datetime | None]:
    """Read ``spec`` whole (one request) and store it; return counts and QBO's clock.

    ExchangeRate in a single-currency company is not read (QBO has no rates to give)."""
    result = EntitySyncResult(entity=spec.name, path="refresh")
    if spec.name == "ExchangeRate" and not multi_currency(client.realm_id):
        result.path = "single currency: no rates"
        return result, None
    page = client.query(spec.name, statement(spec, now or datetime.now(UTC)))
    result.requests = 1
    prepared, skipped = prepare_page(spec, client.realm_id, page.records)
    hi = page.server_time or datetime.now(UTC)
    outcome = write_page(
        spec,
        client.realm_id,
        prepared,
        state=state,
        cursor=hi,
        skipped=skipped,
        deletes_verified=(hi, "reconcile"),
    )
    result.add(outcome, len(page.records))
    result.cursor = state.cursor
    return result, page.server_time


def verify_fact(client: QBOClient, spec: EntitySpec, *, now: datetime | None = None):
    """``verifysync`` for a company fact: the same one read, compared by Id and token."""
    from quickbooks_sync.sync.verify import EntityCheck

    now = now or datetime.now(UTC)
    local_rows = spec.model.objects.live().filter(realm_id=client.realm_id)
    if spec.name == "ExchangeRate":
        if not multi_currency(client.realm_id):
            return EntityCheck(client.realm_id, spec.name, 0, 0, compared_ids=True)
        # The newest day stored (QBO's clock may differ from ours; the sync used QBO's).
        newest = local_rows.order_by("-as_of_date").values_list("as_of_date", flat=True).first()
        if newest is not None:
            now = datetime(newest.year, newest.month, newest.day, 12, tzinfo=UTC)
        local_rows = local_rows.filter(as_of_date=now.astimezone(UTC).date())
    local = dict(local_rows.values_list("qb_id", "sync_token"))
    page = client.query(spec.name, statement(spec, now))
    remote = {
        str(spec.record_id(r)): str(r.get("SyncToken"))
        for r in page.records
        if isinstance(r, dict) and spec.record_id(r) is not None
    }
    check = EntityCheck(client.realm_id, spec.name, len(local), len(remote), compared_ids=True)
    check.missing_locally = sorted(set(remote) - set(local))
    check.extra_locally = sorted(set(local) - set(remote))
    check.stale_locally = sorted(i for i in set(local) & set(remote) if local[i] != remote[i])
    return check
