"""Turning one page of QBO JSON into rows, and writing it together with the cursor.

Decision: a page is validated record by record (a malformed record is skipped and
counted, its Id and reason logged, never its payload) and written with one bulk upsert
in the same transaction as the cursor that covers it, so a crash leaves either both or
neither. A row is never replaced by an older version of it (``sync.upsert`` states the
rule): on SQLite the stored versions are read first, in one query per page; on
PostgreSQL the upsert's ``WHERE`` applies the rule and ``RETURNING`` says what was written.

Children (lines, linked transactions) follow their parent: they are replaced in the same
transaction, for exactly the parents written. When the stored parent is newer (so the row
is not written) its children are not touched either; a soft-deleted parent keeps its last
children. Row tuples are built from the entity's declared ``columns``, by name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from quickbooks_sync.models import SyncState
from quickbooks_sync.registry import EntitySpec, MalformedRecord
from quickbooks_sync.sync.upsert import (
    dump_json,
    parent_keys,
    replace_children,
    stored_versions,
    token_number,
    upsert_newer,
    upsert_rows,
)
from quickbooks_sync.timeutil import TimestampError, format_qbo_datetime, parse_qbo_datetime

logger = logging.getLogger("quickbooks_sync.sync")

# Columns of every synced row, in the order write_page builds them; the entity's own
# columns (EntitySpec.to_fields) follow. On conflict all but the key and created_at change.
ROW_COLUMNS = (
    "realm_id",
    "qb_id",
    "sync_token",
    "qb_updated_at",
    "raw_data",
    "created_at",
    "updated_at",
    "deleted_at",
)


@dataclass
class PreparedRecord:
    qb_id: str
    sync_token: str
    updated_at: datetime
    raw_json: str  # the QBO object as JSON text, ready for the raw_data column
    fields: dict
    children: tuple[list[tuple], ...] = ()  # one row list per ``spec.children`` entry

    @property
    def version(self) -> tuple[datetime, int]:
        return (self.updated_at, token_number(self.sync_token))


@dataclass
class PageResult:
    written: int = 0
    unchanged: int = 0
    skipped: int = 0
    deleted: int = 0


def prepare_record(spec: EntitySpec, raw: object) -> PreparedRecord:
    """Validate one QBO object; raise ``MalformedRecord`` with a reason naming no value."""
    if not isinstance(raw, dict):
        raise MalformedRecord("record is not a JSON object")
    qb_id = spec.record_id(raw)
    if isinstance(qb_id, bool) or not isinstance(qb_id, str | int) or str(qb_id).strip() == "":
        raise MalformedRecord("missing Id")
    qb_id = str(qb_id)
    if len(qb_id) > 64:
        raise MalformedRecord("Id longer than 64 characters")
    if not qb_id.isprintable():
        # Quotes are fine (every query literal is escaped, qbo.query); control characters
        # are never a QBO Id and would make logs and queries ambiguous.
        raise MalformedRecord("Id contains control characters")
    meta = raw.get("MetaData")
    if not isinstance(meta, dict):
        raise MalformedRecord("missing MetaData")
    try:
        updated_at = parse_qbo_datetime(meta.get("LastUpdatedTime"))
    except TimestampError as exc:
        raise MalformedRecord(f"unparsable MetaData.LastUpdatedTime ({exc})") from None
    sync_token = raw.get("SyncToken")
    if isinstance(sync_token, bool) or not isinstance(sync_token, str | int):
        raise MalformedRecord("missing SyncToken")
    sync_token = str(sync_token)[:32]
    fields = spec.to_fields(raw)
    children = tuple(child.rows(raw) for child in spec.children)
    raw_json = dump_json(raw)  # serialised once, here, and stored as is
    if "\\u0000" in raw_json and _has_nul(raw):
        # Valid JSON, but PostgreSQL cannot store NUL in text or jsonb; skip it everywhere
        # rather than fail the whole page (and every later cycle) on one record.
        raise MalformedRecord("contains a NUL character (\\u0000), which cannot be stored")
    return PreparedRecord(qb_id, sync_token, updated_at, raw_json, fields, children)


def _has_nul(value: object) -> bool:
    """Whether a NUL character hides in any key or string (the rare, slow path)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def prepare_page(
    spec: EntitySpec, realm_id: str, records: list
) -> tuple[list[PreparedRecord], int]:
    """Return the valid records (newest version per Id) and how many were skipped."""
    by_id: dict[str, PreparedRecord] = {}
    skipped = 0
    for raw in records:
        try:
            record = prepare_record(spec, raw)
        except MalformedRecord as exc:
            skipped += 1
            raw_id = raw.get("Id") if isinstance(raw, dict) else None
            logger.warning(
                "realm %s: skipped %s Id=%s: %s",
                realm_id,
                spec.name,
                repr(raw_id)[:70] if raw_id is not None else "-",
                exc,
            )
            continue
        known = by_id.get(record.qb_id)
        if known is None or record.version > known.version:
            by_id[record.qb_id] = record
    return list(by_id.values()), skipped


def write_page(
    spec: EntitySpec,
    realm_id: str,
    records: list[PreparedRecord],
    *,
    state: SyncState,
    cursor: datetime | None,
    skipped: int = 0,
    deletions: dict[str, datetime] | None = None,
    deletes_verified: tuple[datetime, str] | None = None,
) -> PageResult:
    """Upsert ``records``, soft-delete ``deletions`` (Id -> when QBO deleted it) and move
    ``state.cursor`` to ``cursor``, all in one transaction.

    Deleted rows keep their last ``raw_data`` for audit; only ``deleted_at`` is set.
    """
    model = spec.model
    result = PageResult(skipped=skipped)
    with transaction.atomic():
        now = timezone.now()
        columns = [*ROW_COLUMNS, *spec.columns]
        if connection.vendor == "postgresql":
            # The never-older rule runs in SQL, on the whole page at once.
            keys = upsert_newer(model, columns, [_row(spec, realm_id, r, now) for r in records])
            written = [r for r in records if r.qb_id in keys]
        else:
            written = _newer(model, realm_id, records)
            upsert_rows(model, columns, [_row(spec, realm_id, r, now) for r in written])
            keys = parent_keys(model, realm_id, [r.qb_id for r in written]) if spec.children else {}
        result.written = len(written)
        result.unchanged = len(records) - len(written)
        if spec.children and written:
            _replace_children(spec, realm_id, written, keys)
        if deletions:
            result.deleted = _soft_delete(model, realm_id, deletions, now)
        changes: dict = {}
        if cursor is not None:
            changes["cursor"] = format_qbo_datetime(cursor)
        if skipped:
            changes["records_skipped"] = F("records_skipped") + skipped
        if deletes_verified is not None:
            changes["deletes_verified_at"], changes["deletes_verified_by"] = deletes_verified
        if changes:
            SyncState.objects.filter(pk=state.pk).update(**changes)
            if cursor is not None:
                state.cursor = changes["cursor"]
    return result


def _row(spec: EntitySpec, realm_id: str, record: PreparedRecord, now: datetime) -> tuple:
    """The row of ``ROW_COLUMNS`` + ``spec.columns`` for one record."""
    fields = record.fields
    return (
        realm_id,
        record.qb_id,
        record.sync_token,
        record.updated_at,
        record.raw_json,
        now,
        now,
        None,
        *[fields[name] for name in spec.columns],
    )


def _newer(model, realm_id: str, records: list[PreparedRecord]) -> list[PreparedRecord]:
    """The records the never-older rule lets through (SQLite; PostgreSQL does it in SQL):
    newer than the stored version, or the same version of a soft-deleted row."""
    stored = stored_versions(model, realm_id, [r.qb_id for r in records])
    written = []
    for record in records:
        old = stored.get(record.qb_id)
        if old is not None:
            old_version = old[:2]
            if record.version < old_version or (record.version == old_version and old[2] is None):
                continue
        written.append(record)
    return written


def _replace_children(
    spec: EntitySpec, realm_id: str, written: list[PreparedRecord], keys: dict[str, int]
) -> None:
    """Replace the children of the parents just written (their new versions' lines)."""
    parent_ids = [keys[r.qb_id] for r in written]
    for index, child in enumerate(spec.children):
        rows = [
            (parent_id, realm_id, *row)
            for parent_id, record in zip(parent_ids, written, strict=True)
            for row in record.children[index]
        ]
        replace_children(child.model, parent_ids, ("parent", "realm_id", *child.columns), rows)


def _soft_delete(model, realm_id: str, deletions: dict[str, datetime], now: datetime) -> int:
    """Set ``deleted_at`` on live rows; group by instant so it is one UPDATE per instant."""
    by_instant: dict[datetime, list[str]] = {}
    for qb_id, at in deletions.items():
        by_instant.setdefault(at, []).append(qb_id)
    count = 0
    for at, ids in by_instant.items():
        count += model.objects.filter(
            realm_id=realm_id, qb_id__in=ids, deleted_at__isnull=True
        ).update(deleted_at=at, updated_at=now)
    if count:
        logger.info("realm %s: %d %s rows marked deleted", realm_id, count, model.__name__)
    return count
