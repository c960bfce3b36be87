"""Intuit-style OAuth 2.0 token issuing, rotation and validation.

Why token *families*: one authorization (code exchange) starts a family bound to one realm.
Every refresh rotates the refresh token (a new value each time; the notes say real QBO
changes the value only every ~24 h, so the sandbox is stricter on purpose) and the previous
value dies after ``refresh_grace_seconds`` (default 0). Revoking any token of a family kills
the whole family, which is what "disconnect" means. All times use the sandbox clock so tests
expire tokens with ``clock.advance``.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

INVALID_REFRESH = "Incorrect or invalid refresh token"


class TokenError(Exception):
    """An OAuth error answer: ``status`` plus the JSON body."""

    def __init__(self, status: int, error: str, description: str | None = None):
        super().__init__(error)
        self.status = status
        self.body = {"error": error}
        if description:
            self.body["error_description"] = description


@dataclass
class Family:
    realm_id: str
    hard_expires_at: float
    current_refresh: str = ""
    revoked: bool = False
    # refresh token -> (expires_at, superseded_at or None)
    refresh: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    access: set[str] = field(default_factory=set)


@dataclass
class AccessGrant:
    realm_id: str
    expires_at: float
    family: Family


class TokenStore:
    """Codes, access tokens and refresh-token families. Thread-safe."""

    def __init__(self, cfg, clock) -> None:
        self.cfg = cfg
        self.clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (realm, expires_at)
        self._access: dict[str, AccessGrant] = {}
        self._refresh_index: dict[str, Family] = {}

    def issue_code(self, realm_id: str) -> str:
        code = "AB11" + secrets.token_urlsafe(36)
        with self._lock:
            self._codes[code] = (realm_id, self.clock.time() + 600)
        return code

    def exchange_code(self, code: str, hard_expiry: bool) -> dict:
        now = self.clock.time()
        with self._lock:
            entry = self._codes.pop(code, None)  # a code works exactly once
            if entry is None or entry[1] < now:
                raise TokenError(400, "invalid_grant")
            family = Family(
                realm_id=entry[0], hard_expires_at=now + self.cfg.refresh_token_hard_ttl
            )
            return self._issue(family, now, hard_expiry)

    def refresh(self, token: str, hard_expiry: bool) -> dict:
        now = self.clock.time()
        with self._lock:
            family = self._refresh_index.get(token)
            if family is None or family.revoked:
                raise TokenError(400, "invalid_grant", INVALID_REFRESH)
            expires_at, superseded = family.refresh[token]
            grace = self.cfg.refresh_grace_seconds
            if (
                expires_at <= now
                or family.hard_expires_at <= now
                or (superseded is not None and (grace <= 0 or superseded + grace <= now))
            ):
                raise TokenError(400, "invalid_grant", INVALID_REFRESH)
            return self._issue(family, now, hard_expiry)

    def _issue(self, family: Family, now: float, hard_expiry: bool) -> dict:
        if family.current_refresh:
            exp, _ = family.refresh[family.current_refresh]
            family.refresh[family.current_refresh] = (exp, now)
        refresh = "RT1-" + secrets.token_urlsafe(48)
        refresh_exp = min(now + self.cfg.refresh_token_ttl, family.hard_expires_at)
        family.refresh[refresh] = (refresh_exp, None)
        family.current_refresh = refresh
        self._refresh_index[refresh] = family
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(600)
        family.access.add(access)
        self._access[access] = AccessGrant(family.realm_id, now + self.cfg.access_token_ttl, family)
        body = {
            "token_type": "bearer",
            "expires_in": int(self.cfg.access_token_ttl),
            "refresh_token": refresh,
            "x_refresh_token_expires_in": int(refresh_exp - now),
            "access_token": access,
        }
        if hard_expiry:
            body["x_refresh_token_hard_expires_in"] = int(family.hard_expires_at - now)
        return body

    def check_access(self, token: str | None) -> tuple[str | None, str]:
        """Return ``(realm_id, "")`` for a live token, else ``(None, detail)``."""
        if not token:
            return None, "Authorization header missing or malformed"
        if len(token) < 20 or len(token) > 5000:
            return None, "Malformed bearer token: too short or too long"
        with self._lock:
            grant = self._access.get(token)
            if grant is None or grant.family.revoked:
                return None, "Token invalid"
            if grant.expires_at <= self.clock.time():
                return None, "Token expired: " + token[-12:]
            return grant.realm_id, ""

    def revoke(self, token: str) -> bool:
        """Kill the family of ``token`` (access or refresh). True when something was revoked."""
        with self._lock:
            family = self._refresh_index.get(token)
            if family is None and token in self._access:
                family = self._access[token].family
            if family is None:
                return False
            family.revoked = True
            return True

    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        """Test hook: make every live access token (of one realm) expired now."""
        now = self.clock.time()
        n = 0
        with self._lock:
            for grant in self._access.values():
                if realm_id in (None, grant.realm_id) and grant.expires_at > now:
                    grant.expires_at = now
                    n += 1
        return n
