"""Fixtures of the reliability suite (see harness.py for the plumbing)."""

from __future__ import annotations

import pytest

from tests.reliability.harness import FULL


@pytest.fixture(autouse=True)
def _slow_only_in_full_run(request):
    """``@pytest.mark.slow`` scenarios run only under ``RELIABILITY_FULL=1``."""
    if request.node.get_closest_marker("slow") and not FULL:
        pytest.skip("long scenario: run with RELIABILITY_FULL=1 (make reliability)")
