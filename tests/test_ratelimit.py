"""The per-realm request budget: never more than N in a rolling minute or M in flight."""

from __future__ import annotations

import threading
import time

from quickbooks_sync.qbo.ratelimit import RateLimiter


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_rolling_minute_is_never_exceeded_and_waits_are_short():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=5, max_in_flight=10, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(12):
        with limiter.slot():
            sent.append(clock.now)
        clock.now += 1
    for index, at in enumerate(sent):
        in_window = [t for t in sent[: index + 1] if t > at - 60]
        assert len(in_window) <= 5
    assert max(clock.sleeps) <= 60  # the 6th request waits for the 1st to age out, not days


def test_a_pause_after_429_holds_this_realm_only():
    clock = FakeClock()
    throttled = RateLimiter(per_minute=100, max_in_flight=10, clock=clock, sleep=clock.sleep)
    other = RateLimiter(per_minute=100, max_in_flight=10, clock=clock, sleep=clock.sleep)
    throttled.pause(30)
    with other.slot():
        pass
    assert clock.sleeps == []
    with throttled.slot():
        pass
    assert sum(clock.sleeps) >= 30


def test_in_flight_is_bounded():
    limiter = RateLimiter(per_minute=1000, max_in_flight=3)
    current = {"now": 0, "max": 0}
    lock = threading.Lock()

    def request():
        with limiter.slot():
            with lock:
                current["now"] += 1
                current["max"] = max(current["max"], current["now"])
            time.sleep(0.02)
            with lock:
                current["now"] -= 1

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert current["max"] == 3
