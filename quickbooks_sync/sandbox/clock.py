"""The sandbox clock and QBO's timestamp formats.

Why a clock of our own: token expiry, the CDC 30-day window and every LastUpdatedTime are
judged against "now", and tests need to move "now" (expire a token, age a cursor) without
sleeping. The clock ticks with real time by default; ``set``/``advance`` shift it and
``freeze`` stops it. All internal times are float/int epoch seconds; QBO renders them in the
company zone (sandboxes are US Pacific, so offsets are -08:00 or -07:00 with DST).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

COMPANY_TZ = ZoneInfo("America/Los_Angeles")


class SandboxClock:
    """Real time plus an offset, or a frozen instant. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen: float | None = None

    def time(self) -> float:
        """Epoch seconds 'now' as the sandbox sees it."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def set(self, dt: datetime) -> None:
        """Jump to ``dt`` (aware). A frozen clock stays frozen, a ticking one keeps ticking."""
        target = _aware(dt).timestamp()
        with self._lock:
            if self._frozen is not None:
                self._frozen = target
            else:
                self._offset = target - time.time()

    def advance(self, seconds: float = 0.0, **kwargs: float) -> None:
        """Move forward by ``seconds`` (plus any timedelta keywords: minutes=, hours=, days=)."""
        delta = seconds + timedelta(**kwargs).total_seconds()
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta

    def freeze(self, dt: datetime | None = None) -> None:
        """Stop the clock at ``dt`` (default: the current sandbox time)."""
        target = _aware(dt).timestamp() if dt is not None else self.time()
        with self._lock:
            self._frozen = target

    def unfreeze(self) -> None:
        """Resume ticking from the frozen instant."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
                self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("sandbox clock needs an aware datetime")
    return dt


def fmt_qbo(epoch: float) -> str:
    """MetaData timestamp: whole seconds with the company's UTC offset."""
    return datetime.fromtimestamp(int(epoch), COMPANY_TZ).isoformat()


def fmt_time_ms(epoch: float) -> str:
    """Envelope ``time``: milliseconds with the company's UTC offset."""
    return datetime.fromtimestamp(epoch, COMPANY_TZ).isoformat(timespec="milliseconds")


def company_date(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, COMPANY_TZ).date()


_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_qbo_datetime(text: str) -> float:
    """Parse a datetime literal as clients send it; return epoch seconds.

    Accepts ``2026-03-01``, ``2026-03-01T10:20``, ``...:30``, ``...:30.123``, followed by
    ``Z``, ``-07:00``, ``-0700`` or ``-07``. No offset means the company zone (an unverified
    guess documented in the notes; clients should always send an offset).
    """
    m = _DT_RE.match(text.strip())
    if not m:
        raise ValueError(f"invalid date/time: {text!r}")
    y, mo, d, hh, mi, ss, frac, off = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    naive = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro)  # noqa: DTZ001
    if off is None:
        return naive.replace(tzinfo=COMPANY_TZ).timestamp()
    if off == "Z":
        return naive.replace(tzinfo=UTC).timestamp()
    sign = -1 if off[0] == "-" else 1
    digits = off[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return naive.replace(tzinfo=UTC).timestamp() - sign * minutes * 60
