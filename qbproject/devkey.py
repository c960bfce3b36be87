"""Django's SECRET_KEY for local development: random, generated once per checkout.

Decision: a missing ``DJANGO_SECRET_KEY`` must never fall back to a constant (it would be
the same in every checkout, so sessions and password-reset links could be forged
anywhere). Production refuses to start without one (``settings.py``); development
(``DJANGO_DEBUG=true``), the test suite and the demo instead use a random key written
once to a git-ignored file, ``.django-secret-key`` next to ``manage.py`` (or the path in
``DJANGO_SECRET_KEY_FILE``), so logins survive restarts and no two checkouts share a key.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_KEY_FILE = BASE_DIR / ".django-secret-key"


def key_file() -> Path:
    return Path(os.environ.get("DJANGO_SECRET_KEY_FILE") or DEFAULT_KEY_FILE)


def development_secret_key(path: Path | None = None) -> str:
    """Read the per-checkout key, creating it (mode 0600) on first use.

    Several processes may start at once (tests, workers): the key is written to a
    private temporary file and hard-linked into place, so a reader never sees a
    half-written file and exactly one writer wins.
    """
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management.utils import get_random_secret_key

    path = path or key_file()
    existing = _read(path)
    if existing:
        return existing
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(get_random_secret_key() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is not set and the development key file {path} cannot be "
            f"written ({exc.strerror}): set DJANGO_SECRET_KEY or DJANGO_SECRET_KEY_FILE."
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    return _read(path)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""
