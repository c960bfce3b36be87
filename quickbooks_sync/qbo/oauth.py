"""Intuit's OAuth 2.0: consent URL, authorization-code exchange, refresh, revoke.

Decision: this module only speaks HTTP; it never stores anything. Storing the rotated
pair before it is used is the caller's job (``quickbooks_sync.tokens``), under a row
lock. It does not retry either: a lost refresh answer must surface to the one retry
layer (the API client), which re-reads the stored token before trying again.

The protocol is requests-oauthlib's ``OAuth2Session`` (state generation, the consent
URL, request bodies, response parsing); around it we keep our rules: every request is
read under the byte cap and deadline (``http.LimitedSession``); Intuit's hard-expiry
header is always sent and ``x_refresh_token_hard_expires_in`` read; an error answer is
mapped to our exceptions in a compliance hook *before* oauthlib parses it, so
``invalid_grant`` means "re-authorise" and no body is ever echoed. Revoking stays a plain
request: Intuit's revoke endpoint takes a JSON body, not RFC 7009's form, which
``OAuth2Session`` has no call for.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.views.decorators.debug import sensitive_variables
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from quickbooks_sync.logging import register_secret
from quickbooks_sync.qbo.errors import (
    AuthenticationError,
    ConfigurationError,
    HostUnreachableError,
    ReauthorizationRequired,
    RequestError,
    ServerError,
    TransportError,
)
from quickbooks_sync.qbo.http import (
    LimitedSession,
    decode_api_response,
    mount_limited,
    new_session,
    parse_json,
    send,
)

logger = logging.getLogger("quickbooks_sync.oauth")

HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    refresh_token_expires_in: int | None
    refresh_token_hard_expires_in: int | None


class _IntuitSession(OAuth2Session, LimitedSession):
    """OAuth2Session whose requests go through our limits (MRO: its ``super().request``
    reaches ``LimitedSession.request``).

    Tokens in an answer are registered for log redaction here, as soon as the body is
    read: requests-oauthlib logs the body at DEBUG before any hook or parser sees it."""

    @sensitive_variables()
    def request(self, method: str, url: str, *args, **kwargs) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        body = parse_json(response.content)
        if isinstance(body, dict):
            for key in ("access_token", "refresh_token", "id_token"):
                if isinstance(body.get(key), str):
                    register_secret(body[key])
        return response


def allow_transport(url: str) -> None:
    """oauthlib refuses any http:// endpoint. Allow exactly loopback hosts (the bundled
    sandbox) and say what to fix for anything else."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # read by oauthlib on each call
        return
    raise ConfigurationError(
        f"{parts.scheme}://{parts.netloc} is not https: Intuit's OAuth endpoints "
        "(QB_OAUTH_TOKEN_URL, QB_AUTHORIZE_URL) need TLS; plain http is only allowed on "
        "loopback for the bundled sandbox"
    )


def authorization_url(
    *, client_id: str, authorize_url: str, redirect_uri: str, scope: str
) -> tuple[str, str]:
    """The consent URL and the fresh random ``state`` it carries (oauthlib generates it)."""
    allow_transport(authorize_url)
    session = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=scope.split())
    return session.authorization_url(authorize_url)


@sensitive_variables("access_token")
def realm_verify(
    *,
    base_url: str,
    realm_id: str,
    access_token: str,
    minor_version: int,
    timeout: tuple[float, float],
    session: requests.Session | None = None,
) -> None:
    """Prove ``access_token`` may read realm ``realm_id`` (its CompanyInfo), or raise.

    QBO answers 403 (code 3100) or 401 for a token issued for another company; both become
    a ``RequestError`` that says so. Other failures (5xx, network) keep their types: the
    caller stores nothing either way."""
    url = f"{base_url.rstrip('/')}/v3/company/{realm_id}/companyinfo/{realm_id}"
    response = send(
        session or new_session(),
        "GET",
        url,
        params={"minorversion": minor_version},
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=timeout,
        allow_redirects=False,
    )
    try:
        decode_api_response(response)
    except (AuthenticationError, RequestError) as exc:
        if exc.status not in (401, 403):
            raise
        raise RequestError(
            f"the new authorization cannot read realm {realm_id} (HTTP {exc.status}"
            f"{', code ' + exc.code if exc.code else ''}): consent was given for another "
            "company, or the callback's realmId was altered; nothing was stored",
            status=exc.status,
            code=exc.code,
            intuit_tid=exc.intuit_tid,
        ) from None


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
        # Plain requests (revoke) and the adapter every OAuth2Session borrows (keep-alive).
        self.session = session or mount_limited(LimitedSession())

    def __repr__(self) -> str:
        return f"<OAuthClient client_id={self.client_id!r} token_url={self.token_url!r}>"

    @sensitive_variables("code")
    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        oauth = self._oauth_session(redirect_uri=redirect_uri, what="authorization code")
        return self._fetch(
            lambda: oauth.fetch_token(
                self.token_url,
                code=code,
                auth=self._auth(),
                headers=self._headers(),
                timeout=self.timeout,
                include_client_id=False,
                allow_redirects=False,
            ),
            oauth,
        )

    @sensitive_variables("refresh_token")
    def refresh(self, refresh_token: str) -> TokenSet:
        oauth = self._oauth_session(what="refresh token")
        return self._fetch(
            lambda: oauth.refresh_token(
                self.token_url,
                refresh_token=refresh_token,
                auth=self._auth(),
                headers=self._headers(),
                timeout=self.timeout,
            ),
            oauth,
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

    # --- plumbing ------------------------------------------------------------------------

    def _auth(self) -> HTTPBasicAuth:
        return HTTPBasicAuth(self.client_id, self._client_secret)

    @staticmethod
    def _headers() -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            # Ask for the 5-year hard cap so we can warn before the company must reconnect.
            HARD_EXPIRY_HEADER: "true",
        }

    def _oauth_session(self, *, what: str, redirect_uri: str | None = None) -> _IntuitSession:
        """A fresh OAuth2Session per call (it keeps token state; calls may run on several
        threads) sharing this client's connection pool and limits."""
        allow_transport(self.token_url)
        oauth = _IntuitSession(self.client_id, redirect_uri=redirect_uri)
        oauth.headers["User-Agent"] = self.session.headers.get("User-Agent", "")
        oauth.qbo_limits = getattr(self.session, "qbo_limits", None)
        for prefix in ("http://", "https://"):
            oauth.mount(prefix, self.session.get_adapter(f"{prefix}x"))
        oauth.intuit_tid = None  # type: ignore[attr-defined]

        def check(response: requests.Response) -> requests.Response:
            oauth.intuit_tid = response.headers.get("intuit_tid")  # type: ignore[attr-defined]
            _raise_for_token_response(response, what=what)
            return response

        oauth.register_compliance_hook("access_token_response", check)
        oauth.register_compliance_hook("refresh_token_response", check)
        return oauth

    def _fetch(self, call, oauth: _IntuitSession) -> TokenSet:
        try:
            body = call()
        except HostUnreachableError as exc:
            raise HostUnreachableError(
                f"{exc}: check QB_OAUTH_TOKEN_URL (now {self.token_url})"
            ) from None
        except OAuth2Error as exc:
            # A 200 that oauthlib still refuses (no access_token, bad token_type...).
            raise TransportError(
                f"Intuit's token endpoint answered 200 without a usable token ({exc.error})",
                status=200,
                intuit_tid=oauth.intuit_tid,
            ) from None
        return self._token_set(dict(body), oauth.intuit_tid)

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
        except (KeyError, TypeError, ValueError, OverflowError):
            raise TransportError(
                "Intuit's token endpoint answered without access_token/refresh_token or with "
                "an unreadable lifetime",
                status=200,
                intuit_tid=tid,
            ) from None
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        return tokens


@sensitive_variables("body")
def _raise_for_token_response(response: requests.Response, *, what: str) -> None:
    """Map an answer that is not a token to our exceptions, before oauthlib reads it."""
    tid = response.headers.get("intuit_tid")
    body = parse_json(response.content)
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code == 200 and isinstance(body, dict) and not error:
        return
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
