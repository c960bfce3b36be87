"""The registry is the single source: every declared entity has a model that matches its
columns, sandbox data, and consistent sandbox data; QB_ENTITIES selects among them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from quickbooks_sync.models import SyncedRecord
from quickbooks_sync.registry import ENTITIES, NAME_LIST, selected_entities
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxState
from quickbooks_sync.sandbox.catalog import CATALOG, NAME_LISTS

NOT_SYNCED = {"merged_into_qb_id"}  # set from webhooks, not from the payload
SPECS = list(ENTITIES.values())


@pytest.fixture(scope="module")
def world():
    state = SandboxState(SandboxConfig(seed=11, customers=40, invoices=160))
    return {name: state.records(DEFAULT_REALM, name) for name in CATALOG}


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_declared_columns_are_exactly_the_models_synced_fields(spec):
    base = {f.name for f in SyncedRecord._meta.get_fields()}
    own = {f.name for f in spec.model._meta.concrete_fields if not f.primary_key} - base
    assert set(spec.columns) == own - NOT_SYNCED
    for child in spec.children:
        names = {f.name for f in child.model._meta.concrete_fields}
        assert {"parent", "realm_id", *child.columns} <= names


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_registered_entity_has_sandbox_data_of_its_kind(spec, world):
    """Adding an entity without its sandbox declaration and generator fails here."""
    assert spec.name in CATALOG, f"declare {spec.name} in sandbox/catalog.py"
    assert (spec.name in NAME_LISTS) == (spec.kind == NAME_LIST)
    assert CATALOG[spec.name].voidable == spec.voidable
    records = world[spec.name]
    assert records, f"the sandbox seeds no {spec.name}: add its generator"
    for raw in records.values():
        fields = spec.to_fields(raw)
        assert tuple(fields) == spec.columns
        for child in spec.children:
            assert all(len(row) == len(child.columns) for row in child.rows(raw))


def test_sandbox_ledger_is_consistent(world):
    invoices, payments = world["Invoice"], world["Payment"]
    paid: dict[str, float] = {}
    for p in payments.values():
        for line in p["Line"]:
            for link in line["LinkedTxn"]:
                assert link["TxnType"] == "Invoice"
                paid[link["TxnId"]] = paid.get(link["TxnId"], 0) + line["Amount"]
                assert invoices[link["TxnId"]]["CustomerRef"] == p["CustomerRef"]
                assert {"TxnId": p["Id"], "TxnType": "Payment"} in invoices[link["TxnId"]][
                    "LinkedTxn"
                ]
    for iid, inv in invoices.items():
        assert inv["Balance"] == pytest.approx(inv["TotalAmt"] - paid.get(iid, 0)), iid
        for line in inv["Line"]:
            if line["DetailType"] == "SalesItemLineDetail":
                detail = line["SalesItemLineDetail"]
                assert detail["ItemRef"]["value"] in world["Item"]
                assert detail["ItemAccountRef"]["value"] in world["Account"]
    for dep in world["Deposit"].values():
        assert dep["TotalAmt"] == pytest.approx(sum(ln["Amount"] for ln in dep["Line"]))
        for line in dep["Line"]:
            payment = payments[line["LinkedTxn"][0]["TxnId"]]
            assert payment["DepositToAccountRef"]["value"] == "4"  # Undeposited Funds
            assert payment["TotalAmt"] == line["Amount"]
    for je in world["JournalEntry"].values():
        debit = sum(
            ln["Amount"]
            for ln in je["Line"]
            if ln["JournalEntryLineDetail"]["PostingType"] == "Debit"
        )
        credit = sum(
            ln["Amount"]
            for ln in je["Line"]
            if ln["JournalEntryLineDetail"]["PostingType"] == "Credit"
        )
        assert debit == pytest.approx(credit) == pytest.approx(je["TotalAmt"])
    bills, open_by_vendor = world["Bill"], {}
    for bp in world["BillPayment"].values():
        bill = bills[bp["Line"][0]["LinkedTxn"][0]["TxnId"]]
        assert bill["Balance"] == pytest.approx(bill["TotalAmt"] - bp["TotalAmt"])
    for bill in bills.values():
        vid = bill["VendorRef"]["value"]
        open_by_vendor[vid] = open_by_vendor.get(vid, 0) + bill["Balance"]
    for credit in world["VendorCredit"].values():  # an open credit nets the vendor's Balance
        vid = credit["VendorRef"]["value"]
        open_by_vendor[vid] = open_by_vendor.get(vid, 0) - credit["Balance"]
    for vid, vendor in world["Vendor"].items():
        assert vendor["Balance"] == pytest.approx(open_by_vendor.get(vid, 0)), vid


def test_qb_entities_selects_case_insensitively_in_registry_order(settings):
    settings.QB_ENTITIES = ("invoice", "CUSTOMER")
    assert [s.name for s in selected_entities()] == ["Customer", "Invoice"]
    settings.QB_ENTITIES = ()
    assert [s.name for s in selected_entities()] == list(ENTITIES)


def test_qb_entities_with_an_unknown_name_says_which_and_what_is_known(settings):
    settings.QB_ENTITIES = ("Invoice", "Invoices")
    with pytest.raises(ImproperlyConfigured) as exc:
        selected_entities()
    message = str(exc.value)
    assert "QB_ENTITIES" in message and "unknown entity Invoices" in message
    assert "JournalEntry" in message  # lists what is allowed


def test_sandbox_surface_is_consistent(world):
    """Tax codes used by transactions exist and their tax lines are their rates; classes
    and departments on lines exist; converted estimates and received purchase orders link
    both ways; every foreign currency has a rate."""
    codes, rates = world["TaxCode"], world["TaxRate"]
    for est in world["Estimate"].values():
        tax = est.get("TxnTaxDetail", {})
        if tax.get("TaxLine"):
            code = codes[tax["TxnTaxCodeRef"]["value"]]
            allowed = {d["TaxRateRef"]["value"] for d in code["SalesTaxRateList"]["TaxRateDetail"]}
            for line in tax["TaxLine"]:
                detail = line["TaxLineDetail"]
                assert detail["TaxRateRef"]["value"] in allowed & set(rates)
                assert line["Amount"] == pytest.approx(
                    detail["NetAmountTaxable"] * detail["TaxPercent"] / 100, abs=0.01
                )
        if est.get("DepartmentRef"):
            assert est["DepartmentRef"]["value"] in world["Department"]
        for line in est["Line"]:
            ref = line.get("SalesItemLineDetail", {}).get("ClassRef")
            assert ref is None or ref["value"] in world["Class"]
        for link in est.get("LinkedTxn", []):
            invoice = world["Invoice"][link["TxnId"]]
            assert {"TxnId": est["Id"], "TxnType": "Estimate"} in invoice["LinkedTxn"]
            assert invoice["TotalAmt"] == est["TotalAmt"]
    assert any(e.get("LinkedTxn") for e in world["Estimate"].values())
    for po in world["PurchaseOrder"].values():
        for link in po.get("LinkedTxn", []):
            bill = world["Bill"][link["TxnId"]]
            assert {"TxnId": po["Id"], "TxnType": "PurchaseOrder"} in bill["LinkedTxn"]
    assert any(p.get("LinkedTxn") for p in world["PurchaseOrder"].values())
    foreign = {
        r["CurrencyRef"]["value"]
        for r in (*world["Customer"].values(), *world["Vendor"].values())
        if r["CurrencyRef"]["value"] != "USD"
    }
    assert foreign and foreign <= {r["SourceCurrencyCode"] for r in world["ExchangeRate"].values()}
    for rate in world["TaxRate"].values():
        assert rate["AgencyRef"]["value"] in world["TaxAgency"]
