"""With DJANGO_DEBUG=true, error pages must still hide every secret (qbproject/debug.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.test import Client

from qbproject.debug import mask_query, mask_url_credentials
from quickbooks_sync import logging as qlogging
from quickbooks_sync.models import Company
from quickbooks_sync.sandbox import SandboxConfig

pytestmark = pytest.mark.django_db(transaction=True)

DB_PASSWORD = "hunter2-db-password"


@pytest.fixture
def sandbox_config():
    return SandboxConfig(seed=3, customers=2, invoices=2)


def test_debug_500_page_in_the_callback_shows_no_secret(admin_user, sandbox, settings, monkeypatch):
    settings.DEBUG = True
    settings.QB_WEBHOOK_VERIFIER_TOKEN = "debug-page-verifier-token"
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    location = client.get("/quickbooks/connect/")["Location"]
    answer = requests.get(location, allow_redirects=False, timeout=10)
    back = urlparse(answer.headers["Location"])
    code = parse_qs(back.query)["code"][0]

    def broken(**kwargs):
        raise RuntimeError("database went away while storing the company")

    # An unexpected failure after the exchange: tokens and the code are in frame locals.
    monkeypatch.setattr(Company.objects, "update_or_create", broken)
    response = client.get(
        f"{back.path}?{back.query}",
        DATABASE_URL=f"postgres://qbo:{DB_PASSWORD}@db.internal:5432/qbo",
        QB_AUTHORIZATION_CODE="playground-code-value-123",
    )
    assert response.status_code == 500
    page = response.content.decode()
    assert "RuntimeError" in page and "database went away" in page  # it is the debug page
    leaks = {"authorization code": code, "database password": DB_PASSWORD}
    leaks["QB_AUTHORIZATION_CODE"] = "playground-code-value-123"
    with qlogging._lock:
        leaks.update({f"registered secret #{i}": s for i, s in enumerate(qlogging._secrets)})
    found = [name for name, value in leaks.items() if value in page]
    assert not found, f"the debug page shows: {found}"
    assert "access_token" not in page or "********" in page


def test_masking_helpers():
    assert mask_url_credentials("postgres://u:pw@h/db") == "postgres://u:********************@h/db"
    assert mask_url_credentials("sqlite:///x.db") == "sqlite:///x.db"
    assert (
        mask_query("code=abc&state=def&realmId=1")
        == "code=%2A%2A%2A%2A%2A%2A%2A%2A&state=%2A%2A%2A%2A%2A%2A%2A%2A&realmId=1"
    )


@pytest.mark.parametrize("field", ["expires_in", "x_refresh_token_expires_in"])
def test_an_overflowing_lifetime_is_a_clear_error_not_an_overflow(field):
    from quickbooks_sync.qbo.errors import TransportError
    from quickbooks_sync.qbo.oauth import OAuthClient

    body = {"access_token": "a" * 20, "refresh_token": "r" * 20, field: 10**20}
    with pytest.raises(TransportError, match="lifetime"):
        OAuthClient._token_set(body, None)
