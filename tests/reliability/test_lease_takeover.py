"""A killed worker's lease, out of process: the next ``runsync --once`` must not wait it out.

Safeguard (``sync.presence``): every worker holds a proof of life that dies with its
process (PostgreSQL: a session advisory lock; SQLite: a file lock). The leases here last
10 minutes, so only that proof can explain a take-over. Without it, the run right after a
SIGKILL skipped the realm and exited 0 with thousands of records missing.
"""

from __future__ import annotations

import time

import pytest

from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from tests.reliability.harness import (
    ScratchDB,
    bootstrap,
    command_env,
    compare_scratch,
    kill9,
    manage,
    migrate,
    record_result,
    spawn,
)

REALM = DEFAULT_REALM
LONG_LEASE = 600


def _requests(server) -> int:
    return server.state.stats()["api_requests"].get(REALM, {}).get("total", 0)


def _wait(predicate, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def _lease(db: ScratchDB) -> tuple[str, str]:
    return db.query("SELECT lease_owner, lease_liveness FROM quickbooks_sync_company")[0]


@pytest.mark.django_db
def test_a_runsync_started_right_after_a_sigkill_takes_over_and_finishes(tmp_path):
    config = SandboxConfig(
        seed=5, customers=400, invoices=3600, realms=(REALM,), throttle=False, latency=0.02
    )
    with SandboxServer(config) as server, ScratchDB("takeover", tmp_path) as db:
        migrate(db)
        bootstrap(db, server, REALM)
        env = command_env(db, server, QB_MAX_RESULTS=100, SYNC_LEASE_SECONDS=LONG_LEASE)
        victim = spawn("runsync", "--once", "--no-progress", env=env)
        assert _wait(lambda: _requests(server) >= 8), "the first run never got going"
        kill9(victim)
        owner, liveness = _lease(db)
        assert owner and liveness, "the killed worker should still hold its (10 min) lease"

        started = time.monotonic()
        result = manage("runsync", "--once", "--no-progress", env=env)
        took = time.monotonic() - started
        assert result.returncode == 0, result.stdout + result.stderr
        assert "being synced by another worker" not in result.stdout
        comparisons = [compare_scratch(db, server, REALM, e) for e in ("Customer", "Invoice")]
        record_result(
            "lease take-over after SIGKILL",
            runs=2,
            records=sum(c.records for c in comparisons),
            lost=sum(len(c.lost) for c in comparisons),
            duplicated=sum(c.duplicated for c in comparisons),
            ok=all(c.ok for c in comparisons),
        )
        for comparison in comparisons:
            assert comparison.ok, comparison.summary()
        assert took < LONG_LEASE / 2
        assert _lease(db) == ("", "")


@pytest.mark.django_db
def test_a_realm_synced_right_now_by_a_live_worker_is_skipped_with_exit_0(tmp_path):
    config = SandboxConfig(
        seed=6, customers=100, invoices=2000, realms=(REALM,), throttle=False, latency=0.05
    )
    with SandboxServer(config) as server, ScratchDB("live", tmp_path) as db:
        migrate(db)
        bootstrap(db, server, REALM)
        env = command_env(db, server, QB_MAX_RESULTS=50, SYNC_LEASE_SECONDS=LONG_LEASE)
        busy = spawn("runsync", "--once", "--no-progress", env=env)
        try:
            assert _wait(lambda: _requests(server) >= 4 and _lease(db)[0] != "")
            # Hold the busy worker's next requests, so it is surely mid-sync meanwhile.
            server.state.inject_fault("slow", count=8, realm_id=REALM, delay=8.0)
            second = manage("runsync", "--once", "--no-progress", env=env)
            assert second.returncode == 0, second.stdout + second.stderr
            assert "being synced by another worker right now" in second.stdout
            assert "alive" in second.stdout
        finally:
            server.state.clear_faults()
            _out, err = busy.communicate(timeout=300)
        assert busy.returncode == 0, err[-2000:]
        for entity in ("Customer", "Invoice"):
            comparison = compare_scratch(db, server, REALM, entity)
            assert comparison.ok, comparison.summary()
