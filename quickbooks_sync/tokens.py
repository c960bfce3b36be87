"""Token lifecycle: store, hand out and refresh a realm's OAuth tokens.

Decision: Intuit rotates refresh tokens, and a refresh token that is spent twice may be
refused (``invalid_grant``), after which only a human reconnecting the company helps. So
a refresh happens inside one transaction that locks the token row
(``select_for_update``; on SQLite the ``IMMEDIATE`` transaction mode takes the write
lock), re-reads it, skips the refresh if another process already did it, and saves the
new pair before anything uses it. ``invalid_grant`` never blanks the stored tokens: the
realm is flagged ``needs_reauth`` and the error says to re-run ``bootstrap_tokens``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from quickbooks_sync.logging import register_secret
from quickbooks_sync.models import Company, Token
from quickbooks_sync.qbo.errors import (
    QBOError,
    ReauthorizationRequired,
    RequestError,
    TransportError,
)
from quickbooks_sync.qbo.oauth import OAuthClient, TokenSet, realm_verify

logger = logging.getLogger("quickbooks_sync.tokens")

REAUTH_HINT = "run `manage.py bootstrap_tokens` with a new authorization code to reconnect"


def oauth_client_from_settings() -> OAuthClient:
    return OAuthClient(
        client_id=settings.QB_CLIENT_ID,
        client_secret=settings.QB_CLIENT_SECRET,
        token_url=settings.QB_OAUTH_TOKEN_URL,
        timeout=(settings.QB_CONNECT_TIMEOUT, settings.QB_READ_TIMEOUT),
    )


@sensitive_variables("tokens")
def _apply(token: Token, tokens: TokenSet) -> None:
    now = timezone.now()
    token.access_token = tokens.access_token
    token.refresh_token = tokens.refresh_token
    token.access_token_expires_at = now + timedelta(seconds=tokens.expires_in)
    if tokens.refresh_token_expires_in is not None:
        token.refresh_token_expires_at = now + timedelta(seconds=tokens.refresh_token_expires_in)
    if tokens.refresh_token_hard_expires_in is not None:
        token.refresh_token_hard_expires_at = now + timedelta(
            seconds=tokens.refresh_token_hard_expires_in
        )
    token.needs_reauth = False
    token.reauth_reason = ""
    token.last_refreshed_at = now


@sensitive_variables("code", "tokens", "replaced")
def token_bootstrap(
    *,
    realm_id: str,
    code: str,
    redirect_uri: str,
    oauth: OAuthClient | None = None,
    verify_realm: bool = False,
) -> Token:
    """Exchange a one-time authorization code and store the tokens for ``realm_id``.

    ``verify_realm``: the realm came from an untrusted place (the browser callback's
    query string), so the new access token must read that company before it replaces
    anything. A refresh token being replaced is revoked at Intuit afterwards (best
    effort: a failure is logged, the new tokens stay), so no stale grant stays valid."""
    register_secret(code)
    oauth = oauth or oauth_client_from_settings()
    tokens = oauth.exchange_code(code, redirect_uri)
    if verify_realm:
        try:
            realm_verify(
                base_url=settings.QB_API_BASE_URL,
                realm_id=realm_id,
                access_token=tokens.access_token,
                minor_version=settings.QB_MINOR_VERSION,
                timeout=(settings.QB_CONNECT_TIMEOUT, settings.QB_READ_TIMEOUT),
            )
        except RequestError:
            _revoke_quietly(oauth, tokens.refresh_token, what="unverified new")
            raise
    replaced = None
    with transaction.atomic():
        token = Token.objects.select_for_update().filter(realm_id=realm_id).first()
        if token is not None and not token.needs_reauth:
            with contextlib.suppress(ImproperlyConfigured):  # undecryptable: nothing to revoke
                replaced = token.refresh_token
        token = token or Token(realm_id=realm_id)
        _apply(token, tokens)
        token.save()
        Company.objects.update_or_create(
            realm_id=realm_id,
            defaults={
                "status": Company.Status.CONNECTED,
                "environment": settings.QB_ENVIRONMENT,
                "next_sync_due_at": timezone.now(),
                "last_error": "",
                "consecutive_failures": 0,
            },
        )
    logger.info("stored new tokens for realm %s", realm_id)
    if replaced and replaced != tokens.refresh_token:
        _revoke_quietly(oauth, replaced, what="replaced")
    return token


@sensitive_variables("refresh_token")
def _revoke_quietly(oauth: OAuthClient, refresh_token: str, *, what: str) -> None:
    register_secret(refresh_token)
    try:
        oauth.revoke(refresh_token, revoke_url=settings.QB_OAUTH_REVOKE_URL)
    except QBOError as exc:
        logger.warning("could not revoke the %s refresh token at Intuit: %s", what, exc)
    else:
        logger.info("revoked the %s refresh token at Intuit", what)


class DatabaseTokenProvider:
    """Hands the API client a valid access token for one realm; refreshes when needed.

    The decrypted access token is cached in memory with its expiry, so an API call costs
    no database read; the cache is dropped whenever the API refuses the token.
    """

    def __init__(
        self,
        realm_id: str,
        *,
        oauth: OAuthClient | None = None,
        margin_seconds: float | None = None,
    ) -> None:
        self.realm_id = realm_id
        self._oauth = oauth
        self.margin = (
            settings.QB_TOKEN_REFRESH_MARGIN_SECONDS if margin_seconds is None else margin_seconds
        )
        self._cached: tuple[str, object] | None = None
        self._unsaved: TokenSet | None = None  # rotated by Intuit, not yet stored
        self._lock = threading.Lock()

    @property
    def oauth(self) -> OAuthClient:
        if self._oauth is None:
            self._oauth = oauth_client_from_settings()
        return self._oauth

    def _usable(self, token: Token | None) -> Token:
        """The token, or the reason this realm cannot call QBO until someone reconnects."""
        if token is None:
            raise ReauthorizationRequired(
                f"no tokens stored for realm {self.realm_id}: {REAUTH_HINT}"
            )
        if token.needs_reauth:
            raise ReauthorizationRequired(
                f"realm {self.realm_id} needs re-authorisation ({token.reauth_reason}): "
                f"{REAUTH_HINT}"
            )
        return token

    def _load(self) -> Token:
        token = self._usable(Token.objects.filter(realm_id=self.realm_id).first())
        # Belt and braces: neither token may ever be printed, even by code we don't own.
        register_secret(token.refresh_token)
        return token

    @sensitive_variables("value", "cached")
    def access_token(self) -> str:
        with self._lock:
            if self._unsaved is not None:
                return self._persist(self._unsaved)
            cached = self._cached
            if cached is not None and cached[1] - timedelta(seconds=self.margin) > timezone.now():
                return cached[0]
            token = self._load()
            if token.is_expired(self.margin):
                return self._refresh_locked(stale=token.access_token)
            value = token.access_token
            register_secret(value)
            self._cached = (value, token.access_token_expires_at)
            return value

    @sensitive_variables("stale")
    def refresh(self, stale: str) -> str:
        """Called after a 401 with the token that was refused."""
        with self._lock:
            return self._refresh_locked(stale=stale)

    @sensitive_variables("stale", "current", "tokens")
    def _refresh_locked(self, *, stale: str) -> str:
        self._cached = None
        if self._unsaved is not None:
            # A rotated pair Intuit gave us could not be stored last time: store it first;
            # its refresh token is the only valid one now.
            return self._persist(self._unsaved)
        refused: ReauthorizationRequired | None = None
        tokens: TokenSet | None = None
        try:
            with transaction.atomic():
                token = self._usable(
                    Token.objects.select_for_update().filter(realm_id=self.realm_id).first()
                )
                current = token.access_token
                if current != stale and not token.is_expired(self.margin):
                    # Another process (or thread) refreshed while we waited for the lock.
                    logger.info("realm %s: token already refreshed elsewhere", self.realm_id)
                    self._cached = (current, token.access_token_expires_at)
                    return current
                try:
                    tokens = self.oauth.refresh(token.refresh_token)
                except ReauthorizationRequired as exc:
                    token.needs_reauth = True
                    token.reauth_reason = exc.message[:255]
                    token.save(update_fields=["needs_reauth", "reauth_reason", "updated_at"])
                    Company.objects.filter(realm_id=self.realm_id).update(
                        status=Company.Status.NEEDS_REAUTH
                    )
                    refused = exc
                else:
                    _apply(token, tokens)
                    token.save()
        except DatabaseError:
            if tokens is None:
                raise
            # Intuit has rotated: the old refresh token may already be dead, so the new
            # pair must reach the database before anything uses it.
            logger.error("realm %s: storing the rotated tokens failed; retrying", self.realm_id)
            return self._persist(tokens)
        if refused is not None:
            logger.error("realm %s: refresh refused; %s", self.realm_id, REAUTH_HINT)
            raise ReauthorizationRequired(
                f"realm {self.realm_id}: {refused.message}; {REAUTH_HINT}",
                status=refused.status,
                code=refused.code,
                intuit_tid=refused.intuit_tid,
            )
        logger.info("realm %s: access token refreshed", self.realm_id)
        self._cached = (tokens.access_token, token.access_token_expires_at)
        return tokens.access_token

    @sensitive_variables("tokens")
    def _persist(self, tokens: TokenSet) -> str:
        """Store a rotated pair, retrying; its access token is used only once stored.

        If every attempt fails the pair stays in memory (``_unsaved``) and the next call
        stores it before anything else; the error says why this sync stops meanwhile."""
        self._unsaved = tokens
        for attempt, pause in enumerate((0.0, 0.5, 1.0, 2.0), start=1):
            time.sleep(pause)
            try:
                with transaction.atomic():
                    token = Token.objects.select_for_update().get(realm_id=self.realm_id)
                    _apply(token, tokens)
                    token.save()
            except DatabaseError as exc:
                logger.error(
                    "realm %s: could not store rotated tokens (attempt %d): %s",
                    self.realm_id,
                    attempt,
                    type(exc).__name__,
                )
                continue
            self._unsaved = None
            self._cached = (tokens.access_token, token.access_token_expires_at)
            logger.info("realm %s: rotated tokens stored", self.realm_id)
            return tokens.access_token
        raise TransportError(
            f"realm {self.realm_id}: Intuit issued new tokens but the database did not take "
            "them; they are kept in memory and stored before the next API call"
        )

    def mark_needs_reauth(self, reason: str) -> None:
        self._cached = None
        Token.objects.filter(realm_id=self.realm_id).update(
            needs_reauth=True, reauth_reason=reason[:255], updated_at=timezone.now()
        )
        Company.objects.filter(realm_id=self.realm_id).update(status=Company.Status.NEEDS_REAUTH)
