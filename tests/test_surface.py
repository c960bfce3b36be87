"""The rest of the surface end to end: no-CDC schedules (a deactivated or removed TaxRate
is noticed once due), company facts and exchange rates, amounts in both currencies, tax
lines and custom fields as children and as a JSON column; syncstatus shows when each
entity was last proven complete."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from quickbooks_sync.models import (
    Bill,
    Estimate,
    ExchangeRate,
    Invoice,
    Preferences,
    SyncState,
    TaxRate,
)
from quickbooks_sync.sandbox import SandboxConfig
from tests.test_e2e import REALM, _small_pages, bootstrap  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_config():
    return SandboxConfig(seed=5, customers=60, invoices=120, realms=(REALM,))


def sync(capsys=None):
    call_command("runsync", "--once", "--no-progress")
    return capsys.readouterr().out if capsys else ""


def test_a_deactivated_or_removed_tax_rate_is_noticed_on_schedule_not_before(sandbox, capsys):
    bootstrap(sandbox)
    sync()
    state = sandbox.state
    state.clock.advance(seconds=60)
    state.deactivate(REALM, "TaxRate", "1")  # what QBO does: TaxRate has Active
    with state.lock:  # and one QBO no longer returns at all (never through the API)
        state.table(REALM, "TaxRate").remove(3, int(state.clock.time()))
    out = sync(capsys)
    assert "TaxRate: up to date (reconciled at" in out  # not due yet: nothing asked
    assert TaxRate.objects.get(qb_id="1").active is True
    assert TaxRate.objects.get(qb_id="3").deleted_at is None
    state.clock.advance(hours=25)
    sync()
    assert TaxRate.objects.get(qb_id="1").active is False
    assert TaxRate.objects.get(qb_id="3").deleted_at is not None
    assert SyncState.objects.get(object_type="TaxRate").deletes_verified_by == "reconcile"
    call_command("verifysync", "--ids")


def test_cdc_is_never_asked_for_what_it_refuses(sandbox):
    bootstrap(sandbox)
    sync()
    sandbox.state.clock.advance(seconds=60)
    sandbox.state.reset_stats()
    seen = []
    original = sandbox.state.count_api

    def spy(realm_id, kind):
        seen.append(kind)
        return original(realm_id, kind)

    sandbox.state.count_api = spy
    sync()
    assert seen.count("cdc") == 1  # it would fail with 400 if it named TaxRate & co.
    assert all(s.status == "success" for s in SyncState.objects.all())


def test_multi_currency_amounts_are_stored_in_both_currencies(sandbox):
    bootstrap(sandbox)
    sync()
    prefs = Preferences.objects.get(realm_id=REALM)
    assert (prefs.home_currency, prefs.multi_currency_enabled) == ("USD", True)
    invoice = Invoice.objects.exclude(currency="USD").filter(total_amt__gt=0).first()
    assert invoice.exchange_rate > 0
    assert invoice.home_total_amt == (invoice.total_amt * invoice.exchange_rate).quantize(
        Decimal("0.01")
    )
    assert invoice.home_balance == (invoice.balance * invoice.exchange_rate).quantize(
        Decimal("0.01")
    )
    bill = Bill.objects.exclude(currency="USD").first()
    assert bill is not None and bill.home_total_amt == (
        bill.total_amt * bill.exchange_rate
    ).quantize(Decimal("0.01"))
    rate = ExchangeRate.objects.get(qb_id__startswith=f"{invoice.currency}:")
    assert rate.rate == invoice.exchange_rate and rate.target_currency == "USD"
    call_command("verifysync", "--ids")


def test_tax_lines_and_custom_fields_are_children_and_a_json_column(sandbox):
    bootstrap(sandbox)
    sync()
    taxed = Estimate.objects.filter(txn_status__in=["Pending", "Accepted", "Rejected"])
    estimate = next(e for e in taxed if e.tax_lines.exists())
    total_tax = sum(t.amount for t in estimate.tax_lines.all())
    assert total_tax == Decimal(str(estimate.raw_data["TxnTaxDetail"]["TotalTax"]))
    for line in estimate.tax_lines.all():
        assert TaxRate.objects.filter(qb_id=line.tax_rate_qb_id).exists()
    assert estimate.custom_fields == {"PO #": f"PO-{estimate.qb_id}"}
    assert estimate in Estimate.objects.filter(custom_fields__has_key="PO #")
    field = estimate.custom_field_rows.get()
    assert (field.definition_id, field.name, field.field_type) == ("1", "PO #", "StringType")
    converted = Estimate.objects.filter(txn_status="Closed").first()
    invoice = Invoice.objects.get(qb_id=converted.linked_txns.get().txn_id)
    assert invoice.linked_txns.filter(txn_type="Estimate", txn_id=converted.qb_id).exists()


def test_syncstatus_shows_when_each_entity_was_last_proven_complete(sandbox, capsys):
    bootstrap(sandbox)
    sync()
    capsys.readouterr()
    call_command("syncstatus", "--json")
    rows = json.loads(capsys.readouterr().out)["rows"]
    by_entity = {r["entity"]: r for r in rows}
    assert by_entity["TaxRate"]["proven_complete_by"] == "reconcile"
    assert by_entity["TaxRate"]["proven_complete_at"]
    assert all(r["proven_complete_at"] for r in rows)
    call_command("syncstatus")
    assert "complete as of" in capsys.readouterr().out
