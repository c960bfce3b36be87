"""What a checkout needs to talk to a running bundled sandbox: ``.env`` lines and a code.

Why: pointing the project at the sandbox used to mean gathering URLs, the client id and
secret and a fresh one-time authorization code from three files and a guessed control-API
call. ``manage.py qbo_sandbox`` prints these lines when it starts, and ``manage.py
qbo_sandbox --print-env`` prints them again (with a new code) for a sandbox already
running, so the README's "real company" path works against it unchanged, browser connect
flow included (``QB_AUTHORIZE_URL`` points at the sandbox's consent page).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from .server import AUTHORIZE_PATH, REVOKE_PATH, TOKEN_PATH


class SandboxUnreachable(Exception):
    """No sandbox answers at the URL given."""


def env_lines(base_url: str, client_id: str, client_secret: str, realm_id: str) -> list[str]:
    base_url = base_url.rstrip("/")
    return [
        "QB_ENVIRONMENT=sandbox",
        f"QB_API_BASE_URL={base_url}",
        f"QB_OAUTH_TOKEN_URL={base_url}{TOKEN_PATH}",
        f"QB_AUTHORIZE_URL={base_url}{AUTHORIZE_PATH}",
        f"QB_OAUTH_REVOKE_URL={base_url}{REVOKE_PATH}",
        f"QB_CLIENT_ID={client_id}",
        f"QB_CLIENT_SECRET={client_secret}",
        f"QB_REALM_ID={realm_id}",
    ]


def _call(url: str, method: str = "GET") -> dict:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)  # noqa: S310 - loopback URL given by the operator
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SandboxUnreachable(
            f"no bundled sandbox answers at {url.split('/_sandbox')[0]} ({exc}); start one "
            "with `manage.py qbo_sandbox` (or pass --url)"
        ) from None


def describe_running(base_url: str, realm_id: str | None = None) -> tuple[list[str], str, str]:
    """(``.env`` lines, a fresh one-time authorization code, its realm) from a running
    sandbox, through its control API."""
    base_url = base_url.rstrip("/")
    health = _call(f"{base_url}/_sandbox/health")
    realms = health.get("realms") or []
    realm = realm_id or (realms[0] if realms else "")
    if realm not in realms:
        raise SandboxUnreachable(
            f"the sandbox at {base_url} has no realm {realm!r}; it has {', '.join(realms)}"
        )
    code = _call(f"{base_url}/_sandbox/realms/{realm}/codes", method="POST")["code"]
    lines = env_lines(base_url, health["client_id"], health["client_secret"], realm)
    return lines, code, realm


def instructions(lines: list[str], code: str | None, realm: str) -> str:
    text = ["Point this checkout at the sandbox: put these lines in .env", "", *lines, ""]
    if code:
        text += [
            "Then store tokens with this one-time code (or connect in the browser at",
            "/quickbooks/connect/, which now goes to the sandbox's consent page):",
            "",
            f"  manage.py migrate && manage.py bootstrap_tokens --code {code} --realm-id {realm}",
        ]
    else:
        text += ["A fresh one-time code: manage.py qbo_sandbox --print-env"]
    return "\n".join(text)
