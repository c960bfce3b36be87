"""Many realms, many workers: leases, fairness, back-off, take-over, webhooks to sync."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from quickbooks_sync.models import Company, Invoice, SyncState
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sync.scheduler import (
    companies_mark_due,
    company_claim,
    company_release,
)
from tests import commands

on_postgres = pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="multi-worker claiming is a PostgreSQL feature (SQLite: one worker)",
)


def make(realm_id, due_in=0, **extra):
    return Company.objects.create(
        realm_id=realm_id, next_sync_due_at=timezone.now() + timedelta(seconds=due_in), **extra
    )


@pytest.mark.django_db
def test_claims_follow_due_time_and_skip_leased_and_undue_realms():
    make("late", due_in=-10)
    make("later", due_in=-5)
    make("future", due_in=3600)
    make("gone", due_in=-100, status=Company.Status.DISCONNECTED)
    first = company_claim(worker_id="w1")
    second = company_claim(worker_id="w2")
    assert (first.realm_id, second.realm_id) == ("late", "later")
    assert company_claim(worker_id="w3") is None
    assert Company.objects.get(realm_id="late").lease_owner == "w1"


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over(settings):
    settings.SYNC_LEASE_SECONDS = 60
    make("r1", due_in=-1)
    assert company_claim(worker_id="dead").realm_id == "r1"
    assert company_claim(worker_id="alive") is None
    Company.objects.filter(realm_id="r1").update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert company_claim(worker_id="alive").lease_owner == "alive"


@pytest.mark.django_db
def test_release_schedules_the_next_sync_and_backs_off_failures(settings):
    settings.SYNC_INTERVAL_MINUTES = 5
    settings.SYNC_MAX_BACKOFF_MINUTES = 30
    company = make("r1", due_in=-1)
    delays = []
    for ok in (False, False, False, False, False, True):
        claimed = company_claim(worker_id="w", realm_id="r1", due_only=False)
        company_release(company_id=company.pk, worker_id="w", ok=ok, error="boom")
        company.refresh_from_db()
        delays.append(round((company.next_sync_due_at - timezone.now()).total_seconds() / 60))
        assert claimed is not None and company.lease_owner == ""
    assert delays == [5, 10, 20, 30, 30, 5]  # doubling, capped, reset by a success
    assert company.consecutive_failures == 0 and company.last_error == ""


@pytest.mark.django_db
def test_a_webhook_during_a_sync_keeps_the_realm_due():
    company = make("r1", due_in=-1)
    company_claim(worker_id="w")
    time.sleep(0.01)
    companies_mark_due(realm_ids=["r1"])  # a change arrived while we were syncing
    company_release(company_id=company.pk, worker_id="w", ok=True)
    company.refresh_from_db()
    assert company.next_sync_due_at <= timezone.now()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_share_a_realm():
    for i in range(20):
        make(f"r{i:02d}", due_in=-i)
    claims: list[str] = []
    barrier = threading.Barrier(8)

    def worker(n):
        barrier.wait()
        try:
            while (company := company_claim(worker_id=f"w{n}")) is not None:
                claims.append(company.realm_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [f"r{i:02d}" for i in range(20)]


# --- end to end -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_webhook_gets_a_change_synced_by_the_next_worker_poll(live_server, settings):
    from django.core.management import call_command

    from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
    from quickbooks_sync.sync.runner import run_worker

    settings.QB_WEBHOOK_VERIFIER_TOKEN = "verifier-for-this-test"
    settings.SYNC_POLL_SECONDS = 0.1
    settings.SYNC_INTERVAL_MINUTES = 600  # nothing is due unless a webhook says so
    config = SandboxConfig(seed=5, customers=5, invoices=20)
    with SandboxServer(config) as server:
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID, settings.QB_CLIENT_SECRET = config.client_id, config.client_secret
        code = server.state.issue_authorization_code(DEFAULT_REALM)
        call_command("bootstrap_tokens", code=code, realm_id=DEFAULT_REALM)
        call_command("runsync", "--once", "--no-progress")
        server.state.webhooks.configure(
            f"{live_server.url}/quickbooks/webhooks/", "verifier-for-this-test", delay=0.05
        )
        stop = threading.Event()

        def work():
            try:
                run_worker(stop=stop)
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        thread.start()
        try:
            server.state.clock.advance(seconds=5)
            server.state.delete(DEFAULT_REALM, "Invoice", "4")
            started = time.monotonic()
            while time.monotonic() - started < 15:
                if Invoice.objects.filter(qb_id="4", deleted_at__isnull=False).exists():
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            thread.join(timeout=30)
        assert Invoice.objects.get(qb_id="4").deleted_at is not None
        assert elapsed < 10
        assert server.state.webhooks.sent >= 1


def _worker(env: dict, name: str, log_dir: Path) -> subprocess.Popen:
    log = (log_dir / f"{name}.log").open("w")
    return commands.spawn(
        "runsync", "--loop", "--no-progress", env=env, stdout=subprocess.DEVNULL, stderr=log
    )


def _lease_intervals(log_dir: Path, killed: dict[str, float]) -> dict[str, list]:
    """realm -> [(start, end, worker)] from the workers' JSON logs."""
    intervals: dict[str, list] = {}
    for path in log_dir.glob("*.log"):
        open_claims: dict[str, float] = {}
        for line in path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            when = timezone.datetime.fromisoformat(event["time"]).timestamp()
            if event.get("event") == "claim":
                open_claims[event["realm_id"]] = when
            elif event.get("event") == "release" and event["realm_id"] in open_claims:
                start = open_claims.pop(event["realm_id"])
                intervals.setdefault(event["realm_id"], []).append((start, when, path.stem))
        for realm_id, start in open_claims.items():  # a killed worker never released
            intervals.setdefault(realm_id, []).append((start, killed[path.stem], path.stem))
    return intervals


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_three_workers_fifty_realms_kill_one_and_the_others_finish(tmp_path, settings):
    from quickbooks_sync.sandbox import SandboxConfig, SandboxServer
    from quickbooks_sync.tokens import token_bootstrap

    realms = tuple(str(9130350000000100 + i) for i in range(50))
    config = SandboxConfig(seed=9, customers=4, invoices=30, realms=realms, latency=0.01)
    with SandboxServer(config) as server:
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID, settings.QB_CLIENT_SECRET = config.client_id, config.client_secret
        for realm_id in realms:
            token_bootstrap(
                realm_id=realm_id,
                code=server.state.issue_authorization_code(realm_id),
                redirect_uri="http://localhost/cb",
            )
        db = connection.settings_dict
        env = commands.isolated_env(
            drop=("QB_",),
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            **commands.sandbox_env(server),
            QB_TOKEN_ENCRYPTION_KEY=",".join(settings.QB_TOKEN_ENCRYPTION_KEY),
            QB_MAX_RESULTS="10",
            QB_SETTLE_SECONDS="0",
            SYNC_INTERVAL_MINUTES="600",
            SYNC_POLL_SECONDS="0.1",
            SYNC_LEASE_SECONDS="2",
            LOG_FORMAT="json",
            LOG_LEVEL="info",
        )
        workers = {f"w{i}": _worker(env, f"w{i}", tmp_path) for i in range(3)}
        killed: dict[str, float] = {}
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                done = Company.objects.filter(last_sync_finished_at__isnull=False).count()
                if not killed and done >= 5:
                    workers["w0"].send_signal(signal.SIGKILL)  # mid-run, lease held or not
                    killed["w0"] = time.time()
                if done == len(realms) and not Company.objects.exclude(lease_owner="").exists():
                    break
                time.sleep(0.2)
        finally:
            for name, process in workers.items():
                if name not in killed:
                    process.send_signal(signal.SIGTERM)
            for process in workers.values():
                process.wait(timeout=60)
        assert all(p.returncode == 0 for n, p in workers.items() if n not in killed)
        ok = SyncState.objects.filter(status="success").count()
        assert ok == len(ENTITIES) * len(realms), f"{ok} of {len(ENTITIES) * len(realms)} syncs"
        for realm_id in realms:
            truth = server.state.records(realm_id, "Invoice")
            assert Invoice.objects.live().filter(realm_id=realm_id).count() == len(truth)
        intervals = _lease_intervals(tmp_path, killed)
        assert set(intervals) == set(realms)
        for realm_id, spans in intervals.items():
            spans.sort()
            for (_, end, _), (start, _, _) in itertools.pairwise(spans):
                assert start >= end, f"realm {realm_id} synced by two workers at once: {spans}"
        used = {w for spans in intervals.values() for *_, w in spans}
        assert used == {"w0", "w1", "w2"}


def test_loop_worker_stops_cleanly_on_sigterm(tmp_path):
    """`runsync --loop` finishes or rolls back the page in hand and exits 0 on SIGTERM."""
    from cryptography.fernet import Fernet

    from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer

    config = SandboxConfig(seed=4, customers=50, invoices=3000, latency=0.02)
    with SandboxServer(config) as server:
        env = commands.isolated_env(
            drop=("QB_", "DATABASE"),
            DATABASE_URL=f"sqlite:///{tmp_path / 'loop.db'}",
            **commands.sandbox_env(server),
            QB_TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            QB_MAX_RESULTS="100",
            SYNC_POLL_SECONDS="0.1",
        )

        def manage(*args):
            return commands.manage(*args, env=env, check=True)

        manage("migrate", "-v", "0")
        manage(
            "bootstrap_tokens",
            "--code",
            server.state.issue_authorization_code(DEFAULT_REALM),
            "--realm-id",
            DEFAULT_REALM,
        )
        worker = commands.spawn("runsync", "--loop", "--no-progress", env=env)
        time.sleep(2.5)  # mid-backfill
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err[-2000:]
        assert "Worker stopped." in out
        assert "Traceback" not in err
        verify = commands.manage("runsync", "--once", "--no-progress", env=env, timeout=120)
        assert verify.returncode == 0, verify.stderr[-2000:]
        check = manage("verifysync", "--ids")
        assert check.stdout.count("OK") == len(ENTITIES)


@pytest.mark.django_db(transaction=True)
def test_a_dead_holders_lease_is_taken_over_at_once_a_live_ones_is_not(settings):
    """Proof of life (``sync.presence``), in process: closing a presence is what a
    process death does to its connection or file lock."""
    from quickbooks_sync.sync.presence import Presence
    from quickbooks_sync.sync.scheduler import lease_holder

    settings.SYNC_LEASE_SECONDS = 600
    make("r1")
    first = Presence("first").start()
    second = Presence("second").start()
    try:
        assert first.liveness and second.liveness
        assert company_claim(worker_id="first", presence=first).realm_id == "r1"
        assert company_claim(worker_id="second", presence=second) is None
        assert lease_holder("r1") == ("first", True)
        first.close()  # the first worker dies with its lease 10 minutes from expiry
        assert lease_holder("r1") == ("first", False)
        taken = company_claim(worker_id="second", presence=second)
        assert taken is not None and taken.lease_owner == "second"
        assert Company.objects.get(realm_id="r1").lease_liveness == second.liveness
    finally:
        first.close()
        second.close()


@pytest.mark.django_db(transaction=True)
def test_runsync_once_fails_when_a_lease_holder_cannot_be_proven_alive(settings, make_token):
    """Skipping is success only when a live worker is syncing the realm right now."""
    from django.core.management import CommandError, call_command

    settings.SYNC_LEASE_SECONDS = 600
    make_token(realm_id="r1")
    make(
        "r1", lease_owner="elsewhere:1:abc", lease_expires_at=timezone.now() + timedelta(minutes=9)
    )
    with pytest.raises(CommandError, match="cannot be proven alive"):
        call_command("runsync", "--once", "--no-progress")
    assert Company.objects.get(realm_id="r1").lease_owner == "elsewhere:1:abc"
