"""Progress of a sync: a bar on a terminal, periodic plain lines elsewhere.

Decision: a worker's output usually goes to a log file or journald, where a redrawn bar
is noise; so the bar appears only when stdout is a terminal, and otherwise one log line
per entity every few seconds says how far it got.
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

        def log_line(entity: str, done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last.get(entity, 0.0) >= LOG_EVERY_SECONDS:
                last[entity] = now
                logger.info("%s: %d%s records read", entity, done, f" of {total}" if total else "")

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
        tasks: dict[str, tuple[int, float]] = {}

        def draw(entity: str, done: int, total: int | None) -> None:
            if entity not in tasks:
                tasks[entity] = (bar.add_task(entity, total=total, rate="-"), time.monotonic())
            task_id, started = tasks[entity]
            elapsed = max(time.monotonic() - started, 1e-6)
            if total is not None and done > total:
                total = done
            bar.update(task_id, completed=done, total=total, rate=f"{done / elapsed:,.0f}")

        yield draw
