"""Exceptions of the QBO client, split by what the caller does next.

Decision (after the Singer SDK): the caller never inspects HTTP statuses. It catches
``RetryableError`` (wait and try again: 429, 5xx, network, garbled body),
``ReauthorizationRequired`` (a human must reconnect the company: run bootstrap_tokens),
``ConfigurationError`` (fix a setting) or ``RequestError`` (this call is wrong; do not
repeat it). Messages carry the status, QBO's fault code and ``intuit_tid`` for Intuit
support, never a token or a response body with data in it.
"""

from __future__ import annotations


class QBOError(Exception):
    """Base class: something went wrong talking to QuickBooks Online or Intuit OAuth."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        intuit_tid: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.intuit_tid = intuit_tid
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"QBO code {self.code}")
        if self.intuit_tid:
            details.append(f"intuit_tid {self.intuit_tid}")
        if details:
            parts.append(f"({', '.join(details)})")
        return " ".join(parts)


class RetryableError(QBOError):
    """Transient: the same request may succeed later."""

    retry_after: float | None = None


class ThrottledError(RetryableError):
    """HTTP 429 (QBO code 3001): over the per-realm request budget."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(RetryableError):
    """HTTP 5xx from QBO."""


class TransportError(RetryableError):
    """Connection refused/reset, timeout, or a body that is not the JSON it should be."""


class RequestError(QBOError):
    """A 4xx that repeating will not fix (bad query, object not found, validation)."""


class ResponseTooLargeError(RequestError):
    """A response body over QB_MAX_RESPONSE_BYTES: repeating would only read it again."""


class AuthenticationError(QBOError):
    """HTTP 401 from the API: the access token was refused."""


class ReauthorizationRequired(QBOError):
    """The refresh token is gone (invalid_grant, revoked, expired): reconnect the company."""


class ConfigurationError(QBOError):
    """Our own settings are wrong (e.g. invalid_client: QB_CLIENT_ID/QB_CLIENT_SECRET)."""


class HostUnreachableError(ConfigurationError):
    """Nothing accepts connections at the configured host (connection refused, or the name
    does not resolve). QBO's hosts never refuse a connection, so this is a wrong URL
    setting (or a local sandbox not running): retrying for a minute only hides that."""
