"""The token endpoint, authorize redirect, revoke, and bearer checks on /v3."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from quickbooks_sync.sandbox import SandboxConfig, obtain_tokens

AUTH = ("sandbox-client-id", "sandbox-client-secret")


def token(server, data, auth=AUTH, **headers):
    return requests.post(server.token_url, data=data, auth=auth, headers=headers, timeout=5)


def code_grant(server, code):
    return token(
        server,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/cb"},
    )


def refresh_grant(server, rt, **headers):
    return token(server, {"grant_type": "refresh_token", "refresh_token": rt}, **headers)


def cinfo(server, realm, access):
    return requests.get(
        f"{server.url}/v3/company/{realm}/companyinfo/{realm}",
        headers={"Authorization": f"Bearer {access}"},
        timeout=5,
    )


def test_code_works_once_and_response_shape(qbo_sandbox, qbo_sandbox_realm):
    code = qbo_sandbox.state.issue_authorization_code(qbo_sandbox_realm)
    resp = code_grant(qbo_sandbox, code)
    assert resp.status_code == 200 and resp.headers["intuit_tid"]
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600 and body["x_refresh_token_expires_in"] == 8726400
    assert len(body["access_token"]) > 500 and body["refresh_token"]
    assert "x_refresh_token_hard_expires_in" not in body
    again = code_grant(qbo_sandbox, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert code_grant(qbo_sandbox, "nonsense").json()["error"] == "invalid_grant"
    assert qbo_sandbox.state.stats()["token_requests"]["authorization_code"] == 3


def test_refresh_rotates_and_spent_token_is_invalid(qbo_sandbox, qbo_sandbox_tokens):
    first = qbo_sandbox_tokens
    second = refresh_grant(qbo_sandbox, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    spent = refresh_grant(qbo_sandbox, first["refresh_token"])
    assert spent.status_code == 400
    assert spent.json() == {
        "error": "invalid_grant",
        "error_description": "Incorrect or invalid refresh token",
    }
    assert refresh_grant(qbo_sandbox, second["refresh_token"]).status_code == 200
    # The old access token stays valid until it expires (only refresh tokens rotate).
    assert cinfo(qbo_sandbox, first["realm_id"], first["access_token"]).status_code == 200
    assert qbo_sandbox.state.stats()["token_requests"]["refresh_token"] == 3


@pytest.mark.parametrize("qbo_sandbox_config", [SandboxConfig(refresh_grace_seconds=60)])
def test_refresh_grace_period(qbo_sandbox, qbo_sandbox_tokens):
    old = qbo_sandbox_tokens["refresh_token"]
    assert refresh_grant(qbo_sandbox, old).status_code == 200
    assert refresh_grant(qbo_sandbox, old).status_code == 200  # inside the grace window
    qbo_sandbox.state.clock.advance(seconds=61)
    assert refresh_grant(qbo_sandbox, old).status_code == 400


def test_hard_expiry_header(qbo_sandbox, qbo_sandbox_tokens):
    body = refresh_grant(
        qbo_sandbox,
        qbo_sandbox_tokens["refresh_token"],
        **{"x-include-refresh-token-hard-expires-in": "true"},
    ).json()
    assert 0 < body["x_refresh_token_hard_expires_in"] <= 5 * 365 * 86400
    assert obtain_tokens(qbo_sandbox, hard_expiry=True)["x_refresh_token_hard_expires_in"] > 0


def test_client_authentication(qbo_sandbox, qbo_sandbox_realm):
    code = qbo_sandbox.state.issue_authorization_code(qbo_sandbox_realm)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "x"}
    bad = token(qbo_sandbox, data, auth=("sandbox-client-id", "wrong"))
    assert bad.status_code == 401 and bad.json() == {"error": "invalid_client"}
    post = requests.post(
        qbo_sandbox.token_url,
        timeout=5,
        data={**data, "client_id": AUTH[0], "client_secret": AUTH[1]},
    )  # client_secret_post
    assert post.status_code == 200
    unsupported = token(qbo_sandbox, {"grant_type": "password"})
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"


def test_access_token_expiry_by_sandbox_clock(qbo_sandbox, qbo_sandbox_tokens):
    realm, access = qbo_sandbox_tokens["realm_id"], qbo_sandbox_tokens["access_token"]
    assert cinfo(qbo_sandbox, realm, access).status_code == 200
    qbo_sandbox.state.clock.advance(seconds=3601)
    resp = cinfo(qbo_sandbox, realm, access)
    assert resp.status_code == 401 and resp.headers["intuit_tid"]
    body = resp.json()
    err = body["fault"]["error"][0]
    assert err["code"] == "3200" and err["detail"].startswith("Token expired")
    assert err["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert body["fault"]["type"] == "AUTHENTICATION" and isinstance(body["time"], int)
    assert body["cdcresponse"] == [] and body["intuitObject"] is None
    # refresh tokens outlive access tokens
    fresh = refresh_grant(qbo_sandbox, qbo_sandbox_tokens["refresh_token"]).json()
    assert cinfo(qbo_sandbox, realm, fresh["access_token"]).status_code == 200


def test_missing_and_unknown_bearer(qbo_sandbox, qbo_sandbox_realm):
    url = f"{qbo_sandbox.url}/v3/company/{qbo_sandbox_realm}/query"
    assert (
        requests.get(url, params={"query": "select * from Customer"}, timeout=5).status_code == 401
    )
    resp = requests.get(
        url, params={"query": "x"}, timeout=5, headers={"Authorization": "Bearer " + "x" * 40}
    )
    assert resp.status_code == 401 and resp.json()["fault"]["error"][0]["code"] == "3200"


def test_authorize_redirect_and_revoke(qbo_sandbox, qbo_sandbox_realm):
    resp = requests.get(
        qbo_sandbox.authorize_url,
        allow_redirects=False,
        timeout=5,
        params={
            "client_id": AUTH[0],
            "response_type": "code",
            "redirect_uri": "http://localhost/cb",
            "scope": "com.intuit.quickbooks.accounting",
            "state": "xyz",
        },
    )
    assert resp.status_code == 302
    loc = urlsplit(resp.headers["Location"])
    qs = {k: v[0] for k, v in parse_qs(loc.query).items()}
    assert loc.netloc == "localhost" and qs["state"] == "xyz"
    assert qs["realmId"] == qbo_sandbox_realm
    tokens = code_grant(qbo_sandbox, qs["code"]).json()
    revoke = requests.post(
        qbo_sandbox.revoke_url, json={"token": tokens["refresh_token"]}, auth=AUTH, timeout=5
    )
    assert revoke.status_code == 200
    assert refresh_grant(qbo_sandbox, tokens["refresh_token"]).status_code == 400
    assert cinfo(qbo_sandbox, qbo_sandbox_realm, tokens["access_token"]).status_code == 401


def test_token_endpoint_fault(qbo_sandbox, qbo_sandbox_tokens):
    qbo_sandbox.state.inject_fault("token_invalid_grant")
    resp = refresh_grant(qbo_sandbox, qbo_sandbox_tokens["refresh_token"])
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert refresh_grant(qbo_sandbox, qbo_sandbox_tokens["refresh_token"]).status_code == 200
