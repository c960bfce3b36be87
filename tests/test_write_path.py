"""The page write path (``sync.upsert``): set-wise on both databases, the never-older rule
kept exactly, whichever backend applies it (Python on SQLite, SQL on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from quickbooks_sync.models import Invoice, SyncState
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sync import writer
from quickbooks_sync.sync.upsert import token_number

pytestmark = pytest.mark.django_db(transaction=True)
REALM = "9130350000000001"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SPEC = ENTITIES["Invoice"]


def invoice(qb_id: str, token: str, at: datetime = T0, **fields) -> dict:
    return {
        "Id": qb_id,
        "SyncToken": token,
        "MetaData": {"CreateTime": "2024-01-01T00:00:00Z", "LastUpdatedTime": at.isoformat()},
        "DocNumber": f"D{qb_id}-{token}",
        "TotalAmt": 10,
        "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {}}],
        **fields,
    }


def write(*raws: dict, deletions: dict | None = None) -> writer.PageResult:
    prepared, _ = writer.prepare_page(SPEC, REALM, list(raws))
    state, _ = SyncState.objects.get_or_create(realm_id=REALM, object_type="Invoice")
    return writer.write_page(SPEC, REALM, prepared, state=state, cursor=None, deletions=deletions)


def stored(qb_id: str) -> Invoice:
    return Invoice.objects.get(realm_id=REALM, qb_id=qb_id)


def test_sync_tokens_compare_as_numbers_not_text():
    write(invoice("1", "9"))
    assert write(invoice("1", "10")).written == 1  # as text, "10" < "9"
    assert stored("1").sync_token == "10"
    outcome = write(invoice("1", "9"))
    assert (outcome.written, outcome.unchanged) == (0, 1)
    assert stored("1").sync_token == "10"


def test_a_newer_timestamp_wins_over_a_higher_token():
    write(invoice("1", "7"))
    assert write(invoice("1", "3", at=T0 + timedelta(seconds=1))).written == 1
    assert stored("1").sync_token == "3"


def test_the_same_version_brings_back_a_soft_deleted_row_with_its_lines():
    write(invoice("1", "2"))
    write(deletions={"1": T0 + timedelta(minutes=1)})
    assert stored("1").deleted_at is not None
    outcome = write(invoice("1", "2"))
    assert outcome.written == 1
    assert stored("1").deleted_at is None
    assert stored("1").lines.count() == 1


def test_pages_written_inside_one_outer_transaction_stay_apart():
    """A page's staged rows never reach the next page's upsert (PostgreSQL's stage is
    emptied by the upsert itself, not only at commit, which a savepoint never reaches)."""
    with transaction.atomic():
        write(invoice("1", "0"))
        write(deletions={"1": T0 + timedelta(minutes=1)})
        outcome = write(invoice("2", "0"))
    assert (outcome.written, outcome.unchanged) == (1, 0)
    assert stored("1").deleted_at is not None  # not brought back by a stale staged row


def test_a_page_mixes_inserts_updates_and_stale_rows():
    write(invoice("1", "1"), invoice("2", "5"))
    outcome = write(
        invoice("1", "2", Line=[]),  # newer: lines replaced (by none)
        invoice("2", "4"),  # older: left alone, lines too
        invoice("3", "0"),  # new
    )
    assert (outcome.written, outcome.unchanged) == (2, 1)
    assert [stored(i).sync_token for i in "123"] == ["2", "5", "0"]
    assert [stored(i).lines.count() for i in "123"] == [0, 1, 1]


@pytest.mark.parametrize(
    ("token", "number"),
    [("0", 0), ("12", 12), ("007", 7), ("9" * 18, int("9" * 18))]
    + [(t, -1) for t in ("", " 5", "+5", "-5", "1_0", "\u0661", "9" * 19, "x", None)],
)
def test_token_number_is_the_same_rule_as_the_sql(token, number):
    assert token_number(token) == number


@pytest.mark.parametrize("bad", [True, False, {"value": 1}, [1], "1e400", "abc", float("nan")])
def test_a_remembered_number_never_lets_a_non_number_through(bad):
    """``mapping._number`` remembers conversions; the checks still run for every value
    (``True == 1`` and unhashable values must not reach the cache)."""
    assert write(invoice("1", "0", TotalAmt=1)).written == 1
    prepared, skipped = writer.prepare_page(SPEC, REALM, [invoice("2", "0", TotalAmt=bad)])
    assert (prepared, skipped) == ([], 1)


def test_remembered_numbers_stay_few_however_many_distinct_amounts():
    """Peak RSS must stay flat as a backfill grows (make bench: < 20 MB from 10k to 200k
    invoices); every total is a new amount, so the remembered ones are capped."""
    from quickbooks_sync import mapping

    for cents in range(3 * mapping._NUMBERS_MAX):
        mapping._money({"Amount": cents / 100}, "Amount")
    assert 0 < len(mapping._NUMBERS) <= mapping._NUMBERS_MAX <= 10_000


def test_runsync_collects_garbage_less_often(monkeypatch, sandbox):
    """Half of parse + map time went to the cyclic collector with CPython's defaults."""
    import gc

    from django.core.management import call_command

    from quickbooks_sync.sync import gcpolicy
    from tests.test_e2e import bootstrap

    bootstrap(sandbox)
    before = gc.get_threshold()
    monkeypatch.setattr(gcpolicy, "_tuned", False)
    monkeypatch.setattr(gc, "freeze", lambda: None)  # keep this test process's objects
    try:
        call_command("runsync", "--once", "--no-progress")
        assert gc.get_threshold()[0] == gcpolicy.YOUNG_THRESHOLD
        call_command("runsync", "--once", "--no-progress")  # once per process
    finally:
        gc.set_threshold(*before)
