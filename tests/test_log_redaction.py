"""Every log handler redacts, Django's access log included (authorization codes in URLs)."""

from __future__ import annotations

import io
import logging
import socket
import urllib.request

import pytest

from quickbooks_sync.logging import RedactSecretsFilter, redact
from tests import commands

CODE = "AB11SecretAuthorizationCode4242"
REQUEST_LINE = f"GET /quickbooks/callback/?code={CODE}&state=st4te-value&realmId=9130 HTTP/1.1"


def test_every_configured_handler_has_the_redaction_filter():
    loggers = [logging.getLogger()] + [
        item
        for item in logging.Logger.manager.loggerDict.values()
        if isinstance(item, logging.Logger)
    ]
    handlers = {
        handler
        for logger in loggers
        for handler in logger.handlers
        if not type(handler).__module__.startswith("_pytest")  # pytest's capture
        and not isinstance(handler, logging.NullHandler)  # libraries' "no output" default
    }
    assert {h.name for h in handlers} >= {"console", "django.server", "mail_admins"}
    unfiltered = [
        h.name or repr(h)
        for h in handlers
        if not any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    ]
    assert not unfiltered


def test_django_server_access_log_masks_the_authorization_code():
    logger = logging.getLogger("django.server")
    out = io.StringIO()
    streams = [
        (handler, handler.setStream(out))
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
    ]
    assert streams
    try:
        # What runserver's WSGIRequestHandler.log_message emits for each request.
        logger.info(
            '"%s" %s %s',
            REQUEST_LINE,
            "302",
            "0",
            extra={"request": None, "server_time": "now", "status_code": 302},
        )
    finally:
        for handler, stream in streams:
            handler.setStream(stream)
    logged = out.getvalue()
    assert "/quickbooks/callback/" in logged
    assert CODE not in logged and "st4te-value" not in logged
    assert "code=[REDACTED]" in logged and "realmId=9130" in logged


def test_redact_masks_oauth_parameters_in_any_text():
    assert redact(f"see {REQUEST_LINE}") == (
        "see GET /quickbooks/callback/?code=[REDACTED]&state=[REDACTED]&realmId=9130 HTTP/1.1"
    )
    assert redact("code = 7 and a=b") == "code = 7 and a=b"


@pytest.mark.django_db(transaction=True)
def test_runserver_access_log_never_shows_a_code(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = commands.isolated_env(DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    server = commands.spawn("runserver", f"127.0.0.1:{port}", "--noreload", env=env)
    try:
        url = f"http://127.0.0.1:{port}/quickbooks/callback/?code={CODE}&state=x&realmId=1"
        for _ in range(300):  # up to 30 s for the server to listen
            try:
                urllib.request.urlopen(url, timeout=5)
            except urllib.error.HTTPError:
                break  # any HTTP answer: it is listening
            except OSError:
                server.poll()
                assert server.returncode is None, server.stderr.read()
                __import__("time").sleep(0.1)
            else:
                break
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "/quickbooks/callback/?code=[REDACTED]" in stderr, stderr
    assert CODE not in stderr


def test_redact_masks_url_encoded_parameters_too():
    # The login redirect's ?next= carries the callback URL, percent-encoded.
    text = f"GET /admin/login/?next=/quickbooks/callback/%3Fcode%3D{CODE}%26state%3Dx HTTP/1.1"
    assert CODE not in redact(text) and "%26state%3D[REDACTED]" in redact(text)
