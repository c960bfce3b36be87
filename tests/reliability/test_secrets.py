"""Secrets canary: every secret the suite creates (access and refresh tokens, the client
secret, the webhook verifier token, the encryption key) is looked for in everything the
project shows: the log output of its configured handler at DEBUG with every third-party
logger opened up, command output, exception messages, webhook answers and every admin
page. Tokens must also be unreadable in the raw database.

Safeguards this proves: ``RedactSecretsFilter`` on the "console" handler plus
``register_secret`` for every token the process learns (drop either and the DEBUG logs of
urllib3/requests_oauthlib or our own messages would carry them); the client never echoing
bodies into exceptions (``qbo.http``); Token fields encrypted at rest (``crypto``); the
admin showing no token field in clear.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import logging
import secrets

import pytest
from cryptography.fernet import Fernet
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse

from quickbooks_sync.models import Token
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.tokens import DatabaseTokenProvider
from tests.reliability.harness import (
    ScratchDB,
    bootstrap,
    command_env,
    manage,
    migrate,
    record_result,
    vendor,
)

REALM = DEFAULT_REALM
THIRD_PARTY = ("urllib3", "requests_oauthlib", "oauthlib", "requests", "django", "quickbooks_sync")


class Canary:
    """Secret values of this run, and the sandbox's record of every token it issued."""

    def __init__(self) -> None:
        self.client_secret = "canary-client-secret-" + secrets.token_hex(12)
        self.verifier = "canary-verifier-" + secrets.token_hex(12)
        self.key = Fernet.generate_key().decode()
        self.tokens: list[str] = []
        self.codes: list[str] = []

    def watch(self, server: SandboxServer) -> None:
        store = server.state.tokens
        real_issue, real_code = store._issue, store.issue_code

        def issue(family, now, hard_expiry):
            body = real_issue(family, now, hard_expiry)
            self.tokens += [body["access_token"], body["refresh_token"]]
            return body

        def issue_code(realm_id):
            code = real_code(realm_id)
            self.codes.append(code)
            return code

        store._issue, store.issue_code = issue, issue_code

    def needles(self) -> dict[str, str]:
        found = {"client secret": self.client_secret, "verifier token": self.verifier}
        found["encryption key"] = self.key
        for i, token in enumerate(self.tokens):
            found[f"token #{i}"] = token
            found[f"token #{i} tail"] = token[-16:]  # a fragment is a leak too
        for i, code in enumerate(self.codes):
            found[f"authorization code #{i}"] = code
        return found

    def assert_absent(self, where: str, text: str) -> None:
        hits = [name for name, value in self.needles().items() if value in text]
        assert not hits, f"{where} contains {hits}"


@contextlib.contextmanager
def debug_logs_through_console_handler():
    """Point the project's configured "console" handler (the one with the redaction
    filter) at a buffer and open every logger to DEBUG."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if h.get_name() == "console")
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)
    levels = {name: logging.getLogger(name).level for name in ("", *THIRD_PARTY)}
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        handler.setStream(old_stream)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.django_db(transaction=True)
def test_no_secret_in_logs_output_exceptions_webhooks_or_admin(settings):
    canary = Canary()
    config = SandboxConfig(
        seed=3, customers=20, invoices=60, realms=(REALM,), client_secret=canary.client_secret
    )
    settings.QB_TOKEN_ENCRYPTION_KEY = [canary.key]
    settings.QB_WEBHOOK_VERIFIER_TOKEN = canary.verifier
    settings.QB_MAX_RESULTS = 25
    shown: list[tuple[str, str]] = []  # (where, text) of everything a person could see

    def run(*args, **kwargs) -> None:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=out, stderr=err, **kwargs)
        except CommandError as exc:
            shown.append((f"{args[0]} error", str(exc)))
        shown.append((f"{args[0]} output", out.getvalue() + err.getvalue()))

    with SandboxServer(config) as server, debug_logs_through_console_handler() as logs:
        canary.watch(server)
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID = config.client_id
        settings.QB_CLIENT_SECRET = config.client_secret
        st = server.state

        def connect() -> None:
            code = st.issue_authorization_code(REALM)
            run("bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://x/cb")

        connect()
        run("runsync", "--once", "--no-progress")
        # A 401 mid-sync (refresh + replay), throttling and a garbled body on the way.
        st.clock.advance(seconds=30)
        st.update(REALM, "Customer", "1", {"DisplayName": "Canary Customer"})
        for kind in ("401", "429", "truncated"):
            st.inject_fault(kind, count=1)
        run("runsync", "--once", "--no-progress")
        # A forced refresh, then an expiry-driven one.
        token = Token.objects.get(realm_id=REALM)
        DatabaseTokenProvider(REALM).refresh(stale=token.access_token)
        st.tokens.expire_access_tokens(REALM)
        run("runsync", "--once", "--no-progress", "--full")
        run("verifysync", "--ids")
        # invalid_grant: the error path that quotes the most context.
        st.tokens.expire_access_tokens(REALM)
        st.inject_fault("token_invalid_grant", count=1)
        run("runsync", "--once", "--no-progress")
        connect()
        # The seat belt: third-party code that logs what it should not (a request header,
        # a token POST body, an exception quoting a token) must still print no secret.
        token = Token.objects.get(realm_id=REALM)
        logging.getLogger("urllib3.connectionpool").debug(
            "send: Authorization: Bearer %s", token.access_token
        )
        logging.getLogger("requests_oauthlib.oauth2_session").debug(
            "body: refresh_token=%s&client_secret=%s", token.refresh_token, canary.client_secret
        )
        try:
            raise RuntimeError(f"unexpected answer for {token.refresh_token} / {canary.key}")
        except RuntimeError:
            logging.getLogger("quickbooks_sync.sync").exception("worker crashed")
        # Webhooks: a valid and a forged delivery.
        body = json.dumps(
            [
                {
                    "specversion": "1.0",
                    "id": "evt-1",
                    "source": "intuit.test",
                    "type": "qbo.customer.updated.v1",
                    "time": "2026-01-01T00:00:00Z",
                    "intuitentityid": "1",
                    "intuitaccountid": REALM,
                    "datacontenttype": "application/json",
                    "data": {},
                }
            ]
        ).encode()
        signature = base64.b64encode(
            hmac.new(canary.verifier.encode(), body, hashlib.sha256).digest()
        ).decode()
        client = Client(raise_request_exception=True)
        url = reverse("quickbooks_sync:webhooks")
        for sig in (signature, "forged" + signature[6:]):
            answer = client.post(
                url, data=body, content_type="application/json", HTTP_INTUIT_SIGNATURE=sig
            )
            assert answer.status_code in (200, 401)
            shown.append(("webhook answer", answer.content.decode(errors="replace")))
        # Admin: every changelist and every change page (Token included), as a superuser.
        user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-x")
        client.force_login(user)
        pages = 0
        for model, model_admin in admin.site._registry.items():
            meta = model._meta
            names = [f"admin:{meta.app_label}_{meta.model_name}_changelist"]
            names += [
                (f"admin:{meta.app_label}_{meta.model_name}_change", obj.pk)
                for obj in model_admin.get_queryset(_request(user))[:5]
            ]
            for name in names:
                try:
                    target = (
                        reverse(name) if isinstance(name, str) else reverse(name[0], args=[name[1]])
                    )
                except NoReverseMatch:
                    continue
                page = client.get(target)
                assert page.status_code == 200, (target, page.status_code)
                shown.append((f"admin {target}", page.content.decode()))
                pages += 1
        assert Token.objects.exists() and pages >= 4
        shown.append(("repr", repr(Token.objects.get(realm_id=REALM))))
        shown.append(("str", str(Token.objects.get(realm_id=REALM))))
        log_text = logs.getvalue()

    assert len(canary.tokens) >= 8, "the flow should have rotated tokens several times"
    assert "urllib3" in log_text or "connectionpool" in log_text, "DEBUG logs were captured"
    leaks = []
    for where, text in [("console log", log_text), *shown]:
        try:
            canary.assert_absent(where, text)
        except AssertionError as exc:
            leaks.append(str(exc))
    record_result(
        "secrets canary (in process)",
        runs=len(shown),
        records=len(canary.needles()),
        lost=0,
        duplicated=0,
        ok=not leaks,
        leaks=len(leaks),
    )
    assert not leaks, leaks


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_subprocess_debug_logs_and_raw_database_hold_no_secret(tmp_path):
    """The real commands at LOG_LEVEL=debug (stderr is the console handler), then the raw
    database: the SQLite file bytes, or the token table as text on PostgreSQL."""
    canary = Canary()
    config = SandboxConfig(
        seed=4,
        customers=10,
        invoices=30,
        realms=(REALM,),
        client_secret=canary.client_secret,
        access_token_ttl=60,
    )
    with SandboxServer(config) as server, ScratchDB("secrets", tmp_path) as db:
        canary.watch(server)
        extra = {
            "LOG_LEVEL": "debug",
            "QB_TOKEN_ENCRYPTION_KEY": canary.key,
            "QB_WEBHOOK_VERIFIER_TOKEN": canary.verifier,
            "QB_TOKEN_REFRESH_MARGIN_SECONDS": 3000,  # > the 60 s tokens: always refresh
        }
        migrate(db)
        outputs = [bootstrap(db, server, REALM, **extra)]
        env = command_env(db, server, **extra)
        server.state.inject_fault("401", count=1)
        outputs.append(manage("runsync", "--once", "--no-progress", env=env))
        outputs.append(manage("verifysync", "--ids", env=env))
        assert outputs[-1].returncode == 0, outputs[-1].stdout + outputs[-1].stderr
        for i, result in enumerate(outputs):
            canary.assert_absent(f"command #{i} output", result.stdout + result.stderr)
        if db.kind == "sqlite":
            raw = b"".join(
                p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("secrets.db")
            )
            dump = raw.decode("latin-1")
        else:
            dump = "\n".join(
                str(row) for row in db.query("SELECT t::text FROM quickbooks_sync_token t")
            )
        assert "gAAAAA" in dump, "the token table should hold Fernet ciphertext"
        for i, token in enumerate(canary.tokens):
            assert token not in dump and token[-16:] not in dump, f"token #{i} in the database"
        assert canary.client_secret not in dump and canary.key not in dump
        record_result(
            "secrets canary (subprocess + raw DB)",
            runs=len(outputs),
            records=len(canary.tokens),
            lost=0,
            duplicated=0,
            ok=True,
            database=vendor(),
        )
