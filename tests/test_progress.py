"""Backfill progress off a terminal: periodic log lines with done of total, rate and ETA."""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace

from quickbooks_sync.sync import progress


def test_log_lines_show_done_of_total_rate_and_eta(monkeypatch, caplog):
    now = [100.0]
    monkeypatch.setattr(progress, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(progress, "LOG_EVERY_SECONDS", 1.0)
    caplog.set_level(logging.INFO, logger="quickbooks_sync.sync")
    with progress.progress_reporter(io.StringIO()) as report:
        report("Invoice", 1000, 3000)  # first page: no rate yet
        now[0] = 104.0
        report("Invoice", 2000, 3000)  # 1000 more records in 4 s
        now[0] = 200.0
        report("Invoice", 500, None)  # the next realm starts over
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "Invoice: 1000 of 3000 records read, rate: measuring",
        "Invoice: 2000 of 3000 records read, 250 rec/s, ETA 4 s",
        "Invoice: 500 records read, rate: measuring",
    ]
    assert caplog.records[1].entity == "Invoice" and caplog.records[1].records == 2000


def test_disabled_reporter_yields_none():
    with progress.progress_reporter(io.StringIO(), disable=True) as report:
        assert report is None
