"""Token rotation under concurrency. The sandbox rotates the refresh token on every refresh
and kills the previous one at once (``refresh_grace_seconds=0``), so a refresh token spent
twice answers ``invalid_grant`` and the company would need a human to reconnect it.

Safeguard this proves: ``DatabaseTokenProvider._refresh_locked`` refreshes inside one
transaction that locks the token row (``select_for_update``; SQLite's IMMEDIATE mode),
re-reads it and skips the refresh when another process already did it, and stores the new
pair before use. Without the lock or the re-read, the barrier below makes several
processes spend the same refresh token: the sandbox records ``invalid_grant`` and the
realm is flagged ``needs_reauth``.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.sandbox.oauth import TokenError
from tests.reliability.harness import (
    FULL,
    ROOT,
    ScratchDB,
    bootstrap,
    command_env,
    compare_scratch,
    manage,
    migrate,
    record_result,
    seed_for,
    size,
    spawn,
    sync_until_done,
    vendor,
)

REALM = DEFAULT_REALM


@pytest.fixture
def sandbox():
    config = SandboxConfig(
        seed=5,
        customers=size(100, 1000),
        invoices=size(500, 5000),
        realms=(REALM,),
        throttle=False,
        access_token_ttl=3,
        refresh_grace_seconds=0,
    )
    with SandboxServer(config) as server:
        refused: list[dict] = []
        real_refresh = server.state.tokens.refresh

        def counting_refresh(token, hard_expiry):
            try:
                return real_refresh(token, hard_expiry)
            except TokenError as exc:  # a spent or unknown refresh token
                refused.append(exc.body)
                raise

        server.state.tokens.refresh = counting_refresh
        server.refused = refused
        yield server


def _token_row(db: ScratchDB) -> tuple[bool, str]:
    return db.query("SELECT needs_reauth, reauth_reason FROM quickbooks_sync_token")[0]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["refresh", "access"])
def test_simultaneous_refreshes_spend_the_refresh_token_once(sandbox, tmp_path, mode):
    """N processes released by a barrier refresh the same realm at the same instant:
    exactly one token request per round, all of them end with the same new token."""
    rounds, workers = size(2, 10), size(4, 6)
    with ScratchDB(f"barrier_{mode}", tmp_path) as db:
        migrate(db)
        bootstrap(db, sandbox, REALM)
        env = command_env(db, sandbox, QB_TOKEN_REFRESH_MARGIN_SECONDS=0)
        for round_no in range(rounds):
            if mode == "access":
                time.sleep(3.1)  # every access token (3 s) has expired: all want a new one
            before = sandbox.state.stats()["token_requests"]["refresh_token"]
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "tests.reliability._refresh_worker", REALM, mode],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(workers)
            ]
            # Pipe barrier: release nobody until every worker has read the stale token.
            for proc in procs:
                ready = proc.stdout.readline().strip()
                assert ready == "READY", (ready, proc.stderr.read() if ready == "" else "")
            for proc in procs:
                proc.stdin.write("GO\n")
                proc.stdin.flush()
            outputs = [p.communicate(timeout=120) for p in procs]
            lines = [out.strip() for out, _ in outputs]
            refreshed = sandbox.state.stats()["token_requests"]["refresh_token"] - before
            assert all(line.startswith("OK ") for line in lines), (lines, outputs)
            assert len(set(lines)) == 1, f"round {round_no}: workers ended with different tokens"
            assert refreshed == 1, f"round {round_no}: {refreshed} token requests for one expiry"
        needs_reauth, reason = _token_row(db)
        ok = not sandbox.refused and not needs_reauth
        record_result(
            f"token barrier ({mode})",
            runs=rounds * workers,
            records=0,
            lost=0,
            duplicated=0,
            ok=ok,
            invalid_grant=len(sandbox.refused),
        )
        assert not sandbox.refused, sandbox.refused
        assert not needs_reauth, reason
        # The stored tokens still work: a sync and an Id-by-Id verification succeed.
        sync_until_done(db, sandbox)
        assert manage("verifysync", "--ids", env=env).returncode == 0


@pytest.mark.django_db
def test_concurrent_workers_with_short_lived_tokens_never_spend_a_token_twice(sandbox, tmp_path):
    """Three ``runsync --loop`` workers on one realm, access tokens living 3 s, no refresh
    margin, data changing all along: no invalid_grant, tokens valid at the end, copy equal
    to the truth."""
    if vendor() != "postgresql":
        pytest.skip("several workers on one database is a PostgreSQL setup (SKIP LOCKED)")
    seed = seed_for("token-workers")
    rng = random.Random(seed)
    duration = size(10, 60)
    sandbox.state.set_latency(0.01)
    with ScratchDB("workers", tmp_path) as db:
        migrate(db)
        bootstrap(db, sandbox, REALM)
        env = command_env(
            db,
            sandbox,
            QB_TOKEN_REFRESH_MARGIN_SECONDS=0,
            QB_MAX_RESULTS=100,
            SYNC_INTERVAL_MINUTES=0.01,
            SYNC_POLL_SECONDS=0.1,
            SYNC_LEASE_SECONDS=1,
        )
        stop = threading.Event()

        def mutate() -> None:
            st = sandbox.state
            while not stop.wait(0.05):
                ids = list(st.truth(REALM, "Invoice")["records"])
                st.update(REALM, "Invoice", rng.choice(ids), {"PrivateNote": str(rng.random())})
                if rng.random() < 0.1:
                    st.delete(REALM, "Invoice", rng.choice(ids))

        mutator = threading.Thread(target=mutate, daemon=True)
        mutator.start()
        workers = [spawn("runsync", "--loop", "--no-progress", env=env) for _ in range(3)]
        time.sleep(duration)
        stop.set()
        mutator.join()
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=60) for proc in workers]
        refreshes = sandbox.state.stats()["token_requests"]["refresh_token"]
        sync_until_done(db, sandbox)
        comparisons = [compare_scratch(db, sandbox, REALM, e) for e in ("Customer", "Invoice")]
        verify = manage("verifysync", "--ids", env=env)
        needs_reauth, reason = _token_row(db)
        ok = (
            not sandbox.refused
            and not needs_reauth
            and verify.returncode == 0
            and all(c.ok for c in comparisons)
        )
        record_result(
            "token rotation, 3 workers" + (" full" if FULL else ""),
            runs=3,
            records=sum(c.records for c in comparisons),
            lost=sum(len(c.lost) for c in comparisons),
            duplicated=sum(c.duplicated for c in comparisons),
            ok=ok,
            refreshes=refreshes,
            invalid_grant=len(sandbox.refused),
        )
        logs = "\n".join(out + err for out, err in outputs)
        assert refreshes >= duration // 4, f"only {refreshes} refreshes: tokens did not expire"
        assert not sandbox.refused, sandbox.refused
        assert "invalid_grant" not in logs and "re-authorisation" not in logs
        assert not needs_reauth, reason
        for comparison in comparisons:
            assert comparison.ok, comparison.summary()
        assert verify.returncode == 0, verify.stdout + verify.stderr
