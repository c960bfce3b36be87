"""Shared fixtures: a Fernet key for every test, the bundled sandbox, token rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

TEST_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database of this run's own on PostgreSQL (``test_<name>_<pid>``), so two
    runs on one server (a developer and CI, or both halves of ``make test`` by hand) never
    drop each other's database. ``DATABASE_TEST_NAME`` still wins when set."""
    import os

    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql") and not (db.get("TEST") or {}).get("NAME"):
        db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _qb_settings(settings):
    """Test-friendly settings: a real encryption key, no settling lag, no long sleeps."""
    settings.QB_TOKEN_ENCRYPTION_KEY = [TEST_KEY]
    settings.QB_CLIENT_ID = "test-client-id"
    settings.QB_CLIENT_SECRET = "test-client-secret-value"
    settings.QB_SETTLE_SECONDS = 0
    settings.QB_RETRY_BACKOFF_SECONDS = 0.0
    settings.QB_THROTTLE_BACKOFF_SECONDS = 0.0
    settings.QB_REQUESTS_PER_MINUTE = 100000
    settings.QB_REPORT_INTERVAL_HOURS = 0  # the worker mirrors no reports unless a test asks
    return settings


@pytest.fixture
def make_token(db):
    from quickbooks_sync.models import Token

    def make(
        realm_id="123145",
        access="access-token-aaaaaaaa",
        refresh="refresh-token-rrrrrrrr",
        expires_in=3600,
    ):
        token = Token(
            realm_id=realm_id,
            access_token_expires_at=timezone.now() + timedelta(seconds=expires_in),
        )
        token.access_token = access
        token.refresh_token = refresh
        token.save()
        return token

    return make


@pytest.fixture(params=["id-numeric", "shuffle-numeric", "shuffle-string"])
def qbo_ordering(request, monkeypatch):
    """Run a test once per plausible QBO ordering (API-NOTES §10: undocumented): ties on
    the ORDERBY key by Id or in a new order on every request, Ids sorted as numbers or as
    strings. Applies to ``FakeQBO`` and, through ``sandbox_ordering``, to the sandbox."""
    from tests.fakeqbo import FakeQBO

    ties, ids = request.param.split("-")
    monkeypatch.setattr(FakeQBO, "default_tie_order", ties)
    monkeypatch.setattr(FakeQBO, "default_id_order", ids)
    return ties, ids


@pytest.fixture
def sandbox_config():
    """Override in a module to shape the sandbox world of its tests."""
    from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig

    return SandboxConfig(seed=7, customers=60, invoices=240, realms=(DEFAULT_REALM,))


@pytest.fixture
def sandbox(settings, sandbox_config, request):
    """The bundled QBO sandbox on a free port, with every QB_* URL pointed at it."""
    from quickbooks_sync.sandbox import SandboxServer

    with SandboxServer(sandbox_config) as server:
        if "qbo_ordering" in request.fixturenames:
            server.state.set_ordering(*request.getfixturevalue("qbo_ordering"))
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_AUTHORIZE_URL = server.authorize_url
        settings.QB_OAUTH_REVOKE_URL = server.revoke_url
        settings.QB_CLIENT_ID = sandbox_config.client_id
        settings.QB_CLIENT_SECRET = sandbox_config.client_secret
        yield server
