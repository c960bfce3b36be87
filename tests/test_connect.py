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


# --- permissions: being staff is not enough to connect or disconnect a company ----------------


@pytest.fixture
def clerk(client, django_user_model):
    """A staff user who may only look at invoices."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(user)
    return user


def connected(admin_client) -> str:
    location, _ = start(admin_client)
    admin_client.get(consent(location))
    return Token.objects.get(realm_id=DEFAULT_REALM).refresh_token


def test_staff_without_permission_cannot_start_connecting(client, clerk, sandbox):
    response = client.get("/quickbooks/connect/")
    assert response.status_code == 403
    assert "qbo_oauth_state" not in client.session


def test_staff_without_permission_cannot_complete_a_callback(client, clerk, sandbox):
    session = client.session
    session["qbo_oauth_state"] = "known-state"
    session.save()
    code = sandbox.state.issue_authorization_code(DEFAULT_REALM)
    sandbox.state.reset_stats()
    response = client.get(
        f"/quickbooks/callback/?code={code}&state=known-state&realmId={DEFAULT_REALM}"
    )
    assert response.status_code == 403
    assert sum(sandbox.state.stats()["token_requests"].values()) == 0
    assert not Token.objects.exists() and not Company.objects.exists()


def test_staff_without_permission_cannot_disconnect(admin_client, client, clerk, sandbox):
    refresh = connected(admin_client)
    response = client.post(f"/quickbooks/disconnect/{DEFAULT_REALM}/")
    assert response.status_code == 403
    assert Company.objects.get(realm_id=DEFAULT_REALM).status == "connected"
    assert Token.objects.get(realm_id=DEFAULT_REALM).refresh_token == refresh


def test_changing_companies_does_not_grant_the_disconnect_action(
    admin_client, client, clerk, sandbox
):
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_company", "change_company"])
    )
    connected(admin_client)
    company = Company.objects.get(realm_id=DEFAULT_REALM)
    page = client.get("/admin/quickbooks_sync/company/").content.decode()
    assert 'value="disconnect"' not in page and 'value="sync_now"' in page
    client.post(
        "/admin/quickbooks_sync/company/",
        {"action": "disconnect", "_selected_action": [company.pk]},
    )
    assert Company.objects.get(realm_id=DEFAULT_REALM).status == "connected"
    assert Token.objects.exists()


def test_dedicated_permissions_allow_connect_and_disconnect(client, clerk, sandbox):
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["connect_company", "disconnect_company"])
    )
    location, _ = start(client)
    assert client.get(consent(location)).status_code == 302
    assert Token.objects.exists()
    assert client.post(f"/quickbooks/disconnect/{DEFAULT_REALM}/").status_code == 302
    assert not Token.objects.exists()
