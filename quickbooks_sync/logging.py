"""Log plumbing: secret redaction on every handler, and an optional JSON formatter.

Decision: we never log a token or the client secret on purpose, and this filter is the
seat belt for the cases we did not foresee (a third-party logger at DEBUG, an exception
text that quotes a request). Every secret value the process learns is registered here
and replaced with ``[REDACTED]`` in any record that reaches a handler.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import UTC, datetime

_lock = threading.Lock()
_secrets: set[str] = set()
REDACTED = "[REDACTED]"


def register_secret(value: str | None) -> None:
    """Make ``value`` unprintable in logs from now on (ignored if short or empty)."""
    if value and len(value) >= 8:
        with _lock:
            _secrets.add(value)


# OAuth values in URLs (access logs, exception texts): masked even when never registered,
# e.g. the code of a callback refused before its exchange.
_URL_PARAMETER = re.compile(
    r"(?P<head>(?:[?&;]|%3F|%26)"
    r"(?:code|state|access_token|refresh_token|token|id_token|client_secret)(?:=|%3D))"
    r"(?:(?!%26)[^&;\s\"'<>])+",
    re.I,
)


def redact(text: str) -> str:
    if "=" in text or "%3D" in text or "%3d" in text:
        text = _URL_PARAMETER.sub(lambda m: m["head"] + REDACTED, text)
    if not _secrets:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _register_settings_secrets()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions are formatted later by the handler: render and scrub them now.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


def _register_settings_secrets() -> None:
    from django.conf import settings

    if not settings.configured:
        return
    register_secret(getattr(settings, "QB_CLIENT_SECRET", ""))
    register_secret(getattr(settings, "QB_AUTHORIZATION_CODE", ""))
    register_secret(getattr(settings, "QB_WEBHOOK_VERIFIER_TOKEN", ""))
    for key in getattr(settings, "QB_TOKEN_ENCRYPTION_KEY", ()) or ():
        register_secret(key)


def redact_every_handler() -> int:
    """Attach the filter to every handler of every logger that lacks it; returns how many.

    ``LOGGING`` covers the handlers we configure; this covers the ones others add
    (a WSGI server's, a library's) before the app is ready. Called from ``AppConfig``."""
    loggers = [logging.getLogger()] + [
        item
        for item in logging.Logger.manager.loggerDict.values()
        if isinstance(item, logging.Logger)
    ]
    added = 0
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
                handler.addFilter(RedactSecretsFilter())
                added += 1
    return added


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (``LOG_FORMAT=json``)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in (
            "realm_id",
            "entity",
            "records",
            "duration_s",
            "intuit_tid",
            "event",
            "http_s",
            "map_s",
            "db_s",
            "requests",
            "written",
        ):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_text:
            payload["exc"] = record.exc_text
        elif record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)
