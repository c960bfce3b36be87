"""Fixtures for the sandbox's own tests (no database needed)."""

from __future__ import annotations

import pytest
import requests

from quickbooks_sync.sandbox.pytest_plugin import *  # noqa: F403 - registers the fixtures


class Api:
    """A tiny bearer-token client for /v3/company/{realm}/..."""

    def __init__(self, server, tokens):
        self.server = server
        self.realm = tokens["realm_id"]
        self.tokens = tokens
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
        )

    def url(self, rest: str, realm: str | None = None) -> str:
        return f"{self.server.url}/v3/company/{realm or self.realm}/{rest}"

    def get(self, rest: str, realm: str | None = None, **params):
        params.setdefault("minorversion", "75")
        return self.session.get(self.url(rest, realm), params=params, timeout=10)

    def post(self, rest: str, realm: str | None = None, params=None, **kwargs):
        return self.session.post(self.url(rest, realm), params=params, timeout=10, **kwargs)

    def query(self, text: str, realm: str | None = None):
        return self.get("query", realm, query=text)

    def rows(self, text: str, entity: str = "Customer") -> list[dict]:
        resp = self.query(text)
        assert resp.status_code == 200, resp.text
        return resp.json()["QueryResponse"].get(entity, [])


@pytest.fixture
def api(qbo_sandbox, qbo_sandbox_tokens):
    api = Api(qbo_sandbox, qbo_sandbox_tokens)
    yield api
    api.session.close()
