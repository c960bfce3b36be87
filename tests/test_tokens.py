"""Token lifecycle: encrypted storage, rotation under a lock, invalid_grant handling."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from quickbooks_sync.models import Token
from quickbooks_sync.qbo.errors import ConfigurationError, ReauthorizationRequired
from quickbooks_sync.tokens import DatabaseTokenProvider, token_bootstrap

TOKEN_URL = "https://oauth.test/oauth2/v1/tokens/bearer"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _token_url(settings):
    settings.QB_OAUTH_TOKEN_URL = TOKEN_URL


def token_body(n: int, **extra) -> dict:
    return {
        "token_type": "bearer",
        "expires_in": 3600,
        "access_token": f"new-access-{n}-xxxx",
        "refresh_token": f"new-refresh-{n}-xxxx",
        "x_refresh_token_expires_in": 8726400,
        "x_refresh_token_hard_expires_in": 156032154,
        **extra,
    }


@responses.activate
def test_bootstrap_exchanges_the_code_with_basic_auth_and_stores_encrypted():
    responses.post(TOKEN_URL, json=token_body(1), headers={"intuit_tid": "t-1"})
    token = token_bootstrap(realm_id="42", code="the-one-time-code", redirect_uri="https://r/cb")
    request = responses.calls[0].request
    form = parse_qs(request.body)
    assert form == {
        "grant_type": ["authorization_code"],
        "code": ["the-one-time-code"],
        "redirect_uri": ["https://r/cb"],
    }
    expected = base64.b64encode(b"test-client-id:test-client-secret-value").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["x-include-refresh-token-hard-expires-in"] == "true"
    token.refresh_from_db()
    assert token.access_token == "new-access-1-xxxx"
    assert token.refresh_token_hard_expires_at > timezone.now() + timedelta(days=365 * 4)
    assert token.refresh_token_expires_at > timezone.now() + timedelta(days=100)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM quickbooks_sync_token")
        raw = repr(cursor.fetchall())
    assert "new-access-1" not in raw and "new-refresh-1" not in raw
    assert "new-access" not in repr(token) and "new-access" not in str(token)


@responses.activate
def test_expired_access_token_is_refreshed_and_the_rotated_pair_saved(make_token):
    make_token(realm_id="42", expires_in=10)  # inside the refresh margin
    responses.post(TOKEN_URL, json=token_body(2))
    provider = DatabaseTokenProvider("42")
    assert provider.access_token() == "new-access-2-xxxx"
    assert parse_qs(responses.calls[0].request.body)["refresh_token"] == ["refresh-token-rrrrrrrr"]
    stored = Token.objects.get(realm_id="42")
    assert stored.refresh_token == "new-refresh-2-xxxx"
    assert provider.access_token() == "new-access-2-xxxx"  # cached, no second refresh
    assert len(responses.calls) == 1


@responses.activate
def test_refresh_is_skipped_when_another_process_already_refreshed(make_token):
    make_token(realm_id="42", access="already-new-access-token", expires_in=3600)
    provider = DatabaseTokenProvider("42")
    assert provider.refresh(stale="the-old-access-token") == "already-new-access-token"
    assert len(responses.calls) == 0


@responses.activate
def test_invalid_grant_flags_reauth_and_keeps_the_tokens(make_token):
    make_token(realm_id="42", expires_in=-5)
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Token invalid"}
    )
    with pytest.raises(ReauthorizationRequired, match="bootstrap_tokens"):
        DatabaseTokenProvider("42").access_token()
    token = Token.objects.get(realm_id="42")
    assert token.needs_reauth
    assert token.refresh_token == "refresh-token-rrrrrrrr"  # never blanked
    assert token.access_token == "access-token-aaaaaaaa"
    # No tight loop: a flagged realm does not call Intuit again.
    with pytest.raises(ReauthorizationRequired):
        DatabaseTokenProvider("42").access_token()
    assert len(responses.calls) == 1


@responses.activate
def test_invalid_client_is_a_configuration_error_naming_the_settings(make_token):
    make_token(realm_id="42", expires_in=-5)
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    with pytest.raises(ConfigurationError, match="QB_CLIENT_ID and QB_CLIENT_SECRET"):
        DatabaseTokenProvider("42").access_token()
    assert not Token.objects.get(realm_id="42").needs_reauth


def test_missing_tokens_say_what_to_run():
    with pytest.raises(ReauthorizationRequired, match="bootstrap_tokens"):
        DatabaseTokenProvider("nope").access_token()


def test_missing_encryption_key_is_a_clear_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.QB_TOKEN_ENCRYPTION_KEY = []
    with pytest.raises(ImproperlyConfigured, match="QB_TOKEN_ENCRYPTION_KEY is not set"):
        Token(realm_id="1").access_token = "x"


def test_key_rotation_old_key_still_decrypts(settings, make_token):
    from cryptography.fernet import Fernet

    make_token(realm_id="42")
    old = list(settings.QB_TOKEN_ENCRYPTION_KEY)
    settings.QB_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode(), *old]
    token = Token.objects.get(realm_id="42")
    assert token.access_token == "access-token-aaaaaaaa"
    call_command("rotate_token_key")
    settings.QB_TOKEN_ENCRYPTION_KEY = settings.QB_TOKEN_ENCRYPTION_KEY[:1]
    assert Token.objects.get(realm_id="42").access_token == "access-token-aaaaaaaa"


@responses.activate
def test_rotated_tokens_that_fail_to_save_are_retried_before_any_use(make_token, monkeypatch):
    """Intuit has already rotated: losing the new pair would strand the realm."""
    from django.db import DatabaseError

    make_token(realm_id="42", expires_in=-5)
    responses.post(TOKEN_URL, json=token_body(3))
    real_save = Token.save
    failures = {"left": 2}

    def flaky_save(self, *args, **kwargs):
        if failures["left"] and self.refresh_token == "new-refresh-3-xxxx":
            failures["left"] -= 1
            raise DatabaseError("disk I/O error")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Token, "save", flaky_save)
    monkeypatch.setattr("quickbooks_sync.tokens.time.sleep", lambda s: None)
    assert DatabaseTokenProvider("42").access_token() == "new-access-3-xxxx"
    assert Token.objects.get(realm_id="42").refresh_token == "new-refresh-3-xxxx"
    assert len(responses.calls) == 1  # one refresh; the retries were saves, not refreshes


@responses.activate
def test_a_pair_that_cannot_be_saved_is_never_used_and_is_stored_first_next_time(
    make_token, monkeypatch
):
    from django.db import DatabaseError

    from quickbooks_sync.qbo.errors import TransportError

    make_token(realm_id="42", expires_in=-5)
    responses.post(TOKEN_URL, json=token_body(4))
    real_save = Token.save
    broken = {"on": True}

    def save(self, *args, **kwargs):
        if broken["on"] and self.refresh_token == "new-refresh-4-xxxx":
            raise DatabaseError("database is locked")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Token, "save", save)
    monkeypatch.setattr("quickbooks_sync.tokens.time.sleep", lambda s: None)
    provider = DatabaseTokenProvider("42")
    with pytest.raises(TransportError, match="stored before the next API call"):
        provider.access_token()
    assert Token.objects.get(realm_id="42").refresh_token == "refresh-token-rrrrrrrr"
    broken["on"] = False
    assert provider.access_token() == "new-access-4-xxxx"
    assert Token.objects.get(realm_id="42").refresh_token == "new-refresh-4-xxxx"
    assert len(responses.calls) == 1


def test_rotate_token_key_with_a_key_that_decrypts_nothing_is_one_clear_line(make_token, settings):
    from cryptography.fernet import Fernet
    from django.core.management import CommandError

    make_token(realm_id="42")
    before = Token.objects.get(realm_id="42").refresh_token_encrypted
    settings.QB_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]  # the old key is gone
    with pytest.raises(CommandError) as caught:
        call_command("rotate_token_key")
    message = str(caught.value)
    assert "decrypts" in message and "new,old" in message and "\n" not in message
    assert Token.objects.get(realm_id="42").refresh_token_encrypted == before
