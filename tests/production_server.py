"""The admin served as the README's steps serve it: a real ``manage.py runserver`` with
production-like settings (``DJANGO_DEBUG=false``), after ``migrate``, ``collectstatic
--noinput`` and ``createsuperuser``, in subprocesses.

pytest-django's ``live_server`` serves static files itself, so it cannot notice a
deployment that serves none; this can.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.commands import isolated_env, manage, spawn

ADMIN_PASSWORD = "a-long-admin-password-for-tests"


@dataclass
class ProductionServer:
    url: str
    static_root: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def production_server(tmp_dir: Path) -> Iterator[ProductionServer]:
    static_root = tmp_dir / "static"
    env = isolated_env(
        DATABASE_URL=f"sqlite:///{tmp_dir / 'prod.db'}",
        DJANGO_DEBUG="false",
        DJANGO_STATIC_ROOT=static_root,
        DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    for args in (
        ("migrate", "--noinput", "-v", "0"),
        ("collectstatic", "--noinput", "-v", "0"),
        ("createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.com"),
    ):
        done = manage(*args, env=env, timeout=300)
        assert done.returncode == 0, f"{args[0]}: {done.stderr}"
    port = _free_port()
    server = spawn(
        "runserver", f"127.0.0.1:{port}", "--noreload", env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a generous start-up bound, not a race
        while True:
            try:
                with urllib.request.urlopen(url + "/admin/login/", timeout=10):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"runserver did not answer: {server.stderr.read()}"
                    ) from None
                time.sleep(0.2)
        yield ProductionServer(url=url, static_root=static_root)
    finally:
        server.terminate()
        server.wait(timeout=30)


def stylesheet_urls(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
