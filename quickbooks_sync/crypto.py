"""Encryption of OAuth tokens at rest.

Decision: tokens are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the
``cryptography`` package) under a dedicated key, ``QB_TOKEN_ENCRYPTION_KEY``, never one
derived from ``SECRET_KEY``, so rotating Django's key cannot lock us out of QBO and a
leaked database dump holds no usable token. Several comma-separated keys form a
MultiFernet: the first encrypts, all decrypt, so keys rotate without downtime
(``manage.py rotate_token_key`` re-encrypts with the first).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_SETTING = "QB_TOKEN_ENCRYPTION_KEY"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def _current() -> MultiFernet:
    keys = tuple(getattr(settings, KEY_SETTING, ()) or ())
    if not keys:
        raise ImproperlyConfigured(
            f"{KEY_SETTING} is not set: tokens are encrypted at rest and need a Fernet key. "
            'Generate one with `python -c "from cryptography.fernet import Fernet; '
            f'print(Fernet.generate_key().decode())"` and put it in .env as {KEY_SETTING}=...'
        )
    return _fernet(keys)


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            f"A stored token cannot be decrypted with {KEY_SETTING}: the key changed. Put the "
            "old key after the new one (comma-separated) or re-run bootstrap_tokens."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return _current().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            f"No key in {KEY_SETTING} decrypts the stored tokens: to rotate, put the new key "
            "first and keep the current one after it, comma-separated (new,old); nothing "
            "was changed."
        ) from None
