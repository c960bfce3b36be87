"""Change data capture: one request per realm and cycle, deletes included.

Decision: an incremental cycle asks QBO's ``/cdc`` for every entity at once, from the
oldest entity cursor. CDC is the only read that reports hard deletes (``status:
"Deleted"`` stubs), so it is preferred whenever it can vouch for completeness. It can't
when (a) the cursor is older than CDC's 30-day look-back, (b) QBO refuses the request,
or (c) an answer holds 1,000 objects, CDC's cap, which QBO applies silently and without
paging. On (c) each entity is asked alone once; an entity whose own answer is still at
the cap, and every entity in (a) and (b), falls back to a reconcile: a full keyset read
that upserts everything and soft-deletes what QBO no longer has. Never a silent miss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from quickbooks_sync.models import SyncState
from quickbooks_sync.qbo.client import CDCResult, QBOClient
from quickbooks_sync.qbo.errors import RequestError
from quickbooks_sync.registry import EntitySpec
from quickbooks_sync.sync.engine import EntitySyncResult, read_cursor
from quickbooks_sync.sync.writer import prepare_page, write_page
from quickbooks_sync.timeutil import TimestampError, format_qbo_datetime, parse_qbo_datetime

logger = logging.getLogger("quickbooks_sync.sync")

CDC_MAX_OBJECTS = 1000  # per answer, across all entities (API-NOTES §3)
CDC_MAX_AGE = timedelta(days=29)  # QBO keeps 30 days; a day of margin for clock skew


@dataclass
class CDCCycle:
    done: dict[str, EntitySyncResult] = field(default_factory=dict)
    fallback: dict[str, str] = field(default_factory=dict)  # entity -> why not CDC
    server_time: datetime | None = None  # QBO's clock, from its answer


def run_cdc(
    client: QBOClient,
    specs: list[EntitySpec],
    states: dict[str, SyncState],
    *,
    settle_seconds: float,
    now: datetime | None = None,
) -> CDCCycle:
    """Apply CDC for ``specs`` (all have cursors); say which entities must reconcile."""
    cycle = CDCCycle()
    since = min(read_cursor(states[spec.name]) for spec in specs)
    now = now or datetime.now(UTC)
    if now - since > CDC_MAX_AGE:
        reason = f"last change read {format_qbo_datetime(since)} is outside CDC's 30-day window"
        return CDCCycle(fallback={spec.name: reason for spec in specs})
    try:
        answer = client.cdc([s.name for s in specs], format_qbo_datetime(since))
    except RequestError as exc:
        return CDCCycle(fallback={spec.name: f"CDC refused: {exc}" for spec in specs})
    cycle.server_time = answer.server_time
    answers = {spec.name: answer for spec in specs}
    if answer.total >= CDC_MAX_OBJECTS:
        logger.info(
            "realm %s: CDC answer held %d objects (the cap); asking per entity",
            client.realm_id,
            answer.total,
        )
        answers = {}
        for spec in specs:
            alone = (
                answer if len(specs) == 1 else client.cdc([spec.name], format_qbo_datetime(since))
            )
            if alone.total >= CDC_MAX_OBJECTS:
                cycle.fallback[spec.name] = (
                    f"more than {CDC_MAX_OBJECTS - 1} changes since {format_qbo_datetime(since)}"
                    " (CDC's per-answer cap)"
                )
            else:
                answers[spec.name] = alone
    for spec in specs:
        if spec.name in answers:
            cycle.done[spec.name] = _apply(
                client.realm_id, spec, states[spec.name], answers[spec.name], settle_seconds
            )
    return cycle


def _apply(
    realm_id: str, spec: EntitySpec, state: SyncState, answer: CDCResult, settle: float
) -> EntitySyncResult:
    records = answer.records.get(spec.name, [])
    server_time = answer.server_time or datetime.now(UTC)
    live, deletions = [], {}
    for record in records:
        if isinstance(record, dict) and record.get("status") == "Deleted":
            if record.get("Id") is not None:
                deletions[str(record["Id"])] = _deleted_at(record, server_time)
        else:
            live.append(record)
    prepared, skipped = prepare_page(spec, realm_id, live)
    hi = server_time.replace(microsecond=0) - timedelta(seconds=settle)
    current = read_cursor(state)
    cursor = max(hi, current) if current else hi
    page = write_page(
        spec,
        realm_id,
        prepared,
        state=state,
        cursor=cursor,
        skipped=skipped,
        deletions=deletions,
        deletes_verified=(hi, "cdc"),
    )
    result = EntitySyncResult(entity=spec.name, path="cdc", requests=0, cursor=state.cursor)
    result.add(page, len(records))
    logger.info(
        "realm %s: %s via CDC: %d changed, %d written, %d deleted, %d skipped",
        realm_id,
        spec.name,
        len(records),
        page.written,
        page.deleted,
        page.skipped,
        extra={"realm_id": realm_id, "entity": spec.name, "records": len(records)},
    )
    return result


def _deleted_at(stub: dict, default: datetime) -> datetime:
    meta = stub.get("MetaData")
    if isinstance(meta, dict):
        try:
            return parse_qbo_datetime(meta.get("LastUpdatedTime"))
        except TimestampError:
            pass
    return default
