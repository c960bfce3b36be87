"""Reports API handling (range splitting, 504 bisection) and the sandbox's report shape."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from quickbooks_sync.money import fetch
from quickbooks_sync.money.flatten import flatten
from quickbooks_sync.qbo.errors import RequestError, ServerError
from quickbooks_sync.sandbox import SandboxConfig, SandboxState
from quickbooks_sync.sandbox import general_ledger as sandbox_ledger
from quickbooks_sync.sandbox import reports as sandbox_reports
from quickbooks_sync.sandbox.entities import QBOError
from quickbooks_sync.sandbox.store import ENTITIES as SANDBOX_ENTITIES


def test_long_periods_are_cut_into_six_month_ranges():
    ranges = fetch.split_range(date(2025, 1, 1), date(2025, 12, 31))
    assert ranges == [(date(2025, 1, 1), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 12, 31))]


class FakeClient:
    """Answers a 504 for any range longer than ``max_days``; records what was asked."""

    realm_id = "1"
    limiter = None

    def __init__(self, max_days):
        from quickbooks_sync.qbo.client import RetryPolicy

        self.max_days, self.asked, self.retry = max_days, [], RetryPolicy(max_retries=2)
        self._sleep = lambda s: None

    def report(self, name, params, retry=None):
        start, end = (
            date.fromisoformat(params["start_date"]),
            date.fromisoformat(params["end_date"]),
        )
        self.asked.append((start, end))
        if (end - start).days + 1 > self.max_days:
            raise ServerError("gateway timeout", status=504)
        return {"Header": {}, "Columns": {"Column": []}, "Rows": {"Row": []}}


def test_a_504_splits_the_range_in_halves_instead_of_repeating_it():
    client = FakeClient(max_days=50)
    pieces = fetch.fetch_report(
        client, "ProfitAndLoss", basis="Accrual", start=date(2025, 1, 1), end=date(2025, 3, 31)
    )
    assert [(p.start, p.end) for p in pieces] == [
        (date(2025, 1, 1), date(2025, 2, 14)),
        (date(2025, 2, 15), date(2025, 3, 31)),
    ]
    assert client.asked[0] == (date(2025, 1, 1), date(2025, 3, 31))  # asked once, then split


def test_splitting_is_bounded():
    with pytest.raises(ServerError):
        fetch.fetch_report(
            FakeClient(max_days=0), "ProfitAndLoss", basis="Cash",
            start=date(2025, 1, 1), end=date(2025, 1, 31),
        )  # fmt: skip


@pytest.fixture
def state():
    return SandboxState(SandboxConfig(seed=3, customers=8, invoices=40))


NON_POSTING_DOCUMENTS = {"Estimate", "PurchaseOrder"}  # amounts, but a promise, not a posting


def test_every_sandbox_entity_with_amounts_has_a_posting_function(state):
    """Every sandbox entity either posts or is declared non-posting (never both), every
    entity with amounts posts unless it is a document that QBO does not post, and each
    transaction's entries balance and land on accounts of the realm's own chart."""
    realm = state.cfg.realms[0]
    records = {e: state.records(realm, e) for e in SANDBOX_ENTITIES}
    chart = set(records["Account"])
    for entity in SANDBOX_ENTITIES:
        objects = records[entity].values()
        posts = entity in sandbox_ledger.POSTERS
        assert posts != (entity in sandbox_ledger.NON_POSTING), entity
        has_amounts = any("TotalAmt" in o or "Amount" in o for o in objects)
        if has_amounts and entity not in NON_POSTING_DOCUMENTS:
            assert posts, f"sandbox {entity} posts nothing"
        if posts:
            assert objects, f"the sandbox seeds no {entity}"
            for obj in objects:
                entries = sandbox_ledger.POSTERS[entity](obj, records)
                assert entries, f"{entity} {obj['Id']} posts nothing"
                assert sum(e.amount for e in entries) == 0, f"{entity} {obj['Id']}"
                assert {e.account for e in entries} <= chart, f"{entity} {obj['Id']}"


@pytest.mark.parametrize("seed", [3, 7])
def test_sandbox_open_items_agree_with_its_ledger_and_party_balances(seed):
    """The generator's stored balances are those of its own transactions: per customer and
    vendor, the aging (open items at their rate) equals the A/R or A/P postings, and the
    open items in the party's currency equal its ``Balance``."""
    state = SandboxState(SandboxConfig(seed=seed, customers=30, invoices=120))
    realm = state.cfg.realms[0]
    records = {e: state.records(realm, e) for e in SANDBOX_ENTITIES}
    entries = sandbox_ledger.general_ledger(records)
    far = date(2999, 1, 1)
    for kind, account, party_entity, sign in (
        ("customer", sandbox_ledger.AR_ACCOUNT, "Customer", 1),
        ("vendor", sandbox_ledger.AP_ACCOUNT, "Vendor", -1),
    ):
        aging, control, own = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
        credits = 0
        for entity, obj, party, amount, _ in sandbox_reports._open_items(records, kind, far):
            aging[party] += amount
            _, item_sign, _, field = sandbox_ledger.OPEN_ITEMS[entity]
            own[party] += item_sign * Decimal(str(obj[field]))
            credits += item_sign < 0
        for e in entries:
            if e.account == account:
                control[e.party] += sign * e.amount
        assert {p: v for p, v in aging.items() if v} == {p: v for p, v in control.items() if v}
        assert credits, f"no open credit for any {kind}"
        for party, obj in records[party_entity].items():
            assert Decimal(str(obj["Balance"])) == own.get(party, 0), (party_entity, party)


def test_a_second_seed_batch_keeps_balances_consistent():
    state = SandboxState(SandboxConfig(seed=5, customers=10, invoices=30))
    realm = state.cfg.realms[0]
    state.seed(realm, 0, 20, **state.cfg.ledger_counts() | {"vendors": 0})
    records = {e: state.records(realm, e) for e in SANDBOX_ENTITIES}
    for party_entity, kind in (("Customer", "customer"), ("Vendor", "vendor")):
        own: dict[str, Decimal] = defaultdict(Decimal)
        for entity, (k, sign, ref, field) in sandbox_ledger.OPEN_ITEMS.items():
            if k == kind:
                for obj in records[entity].values():
                    own[obj[ref]["value"]] += sign * Decimal(str(obj.get(field) or 0))
        for party, obj in records[party_entity].items():
            assert Decimal(str(obj["Balance"])) == own.get(party, 0), (party_entity, party)


@pytest.mark.parametrize("name", sandbox_reports.REPORTS)
def test_sandbox_reports_have_qbo_shape_and_balance(state, name):
    body = sandbox_reports.build(state, state.cfg.realms[0], name, {"accounting_method": "Accrual"})
    assert set(body) == {"Header", "Columns", "Rows"}
    assert body["Header"]["ReportName"] == name
    rows = flatten(body)
    if name == "TrialBalance":
        total = {r.column_key: r.amount for r in rows if r.row_type == "summary"}
        assert total["debit"] == total["credit"] > 0
    if name == "BalanceSheet":
        totals = [r.amount for r in rows if r.row_type == "summary" and r.name.startswith("TOTAL")]
        assert totals[0] == totals[-1]  # assets = liabilities and equity


def test_unknown_report_is_a_validation_fault(state):
    with pytest.raises(QBOError) as err:
        sandbox_reports.build(state, state.cfg.realms[0], "NoSuchReport", {})
    assert err.value.code == "2010"


def test_unknown_report_over_http_is_a_400(sandbox, make_token):
    from quickbooks_sync.sandbox import DEFAULT_REALM
    from quickbooks_sync.sync.runner import build_client

    code = sandbox.state.issue_authorization_code(DEFAULT_REALM)
    from django.core.management import call_command

    call_command("bootstrap_tokens", code=code, realm_id=DEFAULT_REALM, redirect_uri="http://x/cb")
    with pytest.raises(RequestError) as err:
        build_client(DEFAULT_REALM).report("NoSuchReport", {})
    assert err.value.status == 400 and err.value.code == "2010"


def test_flatten_reads_nested_sections_summaries_and_ids():
    report = {
        "Header": {"ReportName": "ProfitAndLoss"},
        "Columns": {"Column": [{"ColTitle": "", "ColType": "Account"},
                               {"ColTitle": "Total", "ColType": "Money"}]},
        "Rows": {"Row": [
            {"type": "Section", "group": "Income",
             "Header": {"ColData": [{"value": "Income"}, {"value": ""}]},
             "Rows": {"Row": [
                 {"type": "Section", "Header": {"ColData": [{"value": "Services", "id": "1"},
                                                            {"value": "10.00"}]},
                  "Rows": {"Row": [{"type": "Data", "ColData": [
                      {"value": "Landscaping", "id": "45"}, {"value": "1,234.50"}]}]},
                  "Summary": {"ColData": [{"value": "Total Services"}, {"value": "1244.50"}]}},
                 {"type": "Data", "ColData": [{"value": "Misc", "id": "9"}, {"value": ""}]}]},
             "Summary": {"ColData": [{"value": "Total Income"}, {"value": "1244.50"}]}}]},
    }  # fmt: skip
    rows = flatten(report)
    assert [(r.section_path, r.row_type, r.qb_id, r.column_key, str(r.amount)) for r in rows] == [
        ("Income/Services", "data", "1", "Total", "10.00"),
        ("Income/Services", "data", "45", "Total", "1234.50"),
        ("Income/Services", "summary", "", "Total", "1244.50"),
        ("Income", "summary", "", "Total", "1244.50"),
    ]
    assert rows[1].cells[0] == {"value": "Landscaping", "id": "45"}
