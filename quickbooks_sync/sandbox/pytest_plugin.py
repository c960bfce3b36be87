"""pytest fixtures for the QBO sandbox. Register with
``pytest_plugins = ["quickbooks_sync.sandbox.pytest_plugin"]``.

Why function-scoped by default: each test gets a fresh company (seeded in milliseconds
for the default 50 customers / 200 invoices), so tests cannot leak state into each other.
Override ``qbo_sandbox_config`` in a module or conftest to change the world, or use
``qbo_sandbox_factory`` for several servers / ad-hoc configs in one test.

Fixtures:
    qbo_sandbox_config   SandboxConfig used by ``qbo_sandbox`` (default: SandboxConfig())
    qbo_sandbox          a started SandboxServer (stopped after the test)
    qbo_sandbox_state    ``qbo_sandbox.state``
    qbo_sandbox_realm    the first realm id
    qbo_sandbox_tokens   a token pair from the real token endpoint, plus ``realm_id``
    qbo_sandbox_factory  ``factory(**config_overrides) -> started SandboxServer``
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from .config import SandboxConfig
from .server import SandboxServer
from .tokens import obtain_tokens


@pytest.fixture
def qbo_sandbox_config() -> SandboxConfig:
    return SandboxConfig()


@pytest.fixture
def qbo_sandbox_factory():
    servers: list[SandboxServer] = []

    def factory(cfg: SandboxConfig | None = None, **overrides) -> SandboxServer:
        config = replace(cfg or SandboxConfig(), **overrides)
        server = SandboxServer(config).start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def qbo_sandbox(qbo_sandbox_config):
    with SandboxServer(qbo_sandbox_config) as server:
        yield server


@pytest.fixture
def qbo_sandbox_state(qbo_sandbox):
    return qbo_sandbox.state


@pytest.fixture
def qbo_sandbox_realm(qbo_sandbox) -> str:
    return next(iter(qbo_sandbox.state.realms))


@pytest.fixture
def qbo_sandbox_tokens(qbo_sandbox) -> dict:
    return obtain_tokens(qbo_sandbox)
