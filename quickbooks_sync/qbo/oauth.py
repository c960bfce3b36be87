"""Intuit's OAuth 2.0 token endpoint: authorization-code exchange and refresh.

Decision: this module only speaks HTTP; it never stores anything. Storing the rotated
pair before it is used is the caller's job (``quickbooks_sync.tokens``), under a row
lock. It does not retry either: a lost refresh answer must surface to the one retry
layer (the API client), which re-reads the stored token before trying again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import requests
from django.views.decorators.debug import sensitive_variables

from quickbooks_sync.logging import register_secret
from quickbooks_sync.qbo.errors import (
    ConfigurationError,
    ReauthorizationRequired,
    RequestError,
    ServerError,
    TransportError,
)
from quickbooks_sync.qbo.http import new_session, send

logger = logging.getLogger("quickbooks_sync.oauth")


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    refresh_token_expires_in: int | None
    refresh_token_hard_expires_in: int | None


class OAuthClient:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_url: str,
        timeout: tuple[float, float] = (10.0, 30.0),
        session: requests.Session | None = None,
    ) -> None:
        if not client_id:
            raise ConfigurationError(
                "QB_CLIENT_ID is not set: copy it from the Intuit app's Keys page"
            )
        if not client_secret:
            raise ConfigurationError(
                "QB_CLIENT_SECRET is not set: copy it from the Intuit app's Keys page"
            )
        register_secret(client_secret)
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_url = token_url
        self.timeout = timeout
        self.session = session or new_session()

    def __repr__(self) -> str:
        return f"<OAuthClient client_id={self.client_id!r} token_url={self.token_url!r}>"

    @sensitive_variables("code")
    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            what="authorization code",
        )

    @sensitive_variables("refresh_token")
    def refresh(self, refresh_token: str) -> TokenSet:
        return self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, what="refresh token"
        )

    @sensitive_variables("token")
    def revoke(self, token: str, *, revoke_url: str) -> None:
        """Revoke a refresh (or access) token; revoking the refresh token disconnects."""
        response = send(
            self.session,
            "POST",
            revoke_url,
            json={"token": token},
            auth=(self.client_id, self._client_secret),
            headers={"Accept": "application/json"},
            timeout=self.timeout,
            allow_redirects=False,
        )
        if response.status_code != 200:
            tid = response.headers.get("intuit_tid")
            logger.warning(
                "revoke endpoint answered HTTP %s intuit_tid=%s", response.status_code, tid or "-"
            )
            raise RequestError(
                "Intuit did not revoke the token", status=response.status_code, intuit_tid=tid
            )

    @sensitive_variables("form", "body")
    def _token_request(self, form: dict[str, str], *, what: str) -> TokenSet:
        response = send(
            self.session,
            "POST",
            self.token_url,
            data=form,
            auth=(self.client_id, self._client_secret),
            headers={
                "Accept": "application/json",
                # Ask for the 5-year hard cap so we can warn before the company must reconnect.
                "x-include-refresh-token-hard-expires-in": "true",
            },
            timeout=self.timeout,
            allow_redirects=False,
        )
        tid = response.headers.get("intuit_tid")
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code == 200 and isinstance(body, dict) and not error:
            return self._token_set(body, tid)
        logger.warning(
            "token endpoint answered HTTP %s error=%s intuit_tid=%s",
            response.status_code,
            error or "-",
            tid or "-",
        )
        if error == "invalid_grant":
            raise ReauthorizationRequired(
                f"Intuit refused the {what} (invalid_grant: expired, revoked or already used)",
                status=response.status_code,
                code=error,
                intuit_tid=tid,
            )
        if error == "invalid_client" or response.status_code == 401:
            raise ConfigurationError(
                "Intuit refused the client credentials (invalid_client): check QB_CLIENT_ID and "
                "QB_CLIENT_SECRET, and that they belong to the QB_ENVIRONMENT in use",
                status=response.status_code,
                code=error,
                intuit_tid=tid,
            )
        if response.status_code >= 500 or response.status_code == 429:
            raise ServerError(
                "Intuit's token endpoint is unavailable",
                status=response.status_code,
                code=error,
                intuit_tid=tid,
            )
        if response.status_code == 200:
            raise TransportError(
                "Intuit's token endpoint answered 200 without a token", status=200, intuit_tid=tid
            )
        raise RequestError(
            f"Intuit's token endpoint rejected the request ({error or 'no error code'})",
            status=response.status_code,
            code=error,
            intuit_tid=tid,
        )

    @staticmethod
    @sensitive_variables("body", "tokens")
    def _token_set(body: dict, tid: str | None) -> TokenSet:
        try:
            tokens = TokenSet(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_in=_seconds(body.get("expires_in", 3600)),
                refresh_token_expires_in=_opt_int(body.get("x_refresh_token_expires_in")),
                refresh_token_hard_expires_in=_opt_int(body.get("x_refresh_token_hard_expires_in")),
            )
        except (KeyError, TypeError, ValueError):
            raise TransportError(
                "Intuit's token endpoint answered without access_token/refresh_token or with "
                "an unreadable lifetime",
                status=200,
                intuit_tid=tid,
            ) from None
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        return tokens


# Longer than any lifetime Intuit issues (5 years); bounds what reaches timedelta().
MAX_LIFETIME_SECONDS = 10 * 366 * 24 * 3600


def _seconds(value: object) -> int:
    """A lifetime in seconds; ValueError when it is not a sane one (an overflowing value
    used to raise OverflowError deep in the token store, with tokens in frame locals)."""
    number = int(value)  # type: ignore[arg-type]
    if not 0 <= number <= MAX_LIFETIME_SECONDS:
        raise ValueError("lifetime out of range")
    return number


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    return _seconds(value)
