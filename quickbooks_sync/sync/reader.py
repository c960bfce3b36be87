"""The one reader: how every QBO entity is paged, by backfill, reconcile and verify alike.

Decision (the paging rule). QBO offers only ``STARTPOSITION`` offsets and one ``ORDERBY``
property, and promises no order among rows equal on it, nor the same order on two
requests (API-NOTES §10). ``LastUpdatedTime`` has one-second resolution and a bulk edit
stamps hundreds of rows alike. So:

* Keyset on time: each page asks ``LastUpdatedTime >= t ORDERBY LastUpdatedTime`` from
  position 1, ``t`` the newest stamp of the previous page. Every row stamped before ``t``
  sorts before every row stamped ``t`` whatever QBO does with ties, so a full page holds
  all of them; the rows of second ``t`` are read again by the next page (harmless).
* A second holding a whole page (bulk edits) cannot be passed that way: it is read alone,
  ``LastUpdatedTime = t ORDERBY Id`` by offset. Id is unique, so that order is total and
  the same on every request, whether QBO sorts Ids as numbers or as strings. The pass is
  bracketed by two ``COUNT(*)``; a row edited meanwhile leaves the second (its new stamp
  is later) and shifts the others, the counts differ and the pass is repeated. Rows
  cannot join a settled second, so equal counts mean nothing was skipped.
* Upper bound: QBO's own clock (the ``time`` of its first answer) minus a settling lag,
  never the worker's clock.

The reader knows QBO and paging, not the database: what a page becomes is the caller's
``prepare`` function (the engine maps records to rows; ``verifysync`` keeps Id and
SyncToken). Every statement comes from ``qbo.query``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from quickbooks_sync.qbo import query as q
from quickbooks_sync.qbo.client import QBOClient, QueryPage
from quickbooks_sync.timeutil import format_qbo_datetime

logger = logging.getLogger("quickbooks_sync.sync")

ID_CHUNK = 100  # Ids per "Id IN (...)" query; keeps the URL short


class SyncInterrupted(Exception):
    """A stop was requested (SIGTERM/SIGINT, a lost lease); the reader sends nothing more
    and everything committed so far is consistent."""


class PagingError(Exception):
    """QBO answered in a way that cannot be paged past safely."""


@dataclass
class Digest:
    """What the caller keeps of one page, and the two facts paging needs from it."""

    count: int  # records QBO returned in the page
    newest: datetime | None  # newest readable LastUpdatedTime among them
    payload: Any = None


@dataclass
class Fetched:
    """One page read inside a window, with how far the window is now read.

    ``progress``: every record of the window stamped before it has been fetched (a cursor
    may name it); None when the window is exhausted.
    """

    digest: Digest
    progress: datetime | None


@dataclass(frozen=True)
class Window:
    """``lo <= LastUpdatedTime < hi`` (``<= hi`` when ``hi_inclusive``). ``hi=None``:
    up to QBO's settled clock, learnt from the first answer."""

    lo: datetime | None
    hi: datetime | None = None
    hi_inclusive: bool = True


class EntityReader:
    def __init__(
        self,
        client: QBOClient,
        entity: str,
        *,
        include_inactive: bool,
        page_size: int,
        settle: timedelta,
        prepare: Callable[[QueryPage], Digest],
        should_stop: Callable[[], bool] = lambda: False,
        on_request: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.entity = q.identifier(entity)
        self.base = q.base_filter(include_inactive=include_inactive)
        self.page_size = page_size
        self.settle = settle
        self.prepare = prepare
        self.should_stop = should_stop
        self.on_request = on_request
        self.hi: datetime | None = None  # QBO's settled clock, from its first answer

    # --- single requests ---------------------------------------------------------------

    def where(
        self,
        lo: datetime | None = None,
        hi: datetime | None = None,
        *,
        lo_inclusive: bool = True,
        hi_inclusive: bool = True,
    ) -> q.Where:
        return self.base.updated_between(
            lo, hi, lo_inclusive=lo_inclusive, hi_inclusive=hi_inclusive
        )

    def select(
        self, where: q.Where, *, order_by: str, start: int = 1, size: int | None = None
    ) -> QueryPage:
        statement = q.select(
            self.entity,
            where,
            order_by=order_by,
            start=start,
            max_results=size or self.page_size,
        )
        return self._send(lambda: self.client.query(self.entity, statement))

    def count(self, where: q.Where) -> int:
        statement = q.count(self.entity, where)
        page = self._send(lambda: self.client.query(self.entity, statement))
        return page.total_count or 0

    def fetch(self, where: q.Where, *, order_by: str, start: int = 1) -> Digest:
        return self.prepare(self.select(where, order_by=order_by, start=start))

    def probe(self, where: q.Where, position: int) -> datetime | None:
        """The LastUpdatedTime found at ``position`` in time order (one-row page)."""
        page = self.select(where, order_by=q.LAST_UPDATED, start=position, size=1)
        return self.prepare(page).newest

    def by_ids(self, ids: Iterable[str]) -> Iterator[tuple[list[str], QueryPage]]:
        """Ask for records by Id, ``ID_CHUNK`` at a time: (the Ids asked, the page)."""
        wanted = list(ids)
        for index in range(0, len(wanted), ID_CHUNK):
            chunk = wanted[index : index + ID_CHUNK]
            statement = q.select(self.entity, self.base.in_(q.ID, chunk), max_results=q.MAX_PAGE)
            yield chunk, self._send(lambda s=statement: self.client.query(self.entity, s))

    def _send(self, call: Callable[[], QueryPage]) -> QueryPage:
        if self.should_stop():
            raise SyncInterrupted(f"stopped while reading {self.entity}")
        clock = time.perf_counter()
        page = call()
        if self.on_request is not None:
            self.on_request(time.perf_counter() - clock)
        if self.hi is None and page.server_time is not None:
            self.hi = page.server_time.replace(microsecond=0) - self.settle
        return page

    # --- paging a window ---------------------------------------------------------------

    def pages(self, window: Window) -> Iterator[Fetched]:
        """Every record of ``window``, page by page, by the rule in the module docstring."""
        lo, inclusive = window.lo, True
        settled = window.hi is None
        while True:
            hi, hi_inclusive = (self.hi, True) if settled else (window.hi, window.hi_inclusive)
            where = self.where(lo, hi, lo_inclusive=inclusive, hi_inclusive=hi_inclusive)
            digest = self.fetch(where, order_by=q.LAST_UPDATED)
            newest = digest.newest
            if digest.count < self.page_size:
                yield Fetched(digest, None)
                return
            if newest is None:
                raise PagingError(
                    f"a full page of {self.entity} had no readable LastUpdatedTime; "
                    "cannot page past it safely"
                )
            if settled and self.hi is not None and newest > self.hi:
                # Ascending order: everything up to the settled clock is in this page.
                yield Fetched(digest, None)
                return
            if lo is None or newest > lo:
                yield Fetched(digest, newest)
                lo, inclusive = newest, True
                continue
            # A whole page shares the second `lo`: read that second alone, in Id order.
            yield Fetched(digest, lo)
            yield from self.drain_second(lo)
            inclusive = False

    def drain_second(self, second: datetime) -> Iterator[Fetched]:
        where = self.where(second, second)
        while True:
            before = self.count(where)
            start = 1
            while True:
                digest = self.fetch(where, order_by=q.ID, start=start)
                yield Fetched(digest, second)
                if digest.count < self.page_size:
                    break
                start += digest.count
            after = self.count(where)
            if after == before:
                return
            logger.info(
                "realm %s: %s rows stamped %s changed during the pass (%d -> %d); re-reading",
                self.client.realm_id,
                self.entity,
                format_qbo_datetime(second),
                before,
                after,
            )
