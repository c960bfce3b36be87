"""Typed, validated reads of environment variables for settings.py.

Decision: every setting is read once, here, at start-up, and a bad value stops the process
with one line that names the variable, the value it had and what is allowed. Nothing in
the app reads ``os.environ``; it reads ``django.conf.settings``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def _raw(name: str) -> str | None:
    value = env.str(name, default=None)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _bad(name: str, value: object, allowed: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is invalid: {allowed}.")


def str_setting(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def choice_setting(name: str, default: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    value = str_setting(name, default).lower()
    if value not in choices:
        raise _bad(name, value, "expected one of " + ", ".join(choices))
    return value


def report_bases_setting(name: str, default: str) -> tuple[str, ...]:
    """A comma-separated subset of QBO's report bases (``Accrual``, ``Cash``)."""
    raw = _raw(name)
    text = default if raw is None else raw
    allowed = {"accrual": "Accrual", "cash": "Cash"}
    bases = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not bases or any(b not in allowed for b in bases):
        raise _bad(name, text, "a comma-separated list of Accrual and Cash, e.g. Accrual,Cash")
    return tuple(dict.fromkeys(allowed[b] for b in bases))


def int_setting(name: str, default: int, *, minimum: int, maximum: int) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, value, f"expected a whole number from {minimum} to {maximum}") from None
    if not minimum <= number <= maximum:
        raise _bad(name, value, f"expected a whole number from {minimum} to {maximum}")
    return number


def float_setting(name: str, default: float, *, minimum: float, maximum: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise _bad(name, value, f"expected a number from {minimum:g} to {maximum:g}") from None
    if not minimum <= number <= maximum or number != number:  # NaN check
        raise _bad(name, value, f"expected a number from {minimum:g} to {maximum:g}")
    return number


def bool_setting(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise _bad(name, value, "expected true or false")


def schema_setting(name: str, default: str) -> str:
    """A PostgreSQL schema name; set to the empty string to switch the feature off.

    Unset means ``default``; lower-case letters, digits and ``_`` only (no quoting
    surprises), at most 40 characters so ``<schema>_<realm id>`` still fits in 63.
    """
    value = env.str(name, default=None)
    if value is None:
        return default
    value = value.strip()
    if value and not re.fullmatch(r"[a-z_][a-z0-9_]{0,39}", value):
        raise _bad(
            name,
            value,
            "expected a schema name of lower-case letters, digits and _ (at most 40), "
            "or empty to switch it off",
        )
    return value


def url_setting(name: str, default: str) -> str:
    value = str_setting(name, default).rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise _bad(name, value, "expected an http:// or https:// URL")
    return value


def database_setting(name: str, default: str) -> dict:
    value = str_setting(name, default)
    if not value.startswith(("sqlite:", "postgres://", "postgresql://", "pgsql://")):
        raise _bad(
            name,
            _mask_password(value),
            "expected sqlite:///path.db or postgres://user:password@host:5432/dbname",
        )
    try:
        return environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises a zoo of types for bad URLs
        raise _bad(name, _mask_password(value), f"could not parse it ({exc})") from None


def _mask_password(url: str) -> str:
    """Hide the password part of a database URL before it is shown in an error."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}"
    return url


def fernet_keys_setting(name: str) -> list[str]:
    """Comma-separated Fernet keys, newest first (MultiFernet rotation)."""
    value = _raw(name)
    if value is None:
        return []
    keys = [k.strip() for k in value.split(",") if k.strip()]
    from cryptography.fernet import Fernet

    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except Exception:
            raise ImproperlyConfigured(
                f"{name} key #{index} is not a valid Fernet key: expected 32 url-safe "
                'base64-encoded bytes; generate one with `python -c "from '
                'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
            ) from None
    return keys


def time_zone_setting(name: str, default: str) -> str:
    """An IANA time zone name such as ``Europe/Paris`` (tzdata ships with the project)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = str_setting(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(name, value, "expected an IANA time zone such as Europe/Paris or UTC") from None
    return value
