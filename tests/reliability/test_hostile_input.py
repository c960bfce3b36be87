"""Hostile input: bad configuration and malformed QBO payloads.

Configuration (tests/test_config.py covers QB_MAX_RESULTS, SYNC_INTERVAL_MINUTES,
QB_ENVIRONMENT, a bad DATABASE_URL scheme, QB_API_BASE_URL, LOG_LEVEL, a bad Fernet key
and an API without tokens; these are the rest): every error ends with one clear line and a
non-zero exit, a traceback only with LOG_LEVEL=debug. Safeguards: ``qbproject.envconf``
validation and the one-line handlers in ``manage.py``.

Payloads (served by the sandbox over HTTP, injected into its rows): missing Id, Ids too
long, unparsable timestamps, wrong types, huge strings, unicode, NUL characters, deep
nesting. Each bad record is skipped with its Id and reason logged and counted; the rest
of the page syncs; nothing crashes. Safeguard: ``writer.prepare_record`` validation and
``registry`` converters raising ``MalformedRecord`` per record.
"""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from quickbooks_sync.models import Invoice, SyncState
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from tests.reliability.harness import (
    ScratchDB,
    bootstrap,
    command_env,
    compare_orm,
    manage,
    migrate,
    record_result,
)
from tests.test_config import manage as manage_clean

REALM = DEFAULT_REALM


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expect"),
    [
        ("QB_MAX_RETRIES", "-1", "from 0 to 20"),
        ("QB_READ_TIMEOUT", "0", "QB_READ_TIMEOUT"),
        ("QB_CONNECT_TIMEOUT", "nan", "QB_CONNECT_TIMEOUT"),
        ("SYNC_LEASE_SECONDS", "0", "SYNC_LEASE_SECONDS"),
        ("QB_TOKEN_REFRESH_MARGIN_SECONDS", "99999", "from 0 to 3000"),
        ("QB_MINOR_VERSION", "12", "QB_MINOR_VERSION"),
        ("DJANGO_DEBUG", "maybe", "true or false"),
        ("QB_OAUTH_TOKEN_URL", "localhost:8000/token", "http:// or https://"),
        ("DATABASE_URL", "postgres://u:hunter2@db:notaport/x", "could not parse"),
        ("QB_TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode() + ",oops", "key #2"),
    ],
)
def test_more_invalid_settings_give_one_line_and_exit_4(name, value, expect):
    result = manage_clean("runsync", "--once", **{name: value})
    assert result.returncode == 4, result.stderr  # exitcodes.CONFIGURATION
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and expect in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_log_level_debug_keeps_the_traceback():
    result = manage_clean("check", QB_MAX_RETRIES="-1", LOG_LEVEL="debug")
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.parametrize(
    "url", ["postgres://postgres@127.0.0.1:1/nope", "sqlite:////nonexistent/dir/x.db"]
)
def test_unreachable_database_is_one_clear_line(url):
    """Safeguard: manage.py turns OperationalError into one line (added by this suite)."""
    result = manage_clean("runsync", "--once", DATABASE_URL=url)
    assert result.returncode == 3, result.stderr  # exitcodes.DATABASE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Database error:"), result.stderr
    assert "DATABASE_URL" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.django_db
def test_unreachable_api_with_stored_tokens_fails_clearly(tmp_path):
    with (
        SandboxServer(SandboxConfig(customers=3, invoices=3)) as server,
        ScratchDB("noapi", tmp_path) as db,
    ):
        migrate(db)
        bootstrap(db, server, REALM)
        env = command_env(db, server, QB_API_BASE_URL="http://127.0.0.1:9", QB_MAX_RETRIES=5)
        result = manage("runsync", "--once", "--no-progress", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "nothing accepts connections at http://127.0.0.1:9" in result.stderr
    assert "check QB_API_BASE_URL" in result.stderr


# --- malformed payloads ------------------------------------------------------------------------


def nested(depth: int) -> dict:
    value: dict = {"leaf": "x"}
    for _ in range(depth):
        value = {"n": value}
    return value


BAD = {  # Id -> (mutation, reason fragment logged)
    "3": (lambda o: o.pop("Id"), "missing Id"),
    "4": (lambda o: o["MetaData"].update(LastUpdatedTime="yesterday at noon"), "LastUpdatedTime"),
    "5": (lambda o: o.update(MetaData="2026-01-01"), "MetaData"),
    "6": (lambda o: o.update(SyncToken=[1]), "SyncToken"),
    "7": (lambda o: o.update(TotalAmt="lots"), "TotalAmt"),
    "8": (lambda o: o.update(CustomerRef="12"), "CustomerRef"),
    "9": (lambda o: o.update(Id="9" * 80), "Id longer"),
    "10": (lambda o: o.update(DocNumber={"a": 1}), "DocNumber"),
}
ODD_BUT_VALID = {
    "11": lambda o: o.update(PrivateNote="x" * 1_000_000),  # a 1 MB string
    "12": lambda o: o.update(PrivateNote="Ünïcødé ✓ 😀 \u202e ﷺ 漢字", DocNumber="№-😀"),
    "13": lambda o: o.update(CustomField=[nested(100)]),  # deep nesting
    "14": lambda o: o.update(Unknown={"fields": [1, "two", None, True]}),
}


def inject_raw(server: SandboxServer, entity: str, qb_id: str, mutate) -> None:
    """Replace a stored record's JSON text in place (its index position stays), so the
    sandbox serves exactly the broken object over HTTP."""
    with server.state.lock:
        row = server.state.table(REALM, entity).get(int(qb_id))
        obj = row.obj()
        mutate(obj)
        row.json = json.dumps(obj, ensure_ascii=False)


@pytest.mark.django_db(transaction=True)
def test_malformed_records_are_skipped_one_by_one_and_the_rest_syncs(settings, caplog):
    config = SandboxConfig(seed=8, customers=10, invoices=40, realms=(REALM,), throttle=False)
    with SandboxServer(config) as server:
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID = config.client_id
        settings.QB_CLIENT_SECRET = config.client_secret
        settings.SYNC_LEASE_SECONDS = 3600  # no heartbeat thread writes (in-memory SQLite)
        settings.QB_MAX_RESULTS = 10
        for qb_id, (mutate, _) in BAD.items():
            inject_raw(server, "Invoice", qb_id, mutate)
        for qb_id, mutate in ODD_BUT_VALID.items():
            inject_raw(server, "Invoice", qb_id, mutate)
        code = server.state.issue_authorization_code(REALM)
        call_command("bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://x/cb")
        with caplog.at_level(logging.WARNING, logger="quickbooks_sync.sync"):
            call_command("runsync", "--once", "--no-progress")  # no exception: exit 0
            call_command("runsync", "--once", "--no-progress")  # and again, incrementally
        comparison = compare_orm(server, REALM, "Invoice")

    skipped_ids = set(BAD)
    stored = set(Invoice.objects.values_list("qb_id", flat=True))
    record_result(
        "hostile payloads",
        runs=2,
        records=comparison.records,
        lost=len(set(comparison.lost) - skipped_ids),
        duplicated=comparison.duplicated,
        ok=set(comparison.lost) == skipped_ids and not comparison.extra,
        skipped=len(skipped_ids),
    )
    assert set(comparison.lost) == skipped_ids, comparison.summary()
    assert not comparison.extra and not comparison.stale and not comparison.duplicated
    assert set(ODD_BUT_VALID) <= stored
    assert len(Invoice.objects.get(qb_id="11").raw_data["PrivateNote"]) == 1_000_000
    assert Invoice.objects.get(qb_id="12").doc_number == "№-😀"
    state = SyncState.objects.get(realm_id=REALM, object_type="Invoice")
    assert state.records_skipped >= len(BAD)
    warnings = [r.getMessage() for r in caplog.records if "skipped Invoice" in r.getMessage()]
    for qb_id, (_, reason) in BAD.items():
        if qb_id in ("3",):  # no Id to name
            assert any("Id=-" in w and reason in w for w in warnings), warnings
        elif qb_id != "9":
            assert any(f"Id='{qb_id}'" in w and reason in w for w in warnings), (qb_id, warnings)
    assert any("Id longer" in w for w in warnings)
    assert not any("x" * 200 in w for w in warnings), "a reason never quotes the payload"


@pytest.mark.django_db(transaction=True)
def test_a_nul_character_does_not_stop_the_other_records(settings):
    """Valid JSON that a database chokes on: PostgreSQL's jsonb refuses ``\\u0000``. The
    record is skipped as malformed (on every database, for one behaviour), every other one
    is stored. Safeguard: the NUL check in ``writer.prepare_record``."""
    config = SandboxConfig(seed=9, customers=5, invoices=30, realms=(REALM,), throttle=False)
    with SandboxServer(config) as server:
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID = config.client_id
        settings.QB_CLIENT_SECRET = config.client_secret
        settings.SYNC_LEASE_SECONDS = 3600  # no heartbeat thread writes (in-memory SQLite)
        settings.QB_MAX_RESULTS = 10
        inject_raw(server, "Invoice", "4", lambda o: o.update(PrivateNote="nul\u0000byte"))
        code = server.state.issue_authorization_code(REALM)
        call_command("bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://x/cb")
        call_command("runsync", "--once", "--no-progress")
        comparison = compare_orm(server, REALM, "Invoice")
    assert set(comparison.lost) == {"4"}, comparison.summary()
    assert not comparison.duplicated and not comparison.extra
    assert SyncState.objects.get(realm_id=REALM, object_type="Invoice").status == "success"
