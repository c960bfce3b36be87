"""The one place where an HTTP exchange with Intuit becomes data or a typed exception.

Decision (after django-anymail): one session per client, one User-Agent, timeouts always
passed, and a single function that maps a response to an exception whose text names
status, QBO fault code and ``intuit_tid`` but never echoes a body that may hold data or
a token.

Decision (limits): a response is streamed and read under two bounds, so a broken or
hostile server cannot exhaust the worker: a byte cap (``QB_MAX_RESPONSE_BYTES``, checked
against Content-Length first and then while reading, after decompression) and an overall
deadline per request (``QB_REQUEST_DEADLINE_SECONDS``). Socket timeouts alone bound each
``recv``, so a server sending a byte a second never trips them; the deadline is a
watchdog timer that shuts the request's socket down when it fires, which ends any read
in progress, headers or body.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import urllib3

from quickbooks_sync.qbo.errors import (
    AuthenticationError,
    HostUnreachableError,
    RequestError,
    ResponseTooLargeError,
    ServerError,
    ThrottledError,
    TransportError,
)

logger = logging.getLogger("quickbooks_sync.qbo")

USER_AGENT = "qbo-sync/0.1 (+https://github.com/qbo-sync)"


@dataclass(frozen=True)
class Fault:
    code: str | None
    message: str
    detail: str


@dataclass(frozen=True)
class Limits:
    """How much one response may cost: bytes read, and seconds from send to last byte."""

    max_bytes: int = 64 * 1024 * 1024
    deadline_seconds: float = 300.0


def limits_from_settings() -> Limits:
    from django.conf import settings

    if not settings.configured:
        return Limits()
    return Limits(
        max_bytes=getattr(settings, "QB_MAX_RESPONSE_BYTES", Limits.max_bytes),
        deadline_seconds=getattr(settings, "QB_REQUEST_DEADLINE_SECONDS", Limits.deadline_seconds),
    )


_watch = threading.local()


class _Deadline:
    """Shuts down the sockets of one request when its time is up (see module docstring)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _watch.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _watch.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for an SSLSocket (whose override would unwrap the
    # TLS object under the reading thread's feet): the blocked recv returns at once.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedMixin:
    def getresponse(self, *args: Any, **kwargs: Any):
        deadline = getattr(_watch, "deadline", None)
        if deadline is not None:
            deadline.watch(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedMixin, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedMixin, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose connections register their socket with the request's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def new_session(limits: Limits | None = None) -> requests.Session:
    # No urllib3 retries: we retry at exactly one layer (the client), where we can count.
    session = mount_limited(requests.Session())
    if limits is not None:
        session.qbo_limits = limits  # type: ignore[attr-defined]
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    limits: Limits | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one request and read its body within ``limits`` (default: the session's, else
    the settings'). Network failures and a passed deadline become ``TransportError``
    (retryable); a body over the cap becomes ``ResponseTooLargeError``."""
    return send_with(session.request, method, url, limits=limits or _limits_of(session), **kwargs)


def _limits_of(session: requests.Session) -> Limits:
    return getattr(session, "qbo_limits", None) or limits_from_settings()


def send_with(
    request: Callable[..., requests.Response],
    method: str,
    url: str,
    *,
    limits: Limits,
    **kwargs: Any,
) -> requests.Response:
    """``send`` for any request function (``LimitedSession`` passes requests' own)."""
    deadline = _Deadline(limits.deadline_seconds)
    try:
        with deadline:
            response = request(method, url, stream=True, **kwargs)
            try:
                _read_capped(response, limits.max_bytes, url)
            finally:
                response.close()
            if deadline.expired:
                raise requests.ConnectionError("deadline passed while reading")
        return response
    except requests.RequestException as exc:
        if deadline.expired:
            raise TransportError(
                f"{_host(url)} did not finish answering within the "
                f"{limits.deadline_seconds:g} s deadline (QB_REQUEST_DEADLINE_SECONDS)"
            ) from None
        if isinstance(exc, requests.Timeout):
            raise TransportError(
                f"timed out talking to {_host(url)}: {type(exc).__name__}"
            ) from None
        if isinstance(exc, requests.ConnectionError) and _refused(exc):
            raise HostUnreachableError(
                f"nothing accepts connections at {_host(url)} (connection refused or unknown host)"
            ) from None
        if isinstance(exc, requests.ConnectionError):
            raise TransportError(
                f"could not reach {_host(url)}: {type(exc).__name__}; check the URL setting "
                "and the network"
            ) from None
        raise TransportError(f"request to {_host(url)} failed: {type(exc).__name__}") from None


def _refused(exc: BaseException) -> bool:
    """Whether a requests failure is a refused connection or a name that does not resolve
    (urllib3 nests the OS error several levels down)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConnectionRefusedError | socket.gaierror):
            return True
        if type(item).__name__ == "NameResolutionError":
            return True
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return False


class LimitedSession(requests.Session):
    """A session whose every request is read under the limits, for code that drives the
    session itself (requests-oauthlib's ``OAuth2Session`` mixes this in)."""

    qbo_limits: Limits | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.pop("stream", None)
        return send_with(
            functools.partial(requests.Session.request, self),
            method,
            url,
            limits=_limits_of(self),
            **kwargs,
        )


def mount_limited(session: requests.Session) -> requests.Session:
    """One User-Agent, the deadline-aware adapter, no urllib3 retries (see new_session)."""
    session.headers["User-Agent"] = USER_AGENT
    adapter = _DeadlineAdapter(max_retries=0, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _read_capped(response: requests.Response, max_bytes: int, url: str) -> None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(response, url, max_bytes, f"declares {declared} bytes")
    chunks, total = [], 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(response, url, max_bytes, "kept sending")
        chunks.append(chunk)
    response._content = b"".join(chunks)  # what .content/.json() read from now on


def _too_large(response: requests.Response, url: str, max_bytes: int, how: str):
    return ResponseTooLargeError(
        f"the answer from {_host(url)} {how}, over the {max_bytes}-byte limit "
        "(QB_MAX_RESPONSE_BYTES)",
        status=response.status_code,
        intuit_tid=response.headers.get("intuit_tid"),
    )


def _host(url: str) -> str:
    return url.split("?", 1)[0]


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: what a refused connection is about."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def parse_fault(body: Any) -> Fault | None:
    """Read QBO's ``Fault`` envelope, or the gateway's lowercase ``fault`` (401/403)."""
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault")
    errors_key, message_key, detail_key = "Error", "Message", "Detail"
    if not isinstance(fault, dict):
        fault = body.get("fault")
        errors_key, message_key, detail_key = "error", "message", "detail"
    if not isinstance(fault, dict):
        return None
    errors = fault.get(errors_key) or fault.get(errors_key.lower()) or []
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return Fault(
        code=str(first["code"]) if first.get("code") is not None else None,
        message=str(
            first.get(message_key) or first.get(message_key.lower()) or fault.get("type") or "fault"
        ),
        detail=str(first.get(detail_key) or first.get(detail_key.lower()) or ""),
    )


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), or None when absent/garbled."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def parse_json(content: bytes) -> Any:
    """orjson (several times faster on a 1000-invoice page), with the stdlib as fallback
    for what orjson refuses but is still JSON to Python (integers over 64 bits, NaN);
    None when it is not JSON at all."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        try:
            return json.loads(content)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            return None


def decode_api_response(response: requests.Response) -> dict:
    """Return the JSON body of a QBO API answer, or raise the matching exception."""
    tid = response.headers.get("intuit_tid")
    status = response.status_code
    body = parse_json(response.content)
    fault = parse_fault(body)
    code = fault.code if fault else None
    summary = fault.message if fault else None
    if status >= 400 or fault is not None:
        logger.warning(
            "QBO answered HTTP %s code=%s intuit_tid=%s",
            status,
            code or "-",
            tid or "-",
            extra={"intuit_tid": tid},
        )
    if status == 429:
        raise ThrottledError(
            "QBO throttled the request",
            status=status,
            code=code or "3001",
            intuit_tid=tid,
            retry_after=retry_after_seconds(response),
        )
    if status == 401:
        raise AuthenticationError(
            "QBO refused the access token", status=status, code=code, intuit_tid=tid
        )
    if status >= 500:
        raise ServerError(
            f"QBO server error: {summary or 'no fault body'}",
            status=status,
            code=code,
            intuit_tid=tid,
        )
    if status >= 400:
        detail = f": {fault.detail[:300]}" if fault and fault.detail else ""
        hint = ""
        if code == "3100":
            hint = (
                " (the app is not authorised for this company, or sandbox keys are used "
                "against production: check QB_ENVIRONMENT and QB_API_BASE_URL)"
            )
        raise RequestError(
            f"QBO rejected the request: {summary or 'no fault body'}{detail}{hint}",
            status=status,
            code=code,
            intuit_tid=tid,
        )
    if fault is not None:
        raise RequestError(
            f"QBO answered 200 with a fault: {summary}", status=status, code=code, intuit_tid=tid
        )
    if not isinstance(body, dict):
        # A 200 whose body is not a JSON object (truncated, HTML from a proxy): transient.
        raise TransportError(
            "QBO answered 200 with a body that is not a JSON object "
            f"({response.headers.get('Content-Type', 'no content type')}, "
            f"{len(response.content)} bytes)",
            status=status,
            intuit_tid=tid,
        )
    return body
