"""The sync algorithm for one entity of one realm: backfill and incremental are the same.

Decision (the cursor rule). Records are read in ``MetaData.LastUpdatedTime`` order over a
window ``[cursor, hi]`` where ``hi`` is QBO's own clock (the ``time`` of its first
answer) minus a settling lag, never the worker's clock:

* Paging is the reader's (``sync.reader``, shared with reconcile and ``verifysync``):
  keyset on ``LastUpdatedTime >= t`` from ``STARTPOSITION 1``; a second holding more
  rows than a page is read alone in ``Id`` order between two ``COUNT(*)``, so QBO's
  order among equal timestamps never matters. A record edited while we read leaves the
  window for the future (caught by the next cycle) instead of shifting unread rows.
* Inclusive ``>=``: records stamped in the same second as the cursor are read again, so
  a write landing later in that second is never lost; re-reads are harmless upserts.
* The cursor is saved with every page, in the page's transaction, and only ever names a
  timestamp up to which every record is stored. A crash re-reads at most one page.
* A large backfill is read as several disjoint windows at once (``_run_parallel``); the
  cursor then covers only the contiguous written prefix, so a crash re-reads what later
  windows had fetched, never less.
* A reconcile over existing rows holds the cursor until its delete check is done: a
  cursor moved mid-way would let the next CDC start after deletes nobody checked.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from quickbooks_sync.models import SyncState
from quickbooks_sync.qbo.client import QBOClient, QueryPage
from quickbooks_sync.registry import EntitySpec
from quickbooks_sync.sync.fanout import Db, direct
from quickbooks_sync.sync.reader import (
    Digest,
    EntityReader,
    PagingError,
    SyncInterrupted,
    Window,
)
from quickbooks_sync.sync.writer import PageResult, prepare_page, write_page
from quickbooks_sync.timeutil import TimestampError, parse_qbo_datetime

logger = logging.getLogger("quickbooks_sync.sync")

ProgressCallback = Callable[[str, int, int | None], None]

__all__ = ["CursorError", "EntitySync", "PagingError", "SyncInterrupted", "read_cursor"]


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
    path: str = "query"  # how changes were read: query, cdc, or reconcile (a full re-read)
    # Where the time went: HTTP + JSON decoding, validation/mapping, database writes.
    http_s: float = 0.0
    map_s: float = 0.0
    db_s: float = 0.0

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


@dataclass
class PageSummary:
    """What a page held, once its records are prepared: a count and (for reconciles) Ids."""

    count: int
    ids: list[str]

    @classmethod
    def of(cls, page: QueryPage) -> PageSummary:
        ids = [
            str(r["Id"]) for r in page.records if isinstance(r, dict) and r.get("Id") is not None
        ]
        return cls(len(page.records), ids)


@dataclass
class PreparedPage:
    """A page as the writer needs it: its summary, prepared rows and skipped count."""

    summary: PageSummary
    prepared: list
    skipped: int


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
        concurrency: int = 1,
        progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        db: Db = direct,
    ) -> None:
        self.client = client
        # Every database call goes through ``db`` (``sync.fanout``: one thread does them
        # all when a realm's entities are read at once).
        self.db = db
        self.spec = spec
        self.state = state
        self.realm_id = state.realm_id
        self.page_size = page_size
        self.settle = timedelta(seconds=settle_seconds)
        self.full = full or reconcile
        self.concurrency = max(1, concurrency)
        # Reconcile: read everything, remember every Id QBO returned, then soft-delete the
        # local rows it no longer has (after asking for them by Id once more).
        self.seen_ids: set[str] | None = set() if reconcile else None
        # A reconcile vouches for deletes only when it ends: its pages must not move the
        # cursor, or a crash before the end lets the next CDC skip older deletes. (Not
        # needed when no local row exists yet: see run().)
        self.hold_cursor = reconcile
        self.held_cursor: datetime | None = None
        self.verify_empty = False  # a reconcile that started with no local rows
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)
        self.result = EntitySyncResult(entity=spec.name)
        self.total: int | None = None
        self._stats = threading.Lock()
        self._abort = threading.Event()  # set when the writer gives up: fetchers stop
        self.reader = EntityReader(
            client,
            spec.name,
            include_inactive=spec.has_active,
            page_size=page_size,
            settle=self.settle,
            prepare=self._prepare,
            should_stop=lambda: self.should_stop() or self._abort.is_set(),
            on_request=self._count_request,
        )

    @property
    def hi(self) -> datetime | None:
        """QBO's settled clock, learnt from its first answer in this run."""
        return self.reader.hi

    def _count_request(self, seconds: float) -> None:
        with self._stats:
            self.result.http_s += seconds
            self.result.requests += 1

    def _prepare(self, page: QueryPage) -> Digest:
        """Validate and map a page once, on the thread that fetched it.

        The decoded QBO objects are dropped here: only the prepared rows (JSON text plus
        columns) wait for the writer, which keeps memory flat on large parallel reads."""
        clock = time.perf_counter()
        prepared, skipped = prepare_page(self.spec, self.realm_id, page.records)
        with self._stats:
            self.result.map_s += time.perf_counter() - clock
        return Digest(
            count=len(page.records),
            newest=max((r.updated_at for r in prepared), default=None),
            payload=PreparedPage(PageSummary.of(page), prepared, skipped),
        )

    # --- writing (always on the calling thread, which owns the DB connection) ----------

    def _store(self, page: PreparedPage, cursor: datetime | None) -> None:
        if self.hold_cursor and cursor is not None:
            self.held_cursor, cursor = cursor, None
        clock = time.perf_counter()
        outcome = self.db(
            write_page,
            self.spec,
            self.realm_id,
            page.prepared,
            state=self.state,
            cursor=cursor,
            skipped=page.skipped,
        )
        self.result.db_s += time.perf_counter() - clock
        self.result.add(outcome, page.summary.count)
        if self.seen_ids is not None:
            self.seen_ids.update(page.summary.ids)
        if self.progress is not None:
            self.progress(self.spec.name, self.result.fetched, self.total)

    # --- the algorithm -----------------------------------------------------------------

    def run(self) -> EntitySyncResult:
        started = time.monotonic()
        lo = None if self.full else read_cursor(self.state)
        if lo is None:
            # Backfill: one COUNT(*) gives the progress total and QBO's clock.
            self.total = self.reader.count(self.reader.where())
            if self.seen_ids is not None and not self._has_local_rows():
                # Nothing stored yet, so nothing this read could prove deleted: a delete
                # of a row stored during this read happens after it started, after every
                # cursor it writes, and CDC from that cursor sees it. So progress is kept
                # page by page and no Id set is collected (flat memory on big backfills).
                self.hold_cursor = False
                self.seen_ids = None
                self.verify_empty = True
        windows = self._plan_windows(lo)
        if len(windows) > 1:
            self._run_parallel(windows, lo)
        else:
            for item in self.reader.pages(Window(lo)):
                cursor = item.progress
                if cursor is None:  # window exhausted: up to QBO's settled clock
                    cursor = self._final_cursor(lo, item.digest.newest)
                self._store(item.digest.payload, cursor)
        if self.seen_ids is not None:
            self._reconcile()
        elif self.verify_empty:
            self.result.path = "reconcile"
            self.db(
                write_page,
                self.spec,
                self.realm_id,
                [],
                state=self.state,
                cursor=None,
                deletes_verified=(self.hi or datetime.now(UTC), "reconcile"),
            )
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
                "written": self.result.written,
                "duration_s": round(time.monotonic() - started, 3),
                "http_s": round(self.result.http_s, 3),
                "map_s": round(self.result.map_s, 3),
                "db_s": round(self.result.db_s, 3),
                "requests": self.result.requests,
                "event": "entity_synced",
            },
        )
        return self.result

    def _has_local_rows(self) -> bool:
        return self.db(self.spec.model.objects.filter(realm_id=self.realm_id).exists)

    # --- concurrent reading of a large backfill ------------------------------------------

    def _plan_windows(self, lo: datetime | None) -> list[Window]:
        """Split a backfill into disjoint LastUpdatedTime ranges of similar size.

        Boundaries are the timestamps found at evenly spaced positions (one 1-row probe
        each); a boundary inside a crowded second keeps that second whole in one window.
        Small reads, incremental reads and ``concurrency=1`` stay one window.
        """
        single = [Window(lo, self.hi, True)]
        if self.concurrency < 2 or self.total is None or self.hi is None:
            return single
        if self.total <= 2 * self.page_size:
            return single
        parts = min(self.concurrency, -(-self.total // self.page_size))
        where = self.reader.where(lo, self.hi)
        positions = [1 + (self.total * n) // parts for n in range(1, parts)]
        with ThreadPoolExecutor(max_workers=len(positions)) as pool:
            probes = list(pool.map(lambda p: self._probe(where, p), positions))
        bounds = sorted({t for t in probes if t is not None and (lo is None or t > lo)})
        if not bounds:
            return single
        edges = [lo, *bounds, self.hi]
        windows = [Window(a, b, False) for a, b in itertools.pairwise(edges[:-1])]
        windows.append(Window(edges[-2], self.hi, True))
        return windows

    def _probe(self, where, position: int) -> datetime | None:
        try:
            return self.reader.probe(where, position)
        finally:
            connection.close()

    def _run_parallel(self, windows: list[Window], lo: datetime | None) -> None:
        """Fetch every window on its own thread; write here, in arrival order.

        The cursor moves only over the contiguous, fully written prefix of windows: the
        first unfinished window's progress. A crash therefore loses nothing; it re-reads
        what later windows had fetched (idempotent upserts, unchanged rows not rewritten).
        Pages wait in a bounded queue, so memory holds a few pages whatever the size.
        """
        done = object()
        pages: queue.Queue = queue.Queue(maxsize=1)
        abort = self._abort

        def put(item) -> None:
            while not abort.is_set():
                try:
                    pages.put(item, timeout=0.2)
                    return
                except queue.Full:
                    continue

        def fetch(index: int, window: Window) -> None:
            try:
                for item in self.reader.pages(window):
                    if abort.is_set():
                        return
                    put((index, item))
                put((index, done))
            except BaseException as exc:  # handed to the writer, which re-raises it
                put((index, exc))
            finally:
                connection.close()

        progress: list[datetime | None] = [w.lo for w in windows]
        finished = [False] * len(windows)
        written_cursor = read_cursor(self.state) if not self.full else None
        with ThreadPoolExecutor(max_workers=len(windows)) as pool:
            for index, window in enumerate(windows):
                pool.submit(fetch, index, window)
            try:
                while not all(finished):
                    index, item = pages.get()
                    if isinstance(item, BaseException):
                        raise item
                    if item is done:
                        finished[index] = True
                        item = None
                    elif item.progress is not None:
                        progress[index] = item.progress
                    cursor = self._prefix_cursor(windows, progress, finished, lo)
                    advanced = cursor is not None and cursor != written_cursor
                    if item is None and not advanced:
                        continue
                    if item is None:
                        self._store(PreparedPage(PageSummary(0, []), [], 0), cursor)
                    else:
                        self._store(item.digest.payload, cursor if advanced else None)
                    if advanced:
                        written_cursor = cursor
            except BaseException:
                abort.set()  # fetchers stop before their next request
                raise

    def _prefix_cursor(
        self,
        windows: list[Window],
        progress: list[datetime | None],
        finished: list[bool],
        lo: datetime | None,
    ) -> datetime | None:
        cursor = None
        for index, window in enumerate(windows):
            if not finished[index]:
                return progress[index] if progress[index] is not None else cursor
            cursor = window.hi
        return self._final_cursor(lo, self.hi)

    def _reconcile(self) -> None:
        """Soft-delete local live rows that a complete read of QBO did not return.

        A row edited during the read can leave the window unseen, so every candidate is
        asked for by Id before it is marked deleted: a false delete needs QBO to deny the
        record twice.
        """
        self.result.path = "reconcile"
        model = self.spec.model
        local = set(
            self.db(
                lambda: list(
                    model.objects.live()
                    .filter(realm_id=self.realm_id)
                    .values_list("qb_id", flat=True)
                )
            )
        )
        candidates = sorted(local - (self.seen_ids or set()))
        deletions: dict[str, datetime] = {}
        for chunk, page in self.reader.by_ids(candidates):
            digest = self._prepare(page)
            still_there = {str(r.get("Id")) for r in page.records if isinstance(r, dict)}
            seen_gone_at = page.server_time or datetime.now(UTC)
            deletions.update({qb_id: seen_gone_at for qb_id in chunk if qb_id not in still_there})
            self._store(digest.payload, None)
        outcome = self.db(
            write_page,
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
