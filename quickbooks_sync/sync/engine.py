"""The sync algorithm for one entity of one realm: backfill and incremental are the same.

Decision (the cursor rule). Records are read in ``MetaData.LastUpdatedTime`` order over a
window ``[cursor, hi]`` where ``hi`` is QBO's own clock (the ``time`` of its first
answer) minus a settling lag, never the worker's clock:

* Keyset paging, not offsets: each next page asks again for ``LastUpdatedTime >= t``
  from ``STARTPOSITION 1``, where ``t`` is the newest timestamp of the page just stored.
  A record edited while we read leaves the window for the future (it is caught by the
  next cycle) instead of shifting unread rows past our offset.
* Inclusive ``>=``: records stamped in the same second as the cursor are read again, so
  a write landing later in that second is never lost; re-reads are harmless upserts.
* More rows in one second than a page holds (bulk edits): that second is read by
  offset, bracketed by two ``COUNT(*)``; if the count changed mid-pass (a row left the
  second and shifted the rest), the pass is repeated. Then reading resumes at ``> t``.
* The cursor is saved with every page, in the page's transaction, and only ever names a
  timestamp up to which every record is stored. A crash re-reads at most one page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from quickbooks_sync.models import SyncState
from quickbooks_sync.qbo.client import QBOClient, QueryPage
from quickbooks_sync.registry import EntitySpec
from quickbooks_sync.sync.writer import PageResult, prepare_page, write_page
from quickbooks_sync.timeutil import TimestampError, format_qbo_datetime, parse_qbo_datetime

logger = logging.getLogger("quickbooks_sync.sync")

ProgressCallback = Callable[[str, int, int | None], None]

ID_CHUNK = 100  # Ids per "Id IN (...)" verification query; keeps the URL short


class SyncInterrupted(Exception):
    """A stop was requested (SIGTERM/SIGINT); everything committed so far is consistent."""


class CursorError(Exception):
    """The stored cursor cannot be used; the sync refuses to guess."""


@dataclass
class EntitySyncResult:
    entity: str
    fetched: int = 0
    written: int = 0
    unchanged: int = 0
    skipped: int = 0
    deleted: int = 0
    requests: int = 0
    cursor: str = ""
    path: str = "query"
    # Where the time went: HTTP + JSON decoding, validation/mapping, database writes.
    http_s: float = 0.0
    map_s: float = 0.0
    db_s: float = 0.0  # how changes were read: query, cdc, or reconcile (a full re-read)

    def add(self, page: PageResult, fetched: int) -> None:
        self.fetched += fetched
        self.written += page.written
        self.unchanged += page.unchanged
        self.skipped += page.skipped
        self.deleted += page.deleted


def read_cursor(state: SyncState) -> datetime | None:
    if not state.cursor:
        return None
    try:
        return parse_qbo_datetime(state.cursor)
    except TimestampError as exc:
        raise CursorError(
            f"the stored cursor of {state.object_type} in realm {state.realm_id} is "
            f"{state.cursor[:40]!r}, which is not a timestamp ({exc}). Nothing was synced. "
            f"Fix it in the admin (SyncState), or run `manage.py runsync --once --full "
            f"--entity {state.object_type}` to re-read everything."
        ) from None


class EntitySync:
    """One run of the algorithm above; ``run()`` returns counts, raises on failure."""

    def __init__(
        self,
        client: QBOClient,
        spec: EntitySpec,
        state: SyncState,
        *,
        page_size: int,
        settle_seconds: float,
        full: bool = False,
        reconcile: bool = False,
        progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.client = client
        self.spec = spec
        self.state = state
        self.realm_id = state.realm_id
        self.page_size = page_size
        self.settle = timedelta(seconds=settle_seconds)
        self.full = full or reconcile
        # Reconcile: read everything, remember every Id QBO returned, then soft-delete the
        # local rows it no longer has (after asking for them by Id once more).
        self.seen_ids: set[str] | None = set() if reconcile else None
        # A reconcile vouches for deletes only when it ends: its pages must not move the
        # cursor, or a crash before the end lets the next CDC skip older deletes.
        self.held_cursor: datetime | None = None
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)
        self.result = EntitySyncResult(entity=spec.name)
        self.hi: datetime | None = None
        self.total: int | None = None

    # --- queries ---------------------------------------------------------------------

    def _where(self, lo: datetime | None, inclusive: bool, hi: datetime | None) -> str:
        conditions = []
        if self.spec.has_active:
            conditions.append("Active IN (true, false)")  # QBO hides inactive by default
        if lo is not None:
            op = ">=" if inclusive else ">"
            conditions.append(f"Metadata.LastUpdatedTime {op} '{format_qbo_datetime(lo)}'")
        if hi is not None:
            conditions.append(f"Metadata.LastUpdatedTime <= '{format_qbo_datetime(hi)}'")
        return " AND ".join(conditions)

    def _select(self, where: str, start: int) -> QueryPage:
        self._check_stop()
        statement = f"SELECT * FROM {self.spec.name}"
        if where:
            statement += f" WHERE {where}"
        statement += (
            f" ORDERBY Metadata.LastUpdatedTime STARTPOSITION {start} MAXRESULTS {self.page_size}"
        )
        clock = time.perf_counter()
        page = self.client.query(self.spec.name, statement)
        self.result.http_s += time.perf_counter() - clock
        self.result.requests += 1
        self._learn_hi(page)
        return page

    def _count(self, where: str) -> int:
        self._check_stop()
        clock = time.perf_counter()
        page = self.client.count(self.spec.name, where)
        self.result.http_s += time.perf_counter() - clock
        self.result.requests += 1
        self._learn_hi(page)
        return page.total_count or 0

    def _learn_hi(self, page: QueryPage) -> None:
        if self.hi is None and page.server_time is not None:
            self.hi = page.server_time.replace(microsecond=0) - self.settle

    def _check_stop(self) -> None:
        if self.should_stop():
            raise SyncInterrupted(f"stopped while syncing {self.spec.name}")

    # --- writing ---------------------------------------------------------------------

    def _store(
        self, page: QueryPage, prepared: list, skipped: int, cursor: datetime | None
    ) -> None:
        if self.seen_ids is not None and cursor is not None:
            self.held_cursor, cursor = cursor, None
        clock = time.perf_counter()
        outcome = write_page(
            self.spec, self.realm_id, prepared, state=self.state, cursor=cursor, skipped=skipped
        )
        self.result.db_s += time.perf_counter() - clock
        self.result.add(outcome, len(page.records))
        if self.seen_ids is not None:
            self.seen_ids.update(
                str(r["Id"])
                for r in page.records
                if isinstance(r, dict) and r.get("Id") is not None
            )
        if self.progress is not None:
            self.progress(self.spec.name, self.result.fetched, self.total)

    def _fetch(self, where: str, start: int) -> tuple[QueryPage, list, int]:
        """One page, validated once: (page, prepared records, skipped count)."""
        page = self._select(where, start)
        clock = time.perf_counter()
        prepared, skipped = prepare_page(self.spec, self.realm_id, page.records)
        self.result.map_s += time.perf_counter() - clock
        return page, prepared, skipped

    # --- the algorithm -----------------------------------------------------------------

    def run(self) -> EntitySyncResult:
        started = time.monotonic()
        lo = None if self.full else read_cursor(self.state)
        if lo is None:
            # Backfill: one COUNT(*) gives the progress total and QBO's clock.
            self.total = self._count(self._where(None, True, None))
        inclusive = True
        while True:
            page, prepared, skipped = self._fetch(self._where(lo, inclusive, self.hi), 1)
            newest = max((r.updated_at for r in prepared), default=None)
            if len(page.records) < self.page_size:
                self._store(page, prepared, skipped, self._final_cursor(lo, newest))
                break
            if newest is None:
                raise CursorError(
                    f"a full page of {self.spec.name} had no readable LastUpdatedTime; "
                    "cannot page past it safely"
                )
            if self.hi is not None and newest > self.hi:
                # Ordered ascending: everything up to hi is in this page.
                self._store(page, prepared, skipped, self._final_cursor(lo, self.hi))
                break
            if lo is None or newest > lo:
                self._store(page, prepared, skipped, newest)
                lo, inclusive = newest, True
                continue
            # A whole page shares the second `lo`: read that second by offset.
            self._store(page, prepared, skipped, lo)
            self._drain_second(lo)
            inclusive = False
        if self.seen_ids is not None:
            self._reconcile()
        self.result.cursor = self.state.cursor
        logger.info(
            "realm %s: %s synced: %d fetched, %d written, %d unchanged, %d skipped, "
            "%d requests in %.2fs",
            self.realm_id,
            self.spec.name,
            self.result.fetched,
            self.result.written,
            self.result.unchanged,
            self.result.skipped,
            self.result.requests,
            time.monotonic() - started,
            extra={
                "realm_id": self.realm_id,
                "entity": self.spec.name,
                "records": self.result.fetched,
                "duration_s": round(time.monotonic() - started, 3),
                "http_s": round(self.result.http_s, 3),
                "map_s": round(self.result.map_s, 3),
                "db_s": round(self.result.db_s, 3),
                "requests": self.result.requests,
                "event": "entity_synced",
            },
        )
        return self.result

    def _reconcile(self) -> None:
        """Soft-delete local live rows that a complete read of QBO did not return.

        A row edited during the read can leave the window unseen, so every candidate is
        asked for by Id before it is marked deleted: a false delete needs QBO to deny the
        record twice.
        """
        self.result.path = "reconcile"
        model = self.spec.model
        local = set(
            model.objects.live().filter(realm_id=self.realm_id).values_list("qb_id", flat=True)
        )
        candidates = sorted(local - (self.seen_ids or set()))
        deletions: dict[str, datetime] = {}
        for start in range(0, len(candidates), ID_CHUNK):
            chunk = candidates[start : start + ID_CHUNK]
            ids = ", ".join(f"'{qb_id}'" for qb_id in chunk)
            where = f"Id IN ({ids})"
            if self.spec.has_active:
                where = f"Active IN (true, false) AND {where}"
            self._check_stop()
            page = self.client.query(
                self.spec.name, f"SELECT * FROM {self.spec.name} WHERE {where} MAXRESULTS 1000"
            )
            self.result.requests += 1
            prepared, skipped = prepare_page(self.spec, self.realm_id, page.records)
            still_there = {str(r.get("Id")) for r in page.records if isinstance(r, dict)}
            seen_gone_at = page.server_time or datetime.now(UTC)
            deletions.update({qb_id: seen_gone_at for qb_id in chunk if qb_id not in still_there})
            self._store(page, prepared, skipped, None)
        outcome = write_page(
            self.spec,
            self.realm_id,
            [],
            state=self.state,
            cursor=self.held_cursor,
            deletions=deletions,
            deletes_verified=(self.hi or datetime.now(UTC), "reconcile"),
        )
        self.result.deleted += outcome.deleted
        logger.info(
            "realm %s: reconciled %s: read %d records in %d requests; %d local rows no longer "
            "in QBO marked deleted",
            self.realm_id,
            self.spec.name,
            len(self.seen_ids or ()),
            self.result.requests,
            outcome.deleted,
            extra={"realm_id": self.realm_id, "entity": self.spec.name, "event": "reconcile"},
        )

    def _final_cursor(self, lo: datetime | None, newest: datetime | None) -> datetime | None:
        """Where the cursor may go once the window is exhausted: QBO's settled time."""
        candidates = [t for t in (lo, self.hi if self.hi is not None else newest) if t]
        return max(candidates) if candidates else None

    def _drain_second(self, second: datetime) -> None:
        where = self._where(second, True, second)
        while True:
            before = self._count(where)
            start = 1
            while True:
                page, prepared, skipped = self._fetch(where, start)
                self._store(page, prepared, skipped, second)
                if len(page.records) < self.page_size:
                    break
                start += len(page.records)
            after = self._count(where)
            if after == before:
                return
            logger.info(
                "realm %s: %s rows stamped %s changed during the pass (%d -> %d); re-reading",
                self.realm_id,
                self.spec.name,
                format_qbo_datetime(second),
                before,
                after,
            )
