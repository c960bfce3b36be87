"""The callback's realmId, the state's age and replaced tokens (security review, finding 4)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from quickbooks_sync.models import Company, Token
from quickbooks_sync.qbo.errors import RequestError
from quickbooks_sync.qbo.oauth import realm_verify
from quickbooks_sync.sandbox import SandboxConfig
from quickbooks_sync.sandbox.tokens import obtain_tokens

pytestmark = pytest.mark.django_db(transaction=True)
A, B = "9130350000000001", "9130350000000002"


@pytest.fixture
def sandbox_config():
    return SandboxConfig(seed=3, customers=2, invoices=2, realms=(A, B))


def callback_for(admin_client, realm: str) -> str:
    """Start connecting, consent at the sandbox for ``realm``; the callback path + query."""
    location = admin_client.get("/quickbooks/connect/")["Location"]
    answer = requests.get(f"{location}&realm_id={realm}", allow_redirects=False, timeout=10)
    back = urlparse(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def with_realm(callback: str, realm: str) -> str:
    path, query = callback.split("?", 1)
    params = {k: v[0] for k, v in parse_qs(query).items()}
    params["realmId"] = realm
    return f"{path}?{urlencode(params)}"


def refresh_is_alive(sandbox, refresh: str) -> bool:
    answer = requests.post(
        sandbox.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(sandbox.cfg.client_id, sandbox.cfg.client_secret),
        timeout=10,
    )
    return answer.status_code == 200


def test_sandbox_refuses_a_token_for_another_realm_like_qbo(sandbox, settings):
    tokens = obtain_tokens(sandbox, A)
    realm_verify(
        base_url=sandbox.url,
        realm_id=A,
        access_token=tokens["access_token"],
        minor_version=75,
        timeout=(5, 5),
    )
    with pytest.raises(RequestError, match="cannot read realm") as caught:
        realm_verify(
            base_url=sandbox.url,
            realm_id=B,
            access_token=tokens["access_token"],
            minor_version=75,
            timeout=(5, 5),
        )
    assert (caught.value.status, caught.value.code) == (403, "3100")


def test_consent_for_one_company_cannot_replace_another_companys_tokens(admin_client, sandbox):
    admin_client.get(callback_for(admin_client, B))
    b_refresh = Token.objects.get(realm_id=B).refresh_token
    edited = with_realm(callback_for(admin_client, A), B)  # consent for A, callback says B
    response = admin_client.get(edited, follow=True)
    assert "cannot read realm" in response.content.decode()
    assert Token.objects.get(realm_id=B).refresh_token == b_refresh
    assert not Token.objects.filter(realm_id=A).exists()
    assert not Company.objects.filter(realm_id=A).exists()
    assert refresh_is_alive(sandbox, b_refresh)


def test_the_unverified_new_grant_is_revoked(admin_client, sandbox, monkeypatch):
    from quickbooks_sync.qbo import oauth

    issued = []
    real = oauth.OAuthClient._token_set

    def spy(body, tid):
        tokens = real(body, tid)
        issued.append(tokens.refresh_token)
        return tokens

    monkeypatch.setattr(oauth.OAuthClient, "_token_set", staticmethod(spy))
    admin_client.get(with_realm(callback_for(admin_client, A), B))
    assert issued and not refresh_is_alive(sandbox, issued[-1])


def test_reconnecting_revokes_the_replaced_refresh_token(admin_client, sandbox):
    admin_client.get(callback_for(admin_client, A))
    first = Token.objects.get(realm_id=A).refresh_token
    admin_client.get(callback_for(admin_client, A))
    second = Token.objects.get(realm_id=A).refresh_token
    assert second != first
    assert not refresh_is_alive(sandbox, first)
    assert refresh_is_alive(sandbox, second)


def test_state_expires_after_ten_minutes(admin_client, sandbox, monkeypatch):
    from quickbooks_sync import connect

    callback = callback_for(admin_client, A)
    issued = admin_client.session[connect.SESSION_KEY]["issued_at"]
    monkeypatch.setattr(connect.time, "time", lambda: issued + connect.STATE_MAX_AGE_SECONDS + 1)
    sandbox.state.reset_stats()
    response = admin_client.get(callback)
    assert response.status_code == 400 and b"state expired" in response.content
    assert sum(sandbox.state.stats()["token_requests"].values()) == 0
    assert not Token.objects.exists()


def test_state_within_ten_minutes_is_accepted(admin_client, sandbox, monkeypatch):
    from quickbooks_sync import connect

    callback = callback_for(admin_client, A)
    issued = admin_client.session[connect.SESSION_KEY]["issued_at"]
    monkeypatch.setattr(connect.time, "time", lambda: issued + connect.STATE_MAX_AGE_SECONDS - 5)
    assert admin_client.get(callback).status_code == 302
    assert Token.objects.filter(realm_id=A).exists()
