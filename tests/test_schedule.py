"""``runsync --loop`` after ``--once``, and a changed SYNC_INTERVAL_MINUTES.

Before: the worker silently waited out a due time written under the old interval.
Safeguards: ``services.companies_reschedule`` (due = last finish + current interval for
scheduled realms) and the worker printing each realm's next due time.
"""

from __future__ import annotations

import queue
import signal
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from quickbooks_sync.models import Company
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.selectors import describe_due
from quickbooks_sync.services import companies_reschedule
from tests.reliability.harness import ScratchDB, bootstrap, command_env, manage, migrate, spawn

pytestmark = pytest.mark.django_db


def _company(realm: str, *, finished_ago: float, due_in: float, failures: int = 0) -> Company:
    now = timezone.now()
    return Company.objects.create(
        realm_id=realm,
        last_sync_finished_at=now - timedelta(minutes=finished_ago),
        next_sync_due_at=now + timedelta(minutes=due_in),
        consecutive_failures=failures,
    )


@pytest.mark.parametrize(("interval", "expect_after_finish"), [(2, 2), (20, 20), (0.5, None)])
def test_scheduled_due_times_follow_the_current_interval(settings, interval, expect_after_finish):
    now = timezone.now()
    scheduled = _company("1", finished_ago=1, due_in=4)  # written with a 5-min interval
    past = _company("3", finished_ago=10, due_in=-2)  # marked due by a webhook: keep
    backing_off = _company("4", finished_ago=1, due_in=30, failures=3)  # keep its back-off
    kept = {c.pk: c.next_sync_due_at for c in (past, backing_off)}

    settings.SYNC_INTERVAL_MINUTES = interval
    assert companies_reschedule(now=now) == 1
    scheduled.refresh_from_db()
    if expect_after_finish is None:  # finished 1 min ago, interval 30 s: due at once
        assert scheduled.next_sync_due_at == now
    else:
        expected = scheduled.last_sync_finished_at + timedelta(minutes=expect_after_finish)
        assert scheduled.next_sync_due_at == expected
    for pk, before in kept.items():
        assert Company.objects.get(pk=pk).next_sync_due_at == before


def test_describe_due_says_when():
    now = timezone.now()
    assert describe_due(None, now=now) == "due now"
    assert describe_due(now - timedelta(seconds=1), now=now) == "due now"
    assert describe_due(now + timedelta(minutes=4), now=now).endswith("(in 4 min)")


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _wait_for(lines: queue.Queue, needle: str, seen: list[str]) -> None:
    """Read the worker's output until ``needle``; a generous bound, not a race."""
    while True:
        line = lines.get(timeout=120)
        if line is None:
            raise AssertionError(f"worker exited before {needle!r}: {''.join(seen)}")
        seen.append(line)
        if needle in line:
            return


@pytest.mark.django_db(transaction=True)
def test_loop_after_once_uses_the_new_interval_and_says_when(tmp_path):
    with (
        SandboxServer(SandboxConfig(customers=5, invoices=10)) as server,
        ScratchDB("schedule", tmp_path) as db,
    ):
        migrate(db)
        bootstrap(db, server, DEFAULT_REALM)
        once = manage("runsync", "--once", "--no-progress", env=command_env(db, server))
        assert once.returncode == 0, once.stderr  # due again in 5 min (the default)

        env = command_env(db, server, SYNC_INTERVAL_MINUTES="0.02", SYNC_POLL_SECONDS="0.1")
        worker = spawn("runsync", "--loop", "--no-progress", env=env)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_lines, args=(worker.stdout, lines), daemon=True).start()
        seen: list[str] = []
        try:
            _wait_for(lines, f"realm {DEFAULT_REALM}: ", seen)  # the schedule, at start
            _wait_for(lines, f"realm {DEFAULT_REALM} Invoice", seen)  # synced, not waiting 5 min
            _wait_for(lines, f"realm {DEFAULT_REALM}: next sync", seen)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        assert worker.returncode == 0, worker.stderr.read()
