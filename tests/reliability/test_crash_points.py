"""Crashes at exact points, in process: the random SIGKILL test (test_crash_recovery) lands
on these moments only by luck, so each one is staged here deterministically.

A "crash" is an exception raised at the chosen point: everything the process committed
before it stays, nothing after it happens, which is what a SIGKILL leaves behind.
"""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import CommandError, call_command

from quickbooks_sync.models import Invoice, SyncState
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.sync import engine, writer
from quickbooks_sync.sync.engine import EntitySync
from quickbooks_sync.sync.runner import build_client
from tests.reliability.harness import compare_orm, record_result

pytestmark = pytest.mark.django_db(transaction=True)
REALM = DEFAULT_REALM


class Crash(Exception):
    pass


@pytest.fixture
def sandbox(settings):
    config = SandboxConfig(seed=11, customers=30, invoices=1100, realms=(REALM,), throttle=False)
    with SandboxServer(config) as server:
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID = config.client_id
        settings.QB_CLIENT_SECRET = config.client_secret
        settings.SYNC_LEASE_SECONDS = 3600  # no heartbeat thread writes (in-memory SQLite)
        settings.QB_MAX_RESULTS = 100
        code = server.state.issue_authorization_code(REALM)
        call_command("bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://x/cb")
        yield server


def sync():
    call_command("runsync", "--once", "--no-progress")


def test_crash_inside_a_page_write_keeps_neither_rows_nor_cursor(sandbox, monkeypatch):
    """Safeguard: rows and cursor share one transaction (writer.write_page). Were the
    cursor saved before/after the rows in its own transaction, the crash below (after the
    rows, before the commit) would leave a cursor without rows or rows without cursor."""
    real_write_page = engine.write_page
    armed = {"pages": 0, "crash": False}

    class CrashingSyncState:
        class objects:  # stands in for the manager writer.py uses
            @staticmethod
            def filter(**kwargs):
                if armed["crash"]:
                    raise Crash("killed between the page's rows and its cursor")
                return SyncState.objects.filter(**kwargs)

    def write_page(spec, realm_id, records, **kwargs):
        if spec.name == "Invoice" and kwargs.get("cursor") is not None:
            armed["pages"] += 1
            armed["crash"] = armed["pages"] == 3
            if armed["crash"]:
                armed["rows"] = Invoice.objects.filter(realm_id=REALM).count()
                armed["cursor"] = SyncState.objects.get(
                    realm_id=REALM, object_type="Invoice"
                ).cursor
        return real_write_page(spec, realm_id, records, **kwargs)

    monkeypatch.setattr(engine, "write_page", write_page)
    monkeypatch.setattr(writer, "SyncState", CrashingSyncState)
    # The keyset pager with a per-page cursor (a reconcile holds its cursor to the end).
    state, _ = SyncState.objects.get_or_create(realm_id=REALM, object_type="Invoice")
    with pytest.raises(Crash):
        EntitySync(
            build_client(REALM), ENTITIES["Invoice"], state, page_size=100, settle_seconds=0
        ).run()
    monkeypatch.undo()
    state.refresh_from_db()
    stored = Invoice.objects.filter(realm_id=REALM).count()
    assert armed["rows"] >= 100 and armed["cursor"]
    assert stored == armed["rows"], "the crashed page's rows must roll back with its cursor"
    assert state.cursor == armed["cursor"], "the cursor stays with the last committed page"
    sync()
    comparison = compare_orm(sandbox, REALM, "Invoice")
    assert comparison.ok, comparison.summary()


def test_crash_after_the_last_page_before_delete_reconcile_loses_no_delete(sandbox, monkeypatch):
    """Safeguard: during a reconcile (a full read that infers deletes) the cursor must not
    move past what the delete check covers. Sequence: a synced copy; QBO deletes an
    invoice; later a bulk edit over CDC's cap forces a reconcile; the worker dies after the
    reconcile stored its last page but before it asked QBO about the missing Ids. If the
    pages had already moved the cursor to the end of the window, the next cycle's CDC
    (changes since that cursor) would never report the delete."""
    sync()
    victim = "5"
    sandbox.state.delete(REALM, "Invoice", victim)
    sandbox.state.clock.advance(seconds=5)
    ids = sorted(sandbox.state.truth(REALM, "Invoice")["records"], key=int)
    sandbox.state.bulk_touch(REALM, "Invoice", ids[:1050])  # > CDC's 1,000 cap
    sandbox.state.clock.advance(seconds=5)

    def crash(self):
        raise Crash("killed after the last page, before the delete check")

    monkeypatch.setattr(EntitySync, "_reconcile", crash)
    with pytest.raises(Crash):
        sync()
    monkeypatch.undo()
    with contextlib.suppress(CommandError):  # a failure is reported by the checks below
        sync()
    comparison = compare_orm(sandbox, REALM, "Invoice")
    record_result(
        "crash points (exact)",
        runs=4,
        records=comparison.records,
        lost=len(comparison.lost),
        duplicated=comparison.duplicated,
        ok=comparison.ok,
    )
    assert Invoice.objects.get(qb_id=victim).deleted_at is not None, (
        "the invoice QBO deleted is still live locally"
    )
    assert comparison.ok, comparison.summary()
