"""Progress of a sync: a bar on a terminal, periodic plain lines elsewhere.

Decision: a worker's output usually goes to a log file or journald, where a redrawn bar
is noise; so the bar appears only when stdout is a terminal, and otherwise one log line
per entity every few seconds says how far it got. Both show records done of QBO's
``COUNT(*)``, the rate and the time left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger("quickbooks_sync.sync")

LOG_EVERY_SECONDS = 10.0


@contextmanager
def progress_reporter(stream, *, disable: bool = False) -> Iterator:
    """Yield a ``callback(entity, done, total)`` suited to where ``stream`` goes."""
    isatty = getattr(getattr(stream, "_out", stream), "isatty", lambda: False)()
    if disable:
        yield None
        return
    if not isatty:
        last: dict[str, float] = {}
        rates = _Rates()

        def log_line(entity: str, done: int, total: int | None) -> None:
            rate = rates.update(entity, done)
            now = time.monotonic()
            if now - last.get(entity, 0.0) >= LOG_EVERY_SECONDS:
                last[entity] = now
                logger.info(
                    "%s: %d%s records read, %s",
                    entity,
                    done,
                    f" of {total}" if total else "",
                    _speed(done, total, rate),
                    extra={"event": "sync.progress", "entity": entity, "records": done},
                )

        yield log_line
        return

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8} rec/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        tasks: dict[str, int] = {}
        rates = _Rates()

        def draw(entity: str, done: int, total: int | None) -> None:
            restarted = rates.restarted(entity, done)
            rate = rates.update(entity, done)
            if entity not in tasks:
                tasks[entity] = bar.add_task(entity, total=total, rate="-")
            elif restarted:  # the same entity in the next realm
                bar.reset(tasks[entity], total=total)
            if total is not None and done > total:
                total = done
            shown = "-" if rate is None else f"{rate:,.0f}"
            bar.update(tasks[entity], completed=done, total=total, rate=shown)

        yield draw


class _Rates:
    """Records per second per entity since its first callback (which comes after the
    first page, so that page is not counted); restarts when the count goes down (the
    same entity of the next realm)."""

    def __init__(self) -> None:
        self._start: dict[str, tuple[float, int]] = {}
        self._done: dict[str, int] = {}

    def restarted(self, entity: str, done: int) -> bool:
        return entity in self._done and done < self._done[entity]

    def update(self, entity: str, done: int) -> float | None:
        """The rate, or None while too little time has passed to tell."""
        now = time.monotonic()
        if entity not in self._start or self.restarted(entity, done):
            self._start[entity] = (now, done)
        self._done[entity] = done
        started, first = self._start[entity]
        elapsed = now - started
        return (done - first) / elapsed if elapsed >= 0.5 else None


def _speed(done: int, total: int | None, rate: float | None) -> str:
    """Rate and time left, e.g. ``1,234 rec/s, ETA 12 s`` (no ETA without a total)."""
    if rate is None:
        return "rate: measuring"
    text = f"{rate:,.0f} rec/s"
    if total and rate > 0 and done < total:
        text += f", ETA {(total - done) / rate:,.0f} s"
    return text
