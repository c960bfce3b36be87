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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

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
class Fetched:
    """One page read inside a window, with how far the window is now read.

    ``progress``: every record of the window stamped before it has been fetched (the
    cursor may name it); None when the window is exhausted.
    """

    page: PageSummary
    prepared: list
    skipped: int
    progress: datetime | None
    newest: datetime | None


@dataclass(frozen=True)
class Window:
    """``lo <= LastUpdatedTime < hi`` (or ``<= hi`` when ``hi_inclusive``)."""

    lo: datetime | None
    hi: datetime | None
    hi_inclusive: bool


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
    ) -> None:
        self.client = client
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
        self.hi: datetime | None = None
        self.total: int | None = None
        self._stats = threading.Lock()
        self._abort = threading.Event()  # set when the writer gives up: fetchers stop

    # --- queries ---------------------------------------------------------------------

    def _where(
        self,
        lo: datetime | None,
        inclusive: bool,
        hi: datetime | None,
        hi_inclusive: bool = True,
    ) -> str:
        conditions = []
        if self.spec.has_active:
            conditions.append("Active IN (true, false)")  # QBO hides inactive by default
        if lo is not None:
            op = ">=" if inclusive else ">"
            conditions.append(f"Metadata.LastUpdatedTime {op} '{format_qbo_datetime(lo)}'")
        if hi is not None:
            op = "<=" if hi_inclusive else "<"
            conditions.append(f"Metadata.LastUpdatedTime {op} '{format_qbo_datetime(hi)}'")
        return " AND ".join(conditions)

    def _select(self, where: str, start: int, size: int | None = None) -> QueryPage:
        self._check_stop()
        statement = f"SELECT * FROM {self.spec.name}"
        if where:
            statement += f" WHERE {where}"
        statement += (
            f" ORDERBY Metadata.LastUpdatedTime STARTPOSITION {start} "
            f"MAXRESULTS {size or self.page_size}"
        )
        clock = time.perf_counter()
        page = self.client.query(self.spec.name, statement)
        with self._stats:
            self.result.http_s += time.perf_counter() - clock
            self.result.requests += 1
        self._learn_hi(page)
        return page

    def _count(self, where: str) -> int:
        self._check_stop()
        clock = time.perf_counter()
        page = self.client.count(self.spec.name, where)
        with self._stats:
            self.result.http_s += time.perf_counter() - clock
            self.result.requests += 1
        self._learn_hi(page)
        return page.total_count or 0

    def _learn_hi(self, page: QueryPage) -> None:
        if self.hi is None and page.server_time is not None:
            self.hi = page.server_time.replace(microsecond=0) - self.settle

    def _check_stop(self) -> None:
        if self.should_stop() or self._abort.is_set():
            raise SyncInterrupted(f"stopped while syncing {self.spec.name}")

    def _fetch(self, where: str, start: int) -> tuple[PageSummary, list, int]:
        """One page, validated once: (what the page held, prepared records, skipped).

        The decoded QBO objects are dropped here: only the prepared rows (JSON text plus
        columns) wait for the writer, which keeps memory flat on large parallel reads."""
        page = self._select(where, start)
        clock = time.perf_counter()
        prepared, skipped = prepare_page(self.spec, self.realm_id, page.records)
        with self._stats:
            self.result.map_s += time.perf_counter() - clock
        return PageSummary.of(page), prepared, skipped

    # --- writing (always on the calling thread, which owns the DB connection) ----------

    def _store(
        self, page: PageSummary, prepared: list, skipped: int, cursor: datetime | None
    ) -> None:
        if self.hold_cursor and cursor is not None:
            self.held_cursor, cursor = cursor, None
        clock = time.perf_counter()
        outcome = write_page(
            self.spec, self.realm_id, prepared, state=self.state, cursor=cursor, skipped=skipped
        )
        self.result.db_s += time.perf_counter() - clock
        self.result.add(outcome, page.count)
        if self.seen_ids is not None:
            self.seen_ids.update(page.ids)
        if self.progress is not None:
            self.progress(self.spec.name, self.result.fetched, self.total)

    # --- reading one window (any thread) -----------------------------------------------

    def _pages(self, window: Window | None) -> Iterator[Fetched]:
        """Keyset-page a window. ``None``: from the cursor up to QBO's settled clock,
        which is learnt from the first answer."""
        lo = window.lo if window else read_cursor(self.state) if not self.full else None
        inclusive = True
        while True:
            hi, hi_inclusive = (window.hi, window.hi_inclusive) if window else (self.hi, True)
            page, prepared, skipped = self._fetch(self._where(lo, inclusive, hi, hi_inclusive), 1)
            newest = max((r.updated_at for r in prepared), default=None)
            if page.count < self.page_size:
                yield Fetched(page, prepared, skipped, None, newest)
                return
            if newest is None:
                raise CursorError(
                    f"a full page of {self.spec.name} had no readable LastUpdatedTime; "
                    "cannot page past it safely"
                )
            if window is None and self.hi is not None and newest > self.hi:
                # Ordered ascending: everything up to hi is in this page.
                yield Fetched(page, prepared, skipped, None, newest)
                return
            if lo is None or newest > lo:
                yield Fetched(page, prepared, skipped, newest, newest)
                lo, inclusive = newest, True
                continue
            # A whole page shares the second `lo`: read that second by offset.
            yield Fetched(page, prepared, skipped, lo, newest)
            yield from self._drain_second(lo)
            inclusive = False

    def _drain_second(self, second: datetime) -> Iterator[Fetched]:
        where = self._where(second, True, second)
        while True:
            before = self._count(where)
            start = 1
            while True:
                page, prepared, skipped = self._fetch(where, start)
                yield Fetched(page, prepared, skipped, second, second)
                if page.count < self.page_size:
                    break
                start += page.count
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

    # --- the algorithm -----------------------------------------------------------------

    def run(self) -> EntitySyncResult:
        started = time.monotonic()
        lo = None if self.full else read_cursor(self.state)
        if lo is None:
            # Backfill: one COUNT(*) gives the progress total and QBO's clock.
            self.total = self._count(self._where(None, True, None))
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
            for item in self._pages(None):
                cursor = item.progress
                if cursor is None:  # window exhausted: up to QBO's settled clock
                    cursor = self._final_cursor(
                        None if self.full else read_cursor(self.state), item.newest
                    )
                self._store(item.page, item.prepared, item.skipped, cursor)
        if self.seen_ids is not None:
            self._reconcile()
        elif self.verify_empty:
            self.result.path = "reconcile"
            write_page(
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
        return self.spec.model.objects.filter(realm_id=self.realm_id).exists()

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
        where = self._where(lo, True, self.hi)
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

    def _probe(self, where: str, position: int) -> datetime | None:
        try:
            page = self._select(where, position, size=1)
            prepared, _ = prepare_page(self.spec, self.realm_id, page.records)
            return prepared[0].updated_at if prepared else None
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
                for item in self._pages(window):
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
                        self._store(PageSummary(0, []), [], 0, cursor)
                    else:
                        self._store(
                            item.page, item.prepared, item.skipped, cursor if advanced else None
                        )
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
            self._store(PageSummary.of(page), prepared, skipped, None)
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
