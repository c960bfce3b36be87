"""The cursor and paging rules of the sync engine, each against the trap it avoids."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from quickbooks_sync.models import Customer, Invoice, SyncState
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sync.engine import CursorError, EntitySync
from quickbooks_sync.timeutil import parse_qbo_datetime
from tests.fakeqbo import T0, FakeQBO

# Every paging rule must hold whatever QBO does with ties and Id order (API-NOTES §10).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qbo_ordering")]


def run(fake: FakeQBO, *, page_size=10, settle=0, full=False):
    state, _ = SyncState.objects.get_or_create(realm_id=fake.realm_id, object_type=fake.entity)
    return EntitySync(
        fake, ENTITIES[fake.entity], state, page_size=page_size, settle_seconds=settle, full=full
    ).run()


def stored(model=Invoice, realm_id="123145") -> dict[str, str]:
    return dict(model.objects.filter(realm_id=realm_id).values_list("qb_id", "sync_token"))


def truth(fake: FakeQBO) -> dict[str, str]:
    return {k: v["SyncToken"] for k, v in fake.records.items()}


def cursor(fake: FakeQBO):
    return parse_qbo_datetime(
        SyncState.objects.get(realm_id=fake.realm_id, object_type=fake.entity).cursor
    )


def test_backfill_pages_until_exhausted_with_no_cap():
    fake = FakeQBO()
    for i in range(1, 2501):
        fake.put(i, T0 + timedelta(seconds=i), TotalAmt=i)
    result = run(fake, page_size=1000)
    assert stored() == truth(fake)
    assert result.fetched >= 2500
    assert cursor(fake) == fake.now  # settled window end (settle 0)


def test_exact_page_multiple_is_not_mistaken_for_the_end():
    fake = FakeQBO()
    for i in range(1, 21):  # exactly two full pages
        fake.put(i, T0 + timedelta(seconds=i))
    run(fake, page_size=10)
    assert stored() == truth(fake)


def test_more_rows_in_one_second_than_a_page_holds():
    """Bulk edits give hundreds of rows one timestamp: a strict '>' would drop them."""
    fake = FakeQBO()
    for i in range(1, 36):
        fake.put(i, T0)  # 35 rows, one second, page size 10
    fake.put(99, T0 + timedelta(seconds=1))
    run(fake, page_size=10)
    assert stored() == truth(fake)


def test_row_written_later_in_the_cursor_second_is_not_lost():
    fake = FakeQBO()
    fake.now = T0  # QBO's clock is still in the second of the last rows
    for i in range(1, 4):
        fake.put(i, T0)
    run(fake, page_size=2)
    assert stored() == truth(fake)
    fake.put(4, T0)  # same second, visible only after our run
    run(fake, page_size=2)
    assert stored() == truth(fake)


def test_rows_edited_while_paging_are_not_skipped():
    """Offset paging over a moving set skips rows; keyset paging does not."""
    fake = FakeQBO()
    for i in range(1, 51):
        fake.put(i, T0 + timedelta(seconds=i))

    def edit_after_first_page(fake, index):
        if index == 2:  # requests: COUNT, page 1, then (before page 2) rows 1-3 are edited
            for qb_id in (1, 2, 3):
                fake.touch(qb_id, fake.now + timedelta(seconds=5))

    fake.before_request.append(edit_after_first_page)
    run(fake, page_size=10)
    # Offset paging would now skip rows 11-13 (they shifted left by three).
    assert set(stored()) == set(fake.records)
    fake.before_request.clear()
    fake.now += timedelta(minutes=1)
    run(fake, page_size=10)
    assert stored() == truth(fake)  # the edits arrive in the next cycle


def test_rows_leaving_a_crowded_second_mid_pass_do_not_hide_the_rest():
    fake = FakeQBO()
    for i in range(1, 46):
        fake.put(i, T0)

    def edit_during_offset_pass(fake, index):
        # Requests: COUNT, keyset page, COUNT, offset page 1, then the edit, offset page 2...
        if index == 4:
            for qb_id in (1, 2, 3):
                fake.touch(qb_id, fake.now + timedelta(seconds=5))

    fake.before_request.append(edit_during_offset_pass)
    run(fake, page_size=10)
    stayed = {k for k, v in fake.records.items() if fake.ts(v) == T0}
    assert stayed <= set(stored())
    assert sum("STARTPOSITION 1 " in s for s in fake.statements) >= 3  # the pass was repeated
    fake.before_request.clear()
    fake.now += timedelta(minutes=1)
    run(fake, page_size=10)
    assert stored() == truth(fake)


def test_mixed_utc_offsets_compare_as_instants():
    fake = FakeQBO()
    fake.put(1, T0, offset="-08:00")
    fake.put(2, T0 + timedelta(seconds=1), offset="Z".replace("Z", "+00:00"))
    fake.put(3, T0 + timedelta(seconds=2), offset="-07:00")
    run(fake, page_size=2)
    assert stored() == truth(fake)
    rows = Invoice.objects.order_by("qb_updated_at").values_list("qb_id", flat=True)
    assert list(rows) == ["1", "2", "3"]


def test_cursor_never_passes_qbo_clock_minus_settle_even_with_a_fast_worker_clock():
    fake = FakeQBO()
    fake.put(1, T0)
    fake.now = T0 + timedelta(seconds=30)
    run(fake, settle=60)
    assert cursor(fake) <= fake.now - timedelta(seconds=60)
    fake.put(2, T0 + timedelta(seconds=20))  # stamped before QBO's clock, visible late
    fake.now = T0 + timedelta(minutes=5)
    run(fake, settle=60)
    assert "2" in stored()


def test_future_cursor_syncs_nothing_and_does_not_crash():
    fake = FakeQBO()
    fake.put(1, T0)
    SyncState.objects.create(
        realm_id=fake.realm_id, object_type="Invoice", cursor="2999-12-31T00:00:00+00:00"
    )
    run(fake)
    assert stored() == {}
    assert SyncState.objects.get(object_type="Invoice").cursor.startswith("2999")


def test_unparsable_cursor_refuses_to_restart_from_scratch():
    fake = FakeQBO()
    fake.put(1, T0)
    SyncState.objects.create(realm_id=fake.realm_id, object_type="Invoice", cursor="yesterday")
    with pytest.raises(CursorError, match="runsync --once --full"):
        run(fake)
    assert fake.statements == []
    assert stored() == {}


def test_inactive_customers_are_included():
    fake = FakeQBO(entity="Customer")
    fake.put(1, T0, DisplayName="Active Ltd", Active=True)
    fake.put(2, T0 + timedelta(seconds=1), DisplayName="Gone Ltd", Active=False)
    run(fake)
    assert stored(Customer) == truth(fake)
    assert Customer.objects.get(qb_id="2").active is False
    assert all("Active IN (true, false)" in s for s in fake.statements)


def test_crash_between_pages_resumes_without_loss_or_duplicates():
    fake = FakeQBO()
    for i in range(1, 36):
        fake.put(i, T0 + timedelta(seconds=i))
    fake.fail_on_request = 3  # COUNT, page 1, page 2 succeed; page 3 fails
    with pytest.raises(Exception, match="injected"):
        run(fake, page_size=10)
    kept = stored()
    assert len(kept) == 19  # page 2 starts again at the second of row 10
    assert cursor(fake) == T0 + timedelta(seconds=19)  # newest stored second
    fake.fail_on_request = None
    fake.statements.clear()
    run(fake, page_size=10)
    assert stored() == truth(fake)
    assert Invoice.objects.count() == 35
    # Resumed from the committed cursor: re-read at most the boundary second, not page 1.
    assert f"'{(T0 + timedelta(seconds=19)).isoformat()}'" in fake.statements[0]


def test_a_failed_page_write_rolls_back_rows_and_cursor(monkeypatch):
    fake = FakeQBO()
    for i in range(1, 16):
        fake.put(i, T0 + timedelta(seconds=i))
    from quickbooks_sync.sync import writer

    calls = {"n": 0}
    real = writer.SyncState.objects.filter

    def failing_filter(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second page's cursor update
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer.SyncState.objects, "filter", failing_filter)
    with pytest.raises(RuntimeError):
        run(fake, page_size=10)
    monkeypatch.undo()
    assert len(stored()) == 10  # page 2 rows rolled back with its cursor
    assert cursor(fake) == T0 + timedelta(seconds=10)


def test_rerun_is_idempotent():
    fake = FakeQBO()
    for i in range(1, 26):
        fake.put(i, T0 + timedelta(seconds=i))
    run(fake, page_size=10)
    before = list(Invoice.objects.order_by("qb_id").values("qb_id", "sync_token", "updated_at"))
    result = run(fake, page_size=10, full=True)
    after = list(Invoice.objects.order_by("qb_id").values("qb_id", "sync_token", "updated_at"))
    assert before == after
    assert result.written == 0


def test_an_older_version_never_replaces_a_newer_one():
    fake = FakeQBO()
    fake.put(1, T0 + timedelta(seconds=10), token=5, DocNumber="new")
    run(fake)
    fake.put(1, T0, token=3, DocNumber="old")  # a stale read served late
    run(fake, full=True)
    row = Invoice.objects.get(qb_id="1")
    assert (row.sync_token, row.doc_number) == ("5", "new")
    fake.put(1, T0 + timedelta(seconds=10), token=6, DocNumber="newer")  # same second, newer
    run(fake, full=True)
    assert Invoice.objects.get(qb_id="1").sync_token == "6"


def test_malformed_records_are_skipped_and_counted_the_rest_syncs(caplog):
    fake = FakeQBO()
    fake.put(1, T0)
    fake.put(2, T0 + timedelta(seconds=1))
    fake.records["3"] = {
        "SyncToken": "0",
        "MetaData": {"LastUpdatedTime": "2026-03-01T12:00:02Z"},
        "PrivateNote": "secret-payload",
    }  # no Id
    fake.put(4, T0 + timedelta(seconds=3))
    fake.records["4"]["MetaData"]["LastUpdatedTime"] = "not a time"
    fake.put(5, T0 + timedelta(seconds=4), TotalAmt={"weird": True})
    fake.put(6, T0 + timedelta(seconds=5), DocNumber="ünïcødé-" + "x" * 5000)
    result = run(fake)
    assert set(stored()) == {"1", "2", "6"}
    assert result.skipped == 3
    assert SyncState.objects.get(object_type="Invoice").records_skipped == 3
    assert "secret-payload" not in caplog.text
    assert "missing Id" in caplog.text and "Id='5'" in caplog.text


def test_reconcile_soft_deletes_only_what_qbo_denies_twice():
    fake = FakeQBO()
    for i in range(1, 31):
        fake.put(i, T0 + timedelta(seconds=i))
    run(fake)
    del fake.records["4"]  # really deleted in QBO
    fake.hidden_from_paging = {"7"}  # missed by the full read (edited mid-read) but alive
    state = SyncState.objects.get(realm_id=fake.realm_id, object_type="Invoice")
    result = EntitySync(
        fake, ENTITIES["Invoice"], state, page_size=10, settle_seconds=0, reconcile=True
    ).run()
    assert set(Invoice.objects.deleted().values_list("qb_id", flat=True)) == {"4"}
    assert result.deleted == 1
    assert result.path == "reconcile"
    state.refresh_from_db()
    assert state.deletes_verified_by == "reconcile"
    assert any("Id IN ('4', '7')" in s for s in fake.statements)


def test_columns_the_sync_does_not_own_survive_an_upsert():
    fake = FakeQBO(entity="Customer")
    fake.put(27, T0, DisplayName="Absorbed Ltd")
    run(fake)
    Customer.objects.filter(qb_id="27").update(merged_into_qb_id="31")  # from a webhook
    fake.touch(27, T0 + timedelta(seconds=5))
    run(fake, full=True)
    row = Customer.objects.get(qb_id="27")
    assert (row.sync_token, row.merged_into_qb_id) == ("1", "31")


# --- concurrent backfill: disjoint windows, cursor only over the written prefix -------------


def run_parallel(fake: FakeQBO, *, page_size=10, reconcile=False, concurrency=4):
    state, _ = SyncState.objects.get_or_create(realm_id=fake.realm_id, object_type=fake.entity)
    return EntitySync(
        fake,
        ENTITIES[fake.entity],
        state,
        page_size=page_size,
        settle_seconds=0,
        full=True,
        reconcile=reconcile,
        concurrency=concurrency,
    ).run()


@pytest.mark.django_db(transaction=True)
def test_parallel_backfill_with_crowded_seconds_reads_everything():
    fake = FakeQBO()
    n = 0
    for second in range(40):
        for _ in range(1 if second % 7 else 25):  # every 7th second is a bulk edit of 25
            n += 1
            fake.put(n, T0 + timedelta(seconds=second))
    result = run_parallel(fake)
    assert stored() == truth(fake)
    assert cursor(fake) == fake.now
    windows = {s for s in fake.statements if "STARTPOSITION 1 MAXRESULTS 10" in s and "<" in s}
    assert len(windows) >= 2, "the backfill should have been split"
    assert result.fetched >= len(fake.records)


@pytest.mark.django_db(transaction=True)
def test_parallel_windows_are_disjoint_and_cover_the_range():
    fake = FakeQBO()
    for i in range(1, 101):
        fake.put(i, T0 + timedelta(seconds=i))
    state, _ = SyncState.objects.get_or_create(realm_id=fake.realm_id, object_type="Invoice")
    sync = EntitySync(
        fake, ENTITIES["Invoice"], state, page_size=10, settle_seconds=0, full=True, concurrency=4
    )
    sync.total = sync.reader.count(sync.reader.where())
    windows = sync._plan_windows(None)
    assert len(windows) == 4
    assert windows[0].lo is None and windows[-1].hi == fake.now and windows[-1].hi_inclusive
    for left, right in itertools.pairwise(windows):
        assert left.hi == right.lo and not left.hi_inclusive
    result = sync.run()
    assert stored() == truth(fake)
    # Keyset paging re-reads the boundary second once per page; overlapping windows would
    # re-read whole windows.
    assert result.fetched - result.written <= result.requests


@pytest.mark.django_db(transaction=True)
def test_parallel_backfill_cursor_never_passes_an_unwritten_window():
    fake = FakeQBO()
    for i in range(1, 201):
        fake.put(i, T0 + timedelta(seconds=i))
    third_page = f">= '{(T0 + timedelta(seconds=19)).isoformat()}'"  # window 1, page 3

    def fail_in_first_window(fake, index):
        if third_page in fake.statements[index]:
            from quickbooks_sync.qbo.errors import ServerError

            raise ServerError("injected", status=503)

    fake.before_request.append(fail_in_first_window)
    with pytest.raises(Exception, match="injected"):
        run_parallel(fake)
    # Later windows may be fully stored, but the cursor covers only what the first window
    # wrote: every record before it is stored.
    bound = cursor(fake)
    assert bound == T0 + timedelta(seconds=19)
    assert {k for k, v in fake.records.items() if fake.ts(v) < bound} <= set(stored())
    fake.before_request.clear()
    run_parallel(fake)
    assert stored() == truth(fake)


@pytest.mark.django_db(transaction=True)
def test_parallel_reconcile_finds_deletes_and_keeps_live_rows():
    fake = FakeQBO()
    for i in range(1, 121):
        fake.put(i, T0 + timedelta(seconds=i))
    run_parallel(fake)
    for qb_id in ("5", "55", "115"):
        del fake.records[qb_id]
    result = run_parallel(fake, reconcile=True)
    assert set(Invoice.objects.deleted().values_list("qb_id", flat=True)) == {"5", "55", "115"}
    assert local_live() == truth(fake)
    assert result.deleted == 3


def local_live() -> dict[str, str]:
    return dict(Invoice.objects.live().values_list("qb_id", "sync_token"))


def test_ids_with_quotes_are_escaped_in_every_query_and_control_characters_refused():
    """An Id holding a quote must neither break a statement nor change its meaning."""
    fake = FakeQBO()
    fake.put("O'Brien-1", T0)
    fake.put("7", T0 + timedelta(seconds=1))
    fake.put("bad\nid", T0 + timedelta(seconds=2))
    result = run(fake)
    assert result.skipped == 1
    assert set(stored()) == {"O'Brien-1", "7"}
    del fake.records["O'Brien-1"]
    fake.now += timedelta(minutes=1)
    state = SyncState.objects.get(realm_id=fake.realm_id, object_type="Invoice")
    EntitySync(
        fake, ENTITIES["Invoice"], state, page_size=10, settle_seconds=0, reconcile=True
    ).run()
    assert any("Id IN ('O\\'Brien-1')" in s for s in fake.statements)
    assert Invoice.objects.get(qb_id="O'Brien-1").deleted_at is not None
    assert Invoice.objects.get(qb_id="7").deleted_at is None
