"""A realm's entities are read at once (``sync.fanout``), every database call on one
thread; barriers, not the clock, prove the overlap."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from quickbooks_sync.models import Customer, Invoice, SyncState
from quickbooks_sync.qbo.client import QBOClient
from quickbooks_sync.sync.fanout import entity_concurrency, read_concurrently
from tests.test_e2e import REALM, assert_equal_to_truth, bootstrap, local, truth

pytestmark = pytest.mark.django_db(transaction=True)


def test_reads_overlap_and_database_calls_run_on_the_calling_thread():
    main = threading.get_ident()
    barrier = threading.Barrier(2, timeout=60)  # breaks (fails the test) if run serially
    db_threads = []

    def read(item, db):
        barrier.wait()
        return db(lambda: db_threads.append(threading.get_ident()) or item * 10)

    assert sorted(read_concurrently([1, 2], read, concurrency=2)) == [10, 20]
    assert db_threads == [main, main]


def test_an_error_surfaces_after_every_started_read_has_ended():
    ended = []

    def read(item, db):
        if item == 1:
            raise RuntimeError("boom")
        ended.append(item)
        return item

    with pytest.raises(RuntimeError, match="boom"):
        list(read_concurrently([1, 2, 3], read, concurrency=2))
    assert sorted(ended) == [2, 3]


def test_concurrency_one_reads_in_order_and_stops_after_a_realm_wide_result():
    seen = []

    def read(item, db):
        seen.append(item)
        return item

    results = list(read_concurrently([1, 2, 3], read, concurrency=1, stop_after=lambda r: r == 2))
    assert (results, seen) == ([1, 2], [1, 2])


def test_in_memory_sqlite_reads_one_entity_at_a_time():
    """Its connections fail a shared-cache lock at once (a token refresh on another
    thread would fail a page write); a database file waits, PostgreSQL never blocks."""
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
    assert entity_concurrency(4) == (1 if in_memory else 4)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="an in-memory SQLite test database reads entities one at a time (sync.fanout)",
)
def test_a_first_sync_reads_its_entities_at_once(sandbox, settings, monkeypatch):
    """Customer's and Invoice's first requests wait for each other: a serial sync would
    break the barrier and fail both entities."""
    settings.QB_ENTITIES = ("Customer", "Invoice")
    settings.QB_ENTITY_CONCURRENCY = 2
    bootstrap(sandbox)
    barrier = threading.Barrier(2, timeout=60)
    first: set[str] = set()
    lock = threading.Lock()
    real_query = QBOClient.query

    def query(self, entity, statement):
        with lock:
            wait = entity not in first
            first.add(entity)
        if wait:
            barrier.wait()
        return real_query(self, entity, statement)

    monkeypatch.setattr(QBOClient, "query", query)
    call_command("runsync", "--once", "--no-progress")
    assert first == {"Customer", "Invoice"}
    assert local(Customer) == truth(sandbox, "Customer")
    assert local(Invoice) == truth(sandbox, "Invoice")
    states = SyncState.objects.filter(realm_id=REALM)
    assert {s.object_type: s.status for s in states} == {
        "Customer": SyncState.Status.SUCCESS,
        "Invoice": SyncState.Status.SUCCESS,
    }


def test_the_whole_ledger_read_at_once_matches_the_sandbox(sandbox, settings):
    settings.QB_ENTITY_CONCURRENCY = 4
    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    assert_equal_to_truth(sandbox)
    call_command("verifysync", "--ids")
