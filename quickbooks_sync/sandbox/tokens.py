"""Helper to get a real token pair from a running sandbox, the way a client would.

Why over HTTP instead of poking the TokenStore: it exercises the token endpoint (counted in
stats, subject to injected faults) exactly as production code will. Stdlib only.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from urllib.parse import urlencode


def obtain_tokens(server, realm_id: str | None = None, hard_expiry: bool = False) -> dict:
    """Issue an auth code for ``realm_id`` (default: first realm) and exchange it.

    Returns the token endpoint's JSON plus ``realm_id``.
    """
    state = server.state
    realm = str(realm_id or next(iter(state.realms)))
    code = state.issue_authorization_code(realm)
    cfg = state.cfg
    basic = base64.b64encode(f"{cfg.client_id}:{cfg.client_secret}".encode()).decode()
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://localhost/callback",
        }
    ).encode()
    headers = {
        "Authorization": f"Basic {basic}",
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    if hard_expiry:
        headers["x-include-refresh-token-hard-expires-in"] = "true"
    req = urllib.request.Request(server.token_url, data=body, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local sandbox URL
        result = json.loads(resp.read())
    result["realm_id"] = realm
    return result
