"""Per-realm request budget: QBO allows 500 requests per minute and 10 in flight.

Decision: we stay under Intuit's limits instead of bouncing off them: every request
takes a slot (bounded concurrency) and a place in a rolling 60-second window. A 429
pauses only that realm (``pause``), never the others. The budget is per process; the
multi-worker issue extends it across processes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: int,
        max_in_flight: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.max_in_flight = max_in_flight
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request of this realm for ``seconds`` (after a 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _wait_for_window(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - 60.0:
                    self._sent.popleft()
                wait = self._paused_until - now
                if wait <= 0 and len(self._sent) < self.per_minute:
                    self._sent.append(now)
                    return
                if wait <= 0:
                    wait = self._sent[0] + 60.0 - now
            self._sleep(max(wait, 0.001))

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._in_flight.acquire()
        try:
            self._wait_for_window()
            yield
        finally:
            self._in_flight.release()


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(realm_id: str, *, per_minute: int, max_in_flight: int) -> RateLimiter:
    """The process-wide limiter of one realm (shared by every client of that realm)."""
    with _limiters_lock:
        limiter = _limiters.get(realm_id)
        if limiter is None or (limiter.per_minute, limiter.max_in_flight) != (
            per_minute,
            max_in_flight,
        ):
            limiter = RateLimiter(per_minute=per_minute, max_in_flight=max_in_flight)
            _limiters[realm_id] = limiter
        return limiter
