"""``syncstatus`` exit codes, ``/healthz`` and the health selectors they share."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from quickbooks_sync import selectors, services
from quickbooks_sync.display import format_age, format_delta
from quickbooks_sync.models import Company, Customer, SyncState, Token
from quickbooks_sync.registry import ENTITIES

pytestmark = pytest.mark.django_db

REALM = "4620816365"


def synced(realm=REALM, *, minutes_ago=1.0, status="success", error=""):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    for entity in ENTITIES:
        SyncState.objects.update_or_create(
            realm_id=realm,
            object_type=entity,
            defaults={
                "status": status,
                "cursor": "2026-01-01T00:00:00+00:00",
                "last_sync_attempt": when,
                "last_sync_success": when,
                "error_message": error,
            },
        )


def run_status(*args) -> tuple[int, str, str]:
    """Run the command like a monitor would: (exit code, stdout, error message)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("syncstatus", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def test_healthy_exits_0_with_a_table_per_realm_and_entity(make_token):
    make_token(realm_id=REALM)
    synced()
    Customer.objects.create(
        realm_id=REALM, qb_id="1", sync_token="0", qb_updated_at=timezone.now(), raw_data={}
    )
    code, out, _ = run_status()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["realm", "entity", "health", "status"]
    customer_line = next(line for line in lines if "Customer" in line)
    assert REALM in customer_line and "healthy" in customer_line and "1 min ago" in customer_line
    assert customer_line.split()[-2] == "1"  # live records, then the empty error "-"
    assert "Overall: HEALTHY" in out


def test_stale_exits_2_with_default_and_explicit_threshold(make_token, settings):
    settings.SYNC_INTERVAL_MINUTES = 5
    make_token(realm_id=REALM)
    synced(minutes_ago=20)  # default threshold: 3 x 5 = 15 minutes
    code, _, message = run_status()
    assert code == 2
    assert f"realm {REALM} Customer: last success" in message
    assert run_status("--stale-after", "30")[0] == 0
    assert run_status("--stale-after", "10")[0] == 2


def test_never_synced_realm_and_no_realm_at_all_are_stale(make_token):
    assert run_status()[0] == 2  # nothing connected yet
    make_token(realm_id=REALM)
    code, out, message = run_status()
    assert code == 2
    assert "never" in out and "never synced" in message


def test_failure_exits_1_and_beats_stale(make_token):
    make_token(realm_id=REALM)
    synced(minutes_ago=600)
    SyncState.objects.filter(object_type="Invoice").update(
        status="failure", error_message="QBO rejected the request: code 3100\ntraceback…"
    )
    code, out, message = run_status()
    assert code == 1
    assert "Invoice: failed: QBO rejected the request: code 3100" in message
    assert "failing" in out


def test_needs_reauth_exits_1_even_when_the_last_run_succeeded(make_token):
    token = make_token(realm_id=REALM)
    synced()
    Token.objects.filter(pk=token.pk).update(needs_reauth=True)
    code, out, message = run_status()
    assert code == 1
    assert "needs re-authorisation" in message and "(needs reauth)" in out


def test_company_needing_reauth_and_disconnected_companies(make_token):
    synced()
    Company.objects.create(realm_id=REALM, status=Company.Status.NEEDS_REAUTH)
    assert run_status()[0] == 1
    Company.objects.filter(realm_id=REALM).update(status=Company.Status.DISCONNECTED)
    assert run_status()[0] == 2  # nobody monitors a disconnected realm: nothing left


def test_json_output_is_machine_readable(make_token):
    make_token(realm_id=REALM)
    synced(minutes_ago=2)
    code, out, _ = run_status("--json")
    document = json.loads(out)
    assert code == document["exit_code"] == 0
    assert document["status"] == "healthy"
    assert {row["entity"] for row in document["rows"]} == set(ENTITIES)
    row = document["rows"][0]
    assert row["realm_id"] == REALM and 100 < row["age_seconds"] < 140
    assert row["last_success"].endswith("+00:00")


def test_stale_after_must_be_positive():
    with pytest.raises(CommandError, match="positive"):
        call_command("syncstatus", "--stale-after", "0")


def test_help_documents_the_exit_codes():
    from quickbooks_sync.management.commands.syncstatus import Command

    assert "0 healthy; 1 failing" in Command.help and "2 stale" in Command.help
    assert "3 database unreachable or not migrated" in Command.help
    assert "4 configuration error" in Command.help


@pytest.mark.parametrize(
    ("args", "env", "code", "says"),
    [
        ((), {"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nope"}, 3, "Database error"),
        ((), {"QB_MAX_RESULTS": "5000"}, 4, "QB_MAX_RESULTS"),
        (("--stale-after", "abc"), {}, 4, "--stale-after"),
        (("--stale-after", "0"), {}, 4, "positive"),
    ],
)
def test_exit_codes_of_syncstatus_never_collide(tmp_path, args, env, code, says):
    """Before: an unreachable database exited 1 (= failing) and a bad setting 2 (= stale)."""
    from tests import commands

    db = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    migrated = commands.manage("migrate", "-v", "0", env=commands.isolated_env(**db))
    assert migrated.returncode == 0, migrated.stderr
    env = {**db, **env}
    result = commands.manage("syncstatus", *args, env=commands.isolated_env(**env))
    assert result.returncode == code, (result.stdout, result.stderr)
    assert says in result.stderr and "Traceback" not in result.stderr


# --- /healthz -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_health_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def monitor(client, django_user_model):
    """A user allowed the details: view_syncstate."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("monitor", password="pw-monitor-123")
    user.user_permissions.add(Permission.objects.get(codename="view_syncstate"))
    client.force_login(user)
    return client


def test_healthz_keeps_its_keys_and_reports_status(monitor, make_token):
    client = monitor
    make_token(realm_id=REALM)
    synced(minutes_ago=1)
    body = client.get("/healthz").json()
    assert body["database"] == "ok" and body["status"] == "healthy"
    assert 50 < body["last_success_age_seconds"] < 70
    assert body["failing_syncs"] == 0 and body["realms"] == 1


def test_healthz_answers_200_when_failing_or_stale(monitor, make_token):
    """Restarting the web process cures neither: the body says it, the status stays 200."""
    from django.core.cache import cache

    client = monitor
    make_token(realm_id=REALM)
    synced(minutes_ago=600)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "stale"
    SyncState.objects.filter(object_type="Invoice").update(status="failure", error_message="x")
    cache.clear()  # the verdict is cached for HEALTH_CACHE_SECONDS
    body = client.get("/healthz").json()
    assert body["status"] == "failing" and body["failing_syncs"] == 1
    assert REALM not in json.dumps(body), "the public endpoint names no realm"


def test_healthz_is_503_when_the_database_is_unreachable(client, monkeypatch):
    def broken(*args, **kwargs):
        raise connection.OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_healthz_tells_anonymous_callers_the_status_only(client, make_token):
    make_token(realm_id=REALM)
    synced(minutes_ago=1)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "healthy"}


def test_healthz_staff_without_view_syncstate_gets_the_status_only(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(user)
    assert set(client.get("/healthz").json()) == {"status"}


def test_healthz_is_cheap_when_polled(client, make_token, django_assert_num_queries):
    make_token(realm_id=REALM)
    synced(minutes_ago=1)
    client.get("/healthz")
    with django_assert_num_queries(20):  # SELECT 1 each; the verdict comes from the cache
        for _ in range(20):
            assert client.get("/healthz").json()["status"] == "healthy"


# --- selectors and services ---------------------------------------------------------------------


def test_company_mark_due_creates_or_updates_the_company():
    before = timezone.now()
    company = services.company_mark_due(realm_id=REALM)
    assert company.next_sync_due_at >= before
    Company.objects.filter(pk=company.pk).update(next_sync_due_at=None, name="Acme")
    again = services.company_mark_due(realm_id=REALM)
    assert again.pk == company.pk and again.name == "Acme" and again.next_sync_due_at >= before


DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("hard_in", "refresh_in", "reauth", "level", "text"),
    [
        (1800 * DAY, 99 * DAY, False, "ok", "refresh token expires in 99 days"),
        (3 * DAY, 99 * DAY, False, "warning", "reconnect required in 3 days"),
        (None, -2 * DAY, False, "error", "refresh token expired 2 days ago: run bootstrap_tokens"),
        (None, 50 * DAY, True, "error", "needs re-authorisation: refused"),
    ],
)
def test_token_health(make_token, hard_in, refresh_in, reauth, level, text):
    now = timezone.now()
    token = make_token(realm_id=REALM)
    token.refresh_token_expires_at = now + refresh_in
    token.refresh_token_hard_expires_at = now + hard_in if hard_in else None
    token.needs_reauth, token.reauth_reason = reauth, "refused"
    assert selectors.token_health(token=token, now=now) == (level, text)


def test_format_delta_and_age():
    assert format_delta(timedelta(seconds=42)) == "42 s"
    assert format_delta(timedelta(minutes=5, seconds=3)) == "5 min"
    assert format_delta(timedelta(hours=2, minutes=5)) == "2 h 5 min"
    assert format_delta(timedelta(hours=2)) == "2 h"
    assert format_delta(timedelta(days=1, hours=3)) == "1 day"
    assert format_delta(timedelta(days=40)) == "40 days"
    assert format_age(None) == "never" and format_age(90) == "1 min ago"


def test_status_covers_only_the_entities_qb_entities_selects(make_token, settings):
    settings.QB_ENTITIES = ("customer", "Invoice")
    make_token(realm_id=REALM)
    synced()
    SyncState.objects.filter(object_type="Vendor").delete()  # not selected: not monitored
    code, out, _ = run_status("--json")
    assert code == 0
    assert {row["entity"] for row in json.loads(out)["rows"]} == {"Customer", "Invoice"}
