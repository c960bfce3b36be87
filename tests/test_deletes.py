"""The local copy equals QBO, deletes included: CDC, its limits, and the reconcile fallback."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command

from quickbooks_sync.models import Customer, Invoice, SyncState
from quickbooks_sync.registry import ENTITIES
from tests.test_e2e import REALM, _small_pages, assert_equal_to_truth, bootstrap  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def sync():
    call_command("runsync", "--once", "--no-progress")


@pytest.fixture
def synced(sandbox):
    bootstrap(sandbox)
    sync()
    sandbox.state.clock.advance(seconds=60)
    return sandbox


def verified_by(entity: str) -> str:
    return SyncState.objects.get(realm_id=REALM, object_type=entity).deletes_verified_by


def test_deleted_invoice_is_soft_deleted_in_the_next_cycle_and_keeps_its_data(synced):
    before = Invoice.objects.get(qb_id="5").raw_data
    synced.state.delete(REALM, "Invoice", "5")
    sync()
    row = Invoice.objects.get(qb_id="5")
    assert row.deleted_at is not None
    assert row.raw_data == before  # last version kept for audit
    assert not Invoice.objects.live().filter(qb_id="5").exists()
    assert verified_by("Invoice") == "cdc"
    assert_equal_to_truth(synced)


def test_customer_deactivated_then_reactivated_follows_qbo(synced):
    synced.state.deactivate(REALM, "Customer", "2")
    sync()
    customer = Customer.objects.get(qb_id="2")
    assert (customer.active, customer.deleted_at) == (False, None)  # still there, inactive
    synced.state.clock.advance(seconds=60)
    synced.state.activate(REALM, "Customer", "2")
    sync()
    assert Customer.objects.get(qb_id="2").active is True


def test_voided_invoice_is_shown_as_voided_not_deleted(synced):
    synced.state.void(REALM, "Invoice", "7")
    sync()
    row = Invoice.objects.get(qb_id="7")
    assert row.voided is True
    assert row.deleted_at is None
    assert row.total_amt == 0


def test_merged_customer_is_no_longer_live(synced):
    synced.state.merge_customers(REALM, "9", "10")
    sync()
    assert not Customer.objects.live().filter(qb_id="9").exists()
    assert Customer.objects.filter(qb_id="9").exists()
    assert_equal_to_truth(synced)


def test_more_changes_than_one_cdc_answer_holds_all_arrive_deletes_included(sandbox):
    sandbox.state.seed(REALM, customers=0, invoices=1600, seed=3)
    bootstrap(sandbox)
    sync()
    sandbox.state.clock.advance(seconds=60)
    ids = sorted(sandbox.state.records(REALM, "Invoice"), key=int)
    sandbox.state.bulk_touch(REALM, "Invoice", ids[:1500])
    for qb_id in ids[1500:1520]:
        sandbox.state.delete(REALM, "Invoice", qb_id)
    sandbox.state.update(REALM, "Customer", "1", {"DisplayName": "Still via CDC"})
    sync()
    assert_equal_to_truth(sandbox)
    assert Invoice.objects.deleted().count() == 20
    assert verified_by("Invoice") == "reconcile"  # its own answer hit the cap
    assert verified_by("Customer") == "cdc"  # a small answer is trusted
    assert Customer.objects.get(qb_id="1").display_name == "Still via CDC"


def test_worker_down_31_days_reconciles_deletes(synced):
    for qb_id in ("3", "4"):
        synced.state.delete(REALM, "Invoice", qb_id)
    synced.state.clock.advance(seconds=31 * 86400)  # CDC can no longer look back that far
    synced.state.update(REALM, "Invoice", "8", {"PrivateNote": "edited after the gap"})
    sync()
    assert set(Invoice.objects.deleted().values_list("qb_id", flat=True)) == {"3", "4"}
    assert verified_by("Invoice") == "reconcile"
    assert_equal_to_truth(synced)
    # Back inside the window, the next cycle uses CDC again: one request.
    synced.state.clock.advance(seconds=60)
    synced.state.reset_stats()
    sync()
    assert synced.state.stats()["api_requests"][REALM]["total"] == 1
    assert verified_by("Invoice") == "cdc"


def test_idle_cycle_costs_one_request_per_realm(synced):
    synced.state.reset_stats()
    sync()
    assert synced.state.stats()["api_requests"][REALM]["total"] == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_mix_of_changes_leaves_live_rows_equal_to_qbo(synced, seed):
    rng = random.Random(seed)
    state = synced.state
    for _ in range(3):
        for _ in range(40):
            customers = sorted(state.records(REALM, "Customer"), key=int)
            invoices = sorted(state.records(REALM, "Invoice"), key=int)
            action = rng.choice(["edit", "deactivate", "activate", "void", "delete", "create"])
            if action == "edit":
                state.update(REALM, "Invoice", rng.choice(invoices), {"PrivateNote": "x"})
            elif action == "deactivate":
                state.deactivate(REALM, "Customer", rng.choice(customers))
            elif action == "activate":
                state.activate(REALM, "Customer", rng.choice(customers))
            elif action == "void":
                state.void(REALM, "Invoice", rng.choice(invoices))
            elif action == "delete":
                state.delete(REALM, "Invoice", rng.choice(invoices))
            else:
                state.create(
                    REALM,
                    "Invoice",
                    {
                        "CustomerRef": {"value": rng.choice(customers)},
                        "Line": [
                            {
                                "Amount": 12.5,
                                "DetailType": "SalesItemLineDetail",
                                "SalesItemLineDetail": {},
                            }
                        ],
                    },
                )
            state.clock.advance(seconds=rng.choice([0, 0, 1, 2]))
        sync()
        assert_equal_to_truth(synced)
        state.clock.advance(seconds=30)


def test_verifysync_passes_when_whole_and_names_differences_when_not(synced, capsys):
    call_command("verifysync", "--ids")
    out = capsys.readouterr().out
    assert out.count("OK") == len(ENTITIES)
    # Break the copy: a missing row, a stale row, and a row QBO no longer has.
    Invoice.objects.filter(qb_id="1").delete()
    Invoice.objects.filter(qb_id="2").update(sync_token="999")
    synced.state.delete(REALM, "Invoice", "3")
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="differ from QBO"):
        call_command("verifysync", "--ids", "--entity", "Invoice")
    out = capsys.readouterr().out
    assert "missing locally: 1: 1" in out
    assert "different SyncToken: 1: 2" in out
    assert "live locally but not in QBO: 1: 3" in out
    Invoice.objects.filter(qb_id="4").delete()  # now the counts differ too
    with pytest.raises(CommandError):
        call_command("verifysync", "--entity", "Invoice")
    assert "MISMATCH realm" in capsys.readouterr().out
    call_command("runsync", "--once", "--full", "--no-progress")  # re-read restores 1 and 4
    call_command("verifysync", "--entity", "Invoice")
