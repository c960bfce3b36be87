"""The sync process's garbage-collector policy.

Decision: a 1000-invoice page decodes into ~100,000 Python containers and maps into
tens of thousands of tuples; with CPython's default threshold (a young collection every
700 net container allocations, and older generations rescanned as the heap grows) the
cyclic collector ran often enough to take half of parse + map time (measured on the
2-core machine: 80 ms a page with the defaults, 43 ms with these). Nothing the sync builds
is cyclic (JSON trees, tuples, Decimals are freed by reference counting), so collecting
less often frees the same memory later, not never. ``runsync`` calls ``tune()`` once, after
Django is set up: what exists then (modules, settings, models) is frozen out of every
future scan.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # net container allocations between young collections
OLDER_THRESHOLDS = (20, 100)


_tuned = False


def tune() -> None:
    """Once per process (``call_command`` may run ``runsync`` many times in one)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
