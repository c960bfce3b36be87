"""Connecting a company from the browser, against the sandbox's authorize/revoke endpoints."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from quickbooks_sync.models import Company, Token
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_config():
    return SandboxConfig(seed=3, customers=5, invoices=10)


def start(admin_client) -> tuple[str, str]:
    response = admin_client.get("/quickbooks/connect/")
    assert response.status_code == 302
    location = response["Location"]
    query = parse_qs(urlparse(location).query)
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["redirect_uri"] == ["http://testserver/quickbooks/callback/"]
    return location, query["state"][0]


def consent(location: str) -> str:
    """What the browser does at Intuit: consent, then follow the redirect back."""
    answer = requests.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    back = urlparse(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def test_connect_callback_stores_tokens_and_creates_the_company(admin_client, sandbox):
    location, _ = start(admin_client)
    response = admin_client.get(consent(location))
    assert response.status_code == 302
    company = Company.objects.get(realm_id=DEFAULT_REALM)
    assert company.status == "connected"
    assert company.name  # from CompanyInfo
    assert company.next_sync_due_at is not None
    assert Token.objects.filter(realm_id=DEFAULT_REALM).exists()


def test_callback_with_a_wrong_state_is_rejected_before_any_exchange(admin_client, sandbox):
    location, state = start(admin_client)
    callback = consent(location).replace(state, "forged-state")
    sandbox.state.reset_stats()
    response = admin_client.get(callback)
    assert response.status_code == 400
    assert b"state mismatch" in response.content
    assert sum(sandbox.state.stats()["token_requests"].values()) == 0
    assert not Company.objects.exists()


def test_callback_without_a_session_state_is_rejected(admin_client, sandbox):
    location, _ = start(admin_client)
    callback = consent(location)
    admin_client.get(callback)  # uses the state up
    assert admin_client.get(callback).status_code == 400  # a replay


def test_connect_requires_staff(client, sandbox):
    response = client.get("/quickbooks/connect/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_disconnect_revokes_at_intuit_and_stops_syncing(admin_client, sandbox):
    location, _ = start(admin_client)
    admin_client.get(consent(location))
    refresh = Token.objects.get(realm_id=DEFAULT_REALM).refresh_token
    response = admin_client.post(f"/quickbooks/disconnect/{DEFAULT_REALM}/")
    assert response.status_code == 302
    company = Company.objects.get(realm_id=DEFAULT_REALM)
    assert (company.status, company.next_sync_due_at) == ("disconnected", None)
    assert not Token.objects.exists()
    reuse = requests.post(
        sandbox.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=("sandbox-client-id", "sandbox-client-secret"),
        timeout=10,
    )
    assert reuse.json()["error"] == "invalid_grant"  # revoked at "Intuit"


def test_disconnect_needs_post(admin_client, sandbox):
    assert admin_client.get(f"/quickbooks/disconnect/{DEFAULT_REALM}/").status_code == 405


def test_disconnect_from_the_admin_action(admin_client, sandbox):
    location, _ = start(admin_client)
    admin_client.get(consent(location))
    company = Company.objects.get(realm_id=DEFAULT_REALM)
    response = admin_client.post(
        "/admin/quickbooks_sync/company/",
        {"action": "disconnect", "_selected_action": [company.pk]},
    )
    assert response.status_code == 302
    assert Company.objects.get(realm_id=DEFAULT_REALM).status == "disconnected"
    assert not Token.objects.exists()


def test_failed_revoke_changes_nothing(admin_client, sandbox, settings):
    location, _ = start(admin_client)
    admin_client.get(consent(location))
    settings.QB_OAUTH_REVOKE_URL = f"{sandbox.url}/no-such-endpoint"
    admin_client.post(f"/quickbooks/disconnect/{DEFAULT_REALM}/")
    assert Company.objects.get(realm_id=DEFAULT_REALM).status == "connected"
    assert Token.objects.exists()
