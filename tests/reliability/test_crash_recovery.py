"""Crash recovery, end to end and out of process: ``runsync --once`` is SIGKILLed at seeded
random moments (mid-request, at a random instant, right after a page commits), the data
moves between runs, and after a last run the local copy equals the sandbox's truth.

Safeguards this proves (each removal makes it fail):
* the cursor is written in the same transaction as the page's rows (``writer.write_page``):
  a cursor committed ahead of its rows would leave Ids missing after a kill;
* the idempotent upsert on (realm_id, qb_id) that never replaces a newer version
  (``writer.write_page``): without it re-read pages would duplicate or regress rows;
* the inclusive ``>=`` keyset cursor and the reconcile fallback (``engine``/``cdc``):
  rows touched in bulk between runs (one shared second, more than a page) must all arrive,
  with the sandbox returning those ties in a new order on every request (``sync.reader``);
* the dead worker's proof of life (``sync.presence``): each run starts right after the
  kill, with 10-minute leases, and must take the realm over instead of skipping it.
"""

from __future__ import annotations

import random
import time

import pytest

from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.timeutil import parse_qbo_datetime
from tests.reliability.harness import (
    FULL,
    TABLES,
    ScratchDB,
    bootstrap,
    command_env,
    compare_scratch,
    kill9,
    manage,
    migrate,
    record_result,
    seed_for,
    size,
    spawn,
    sync_until_done,
)

REALM = DEFAULT_REALM
MODES = ("mid-request", "random-instant", "after-commit")


def _requests(server) -> int:
    return server.state.stats()["api_requests"].get(REALM, {}).get("total", 0)


def _cursors(db: ScratchDB) -> dict[str, str]:
    return dict(db.query("SELECT object_type, cursor FROM quickbooks_sync_syncstate"))


def _stored(db: ScratchDB) -> int:
    return sum(db.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES.values())


def _wait(predicate, proc, timeout: float) -> bool:
    """Poll until ``predicate()`` or the process ends; True if the predicate won."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if predicate():
            return True
        time.sleep(0.003)
    return False


def _mutate(server, rng: random.Random, scale: int) -> None:
    """Edits, deletes, deactivations and a bulk edit sharing one second between runs."""
    st = server.state
    invoices = sorted(st.truth(REALM, "Invoice")["records"], key=int)
    customers = sorted(st.truth(REALM, "Customer")["records"], key=int)
    for qb_id in rng.sample(invoices, k=max(1, scale // 100)):
        st.update(REALM, "Invoice", qb_id, {"PrivateNote": f"edit {rng.random():.6f}"})
    for qb_id in rng.sample(invoices, k=max(1, scale // 300)):
        st.delete(REALM, "Invoice", qb_id)
    for qb_id in rng.sample(customers, k=max(1, scale // 1000)):
        st.deactivate(REALM, "Customer", qb_id)
    survivors = sorted(st.truth(REALM, "Invoice")["records"], key=int)
    # More rows in one second than a page holds, and more than CDC's 1,000-object cap
    # every other round (so the next run must fall back to a reconcile).
    touched = rng.sample(survivors, k=min(len(survivors), rng.choice((300, 1100))))
    st.bulk_touch(REALM, "Invoice", touched)


@pytest.mark.django_db
def test_sigkill_at_random_moments_then_restart_equals_truth(tmp_path):
    seed = seed_for("crash-recovery")
    rng = random.Random(seed)
    records = size(3000, 20000)
    kills_wanted = size(4, 12)
    page = size(200, 500)
    config = SandboxConfig(
        seed=seed % 1000,
        customers=records // 5,
        invoices=records - records // 5,
        realms=(REALM,),
        throttle=False,
        latency=0.01,
        tie_order="shuffle",
    )
    with SandboxServer(config) as server, ScratchDB("crash", tmp_path) as db:
        migrate(db)
        bootstrap(db, server, REALM)
        env = command_env(db, server, QB_MAX_RESULTS=page, SYNC_LEASE_SECONDS=600)
        pages_per_read = max(2, records // page)
        kills: list[str] = []
        runs = 0
        completed_last = False
        while len(kills) < kills_wanted and runs < kills_wanted * 3:
            if runs:
                _mutate(server, rng, records)
            mode = MODES[runs % len(MODES)]
            # A run that finished before the kill re-reads everything next time, so the
            # kills keep landing inside a backfill-sized read.
            args = ["runsync", "--once", "--no-progress"] + (["--full"] if completed_last else [])
            before_requests, before_rows = _requests(server), _stored(db)
            proc = spawn(*args, env=env)
            runs += 1
            after = rng.randint(1, pages_per_read)
            target = before_requests + after
            reached = _wait(lambda t=target: _requests(server) >= t, proc, 120)
            if reached and mode == "mid-request":
                server.state.inject_fault("slow", count=1, realm_id=REALM, delay=5.0)
                armed_at = _requests(server)
                reached = _wait(lambda a=armed_at: _requests(server) > a, proc, 30)
                time.sleep(0.05)
            elif reached and mode == "random-instant":
                time.sleep(rng.uniform(0, 0.3))
            elif reached and mode == "after-commit":
                reached = _wait(lambda b=before_rows: _stored(db) != b, proc, 60)
            if proc.poll() is None:
                kill9(proc)
                kills.append(mode)
                completed_last = False
                print(f"[reliability] run {runs}: SIGKILL {mode} after {after}+ requests")
            else:
                out, err = proc.communicate()
                assert proc.returncode == 0, err
                assert "being synced by another worker" not in out, out
                completed_last = True
                print(f"[reliability] run {runs}: finished before the {mode} kill")
            server.state.clear_faults()  # and the next run starts at once
        sync_until_done(db, server, QB_MAX_RESULTS=page, SYNC_LEASE_SECONDS=600)
        runs += 1

        comparisons = {e: compare_scratch(db, server, REALM, e) for e in ("Customer", "Invoice")}
        now = server.state.clock.now()
        cursors = _cursors(db)
        verify = manage("verifysync", "--ids", env=env)
        lost = sum(len(c.lost) for c in comparisons.values())
        dups = sum(c.duplicated for c in comparisons.values())
        ok = all(c.ok for c in comparisons.values()) and verify.returncode == 0
        record_result(
            "crash recovery (SIGKILL)" + (" full" if FULL else ""),
            runs=runs,
            records=sum(c.records for c in comparisons.values()),
            lost=lost,
            duplicated=dups,
            ok=ok and len(kills) >= kills_wanted,
            kills=len(kills),
            seed=seed,
        )
        assert len(kills) >= kills_wanted, f"only {len(kills)} kills landed in {runs} runs"
        for entity, comparison in comparisons.items():
            assert comparison.ok, f"{entity} (seed {seed}): {comparison.summary()}"
        for entity, cursor in cursors.items():
            assert parse_qbo_datetime(cursor) <= now, f"{entity} cursor {cursor} is ahead"
        assert verify.returncode == 0, verify.stdout + verify.stderr
