"""Running ``manage.py`` in a subprocess, as a user or a process manager would.

One place decides what a child process sees: the developer's shell and ``.env`` must not
leak settings into a test, so variables with the given prefixes are dropped and ``.env``
is pointed at nothing; each test then states exactly what it sets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from qbproject.devkey import development_secret_key

ROOT = Path(__file__).resolve().parent.parent


def isolated_env(*, drop: tuple[str, ...] = ("QB_", "DJANGO_"), **overrides: object) -> dict:
    """The parent's environment minus ``drop`` prefixes, plus ``overrides`` (None unsets).

    A child runs as in production: without pytest's ``PYTEST_VERSION`` marker and with a
    Django secret key (the per-checkout development key unless the test states one).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("PYTEST_VERSION", None)
    env["QBO_SYNC_ENV_FILE"] = "/nonexistent/.env"
    env["QB_REPORT_INTERVAL_HOURS"] = "0"  # workers mirror no reports unless a test asks
    env.setdefault("DJANGO_SECRET_KEY", development_secret_key())
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def sandbox_env(server) -> dict:
    """The settings that point a subprocess at a running bundled sandbox."""
    return {
        "QB_API_BASE_URL": server.url,
        "QB_OAUTH_TOKEN_URL": server.token_url,
        "QB_OAUTH_REVOKE_URL": server.revoke_url,
        "QB_AUTHORIZE_URL": server.authorize_url,
        "QB_CLIENT_ID": server.cfg.client_id,
        "QB_CLIENT_SECRET": server.cfg.client_secret,
    }


def manage(
    *args: str, env: dict, timeout: float = 60, check: bool = False
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def spawn(
    *args: str, env: dict, stdout=subprocess.PIPE, stderr=subprocess.PIPE
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )
