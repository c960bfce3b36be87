"""Reading a realm's entities at once, with every database call on one thread.

Decision: an entity's fixed cost (its ``COUNT``, the window probes, a last short page) is
a few round trips during which the CPU idles; paid one entity after another it adds up
(16 entities, 2-5 requests each, 0.25 s per request against QBO). So the entities that
need a full read are read concurrently, ``QB_ENTITY_CONCURRENCY`` at a time, all under
the realm's one request budget (``qbo.ratelimit``: what is in flight and sent per minute
is bounded per realm whatever the number of threads).

The database stays single-writer: every call an entity makes to it (its pages, cursor
and ``SyncState`` writes, the reads around them) runs on the calling thread, one at a
time, through a ``DatabaseHub``. SQLite allows one writer anyway, the rows and cursor of a
page keep their one transaction, and PostgreSQL sees the same sequence of transactions
as with one entity at a time, only interleaved between entities. The cursor rules of
``sync.engine`` hold per entity unchanged: nothing about an entity's own reads or
writes is reordered. Two cases stay serial, because a request on another thread may
need the database itself (loading or refreshing the realm's token): inside an open
transaction (a caller's ``atomic`` block), whose rows other connections cannot see, and
on an in-memory SQLite database (the test suite's), whose connections share one cache
that fails a lock at once instead of waiting for it like a database file does.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connection

T = TypeVar("T")
Db = Callable[..., Any]  # db(fn, *args, **kwargs) -> fn(*args, **kwargs), on the DB thread


def direct(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The ``db`` of a serial run: call right here."""
    return fn(*args, **kwargs)


class DatabaseHub:
    """Runs callables submitted from worker threads on the thread that ``serve``s."""

    _DONE = object()

    def __init__(self) -> None:
        self._calls: queue.Queue = queue.Queue()
        self._owner = threading.get_ident()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if threading.get_ident() == self._owner:
            return fn(*args, **kwargs)
        done = threading.Event()
        box: dict[str, Any] = {}
        self._calls.put((fn, args, kwargs, done, box))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def worker_finished(self) -> None:
        self._calls.put(self._DONE)

    def serve(self, workers: int) -> None:
        """Run submitted calls until ``workers`` have called ``worker_finished``."""
        while workers:
            item = self._calls.get()
            if item is self._DONE:
                workers -= 1
                continue
            fn, args, kwargs, done, box = item
            try:
                box["result"] = fn(*args, **kwargs)
            except BaseException as exc:  # handed back to the thread that asked
                box["error"] = exc
            finally:
                done.set()


def entity_concurrency(configured: int) -> int:
    """``QB_ENTITY_CONCURRENCY``, or 1 where the database cannot take it (see above)."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return 1
    return configured


def read_concurrently(
    items: Sequence[T],
    read: Callable[[T, Db], Any],
    *,
    concurrency: int,
    stop_after: Callable[[Any], bool] = lambda result: False,
) -> Iterator[Any]:
    """``read(item, db)`` for every item, ``concurrency`` at a time; yield the results.

    Items not yet started when a result satisfies ``stop_after`` (e.g. a realm-wide
    failure) are not read, as in a serial run. An exception raised by ``read`` is
    re-raised once every started read has ended (a ``SyncInterrupted`` first)."""
    if concurrency < 2 or len(items) < 2 or connection.in_atomic_block:
        for item in items:
            result = read(item, direct)
            yield result
            if stop_after(result):
                return
        return
    hub = DatabaseHub()
    stopped = threading.Event()
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(item: T) -> None:
        try:
            if stopped.is_set():
                return
            result = read(item, hub.call)
            results.append(result)
            if stop_after(result):
                stopped.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # a token refresh may have opened one on this thread
            hub.worker_finished()

    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        for item in items:
            pool.submit(run, item)
        hub.serve(len(items))
    if errors:
        from quickbooks_sync.sync.reader import SyncInterrupted

        raise next((e for e in errors if isinstance(e, SyncInterrupted)), errors[0])
    yield from results
