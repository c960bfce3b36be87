"""One test per transaction type: hand-written JSON in Intuit's documented shape."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quickbooks_sync.money import postings as P


def net(postings) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for p in postings:
        out[p.account] = out.get(p.account, Decimal(0)) + p.amount
    return {k: v for k, v in out.items() if v}


def balanced(postings) -> bool:
    return sum((p.amount for p in postings), Decimal(0)) == 0


def sales_line(amount, account="79", item="7"):
    detail = {"ItemRef": {"value": item}}
    if account:
        detail["ItemAccountRef"] = {"value": account, "name": "Sales"}
    return {"Id": "1", "Amount": amount, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": detail}  # fmt: skip


def expense_line(amount, account="7"):
    return {"Amount": amount, "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}}}  # fmt: skip


SUBTOTAL = {"Amount": 999, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}


def test_invoice_debits_ar_and_credits_income_per_line():
    raw = {"Id": "130", "TxnDate": "2026-02-01", "TotalAmt": 375.5,
           "CustomerRef": {"value": "58"},
           "Line": [sales_line(300), sales_line(75.5, account="80"), SUBTOTAL]}  # fmt: skip
    out = P.invoice(raw)
    assert net(out) == {P.AR: Decimal("375.50"), "79": Decimal("-300.00"), "80": Decimal("-75.50")}
    assert balanced(out)
    ar = next(p for p in out if p.account == P.AR)
    assert ar.counterparty == ("customer", "58") and ar.txn_id == "130"


def test_invoice_income_account_from_item_discount_group_and_tax():
    items = {"7": {"IncomeAccountRef": {"value": "81"}}}.get
    raw = {"Id": "1", "TotalAmt": 98, "ARAccountRef": {"value": "84"},
           "TxnTaxDetail": {"TotalTax": 8},
           "Line": [sales_line(100, account=None),
                    {"Amount": 10, "DetailType": "DiscountLineDetail",
                     "DiscountLineDetail": {"DiscountAccountRef": {"value": "86"}}},
                    {"DetailType": "GroupLineDetail",
                     "GroupLineDetail": {"Line": [sales_line(0, account="79")]}}]}  # fmt: skip
    assert net(P.invoice(raw, items)) == {
        "84": Decimal("98.00"),
        "81": Decimal("-100.00"),
        "86": Decimal("10.00"),
        P.SALES_TAX: Decimal("-8.00"),
    }


def test_invoice_amount_no_line_explains_is_unmodelled():
    """Shipping (no account in the JSON) leaves TotalAmt above lines + tax."""
    raw = {"Id": "1", "TotalAmt": 115, "TxnTaxDetail": {"TotalTax": 2},
           "Line": [sales_line(100),
                    {"Amount": 10, "DetailType": "SalesItemLineDetail",
                     "SalesItemLineDetail": {"ItemRef": {"value": "SHIPPING_ITEM_ID"},
                                             "ItemAccountRef": {"value": "79"}}}]}  # fmt: skip
    assert net(P.invoice(raw))[P.UNMODELLED] == Decimal("-3.00")


def test_invoice_in_foreign_currency_converts_each_line_and_balances():
    raw = {"Id": "2", "TotalAmt": 10.01, "ExchangeRate": 0.73,
           "Line": [sales_line(5.005), sales_line(5.005, account="80")]}  # fmt: skip
    out = P.invoice(raw)
    assert balanced(out)
    # A/R is HomeTotalAmt (10.01 x 0.73 = 7.3073 -> 7.31); the lines round to 3.65 each
    # and the cent left over goes to the largest (the first of equals).
    assert net(out) == {P.AR: Decimal("7.31"), "79": Decimal("-3.66"), "80": Decimal("-3.65")}


def test_foreign_payment_of_a_foreign_invoice_clears_ar_to_the_cent():
    invoice = {"Id": "2", "TotalAmt": 10.01, "ExchangeRate": 0.73,
               "Line": [sales_line(5.005), sales_line(5.005)]}  # fmt: skip
    pay = {"Id": "3", "TotalAmt": 10.01, "ExchangeRate": 0.73, "Line": []}
    ar = sum(p.amount for p in P.invoice(invoice) + P.payment(pay) if p.account == P.AR)
    assert ar == 0


def test_home_rounds_half_away_from_zero():
    assert P.home(Decimal("2.50"), Decimal("0.73")) == Decimal("1.83")  # 1.825
    assert P.home(Decimal("-2.50"), Decimal("0.73")) == Decimal("-1.83")


def test_unmapped_line_account_is_named():
    out = P.invoice({"Id": "3", "TotalAmt": 5, "Line": [sales_line(5, account=None)]})
    assert net(out) == {P.AR: Decimal("5.00"), P.UNMAPPED: Decimal("-5.00")}


def test_credit_memo_reverses_an_invoice():
    raw = {"Id": "9", "TotalAmt": 50, "CustomerRef": {"value": "58"}, "Line": [sales_line(50)]}
    assert net(P.credit_memo(raw)) == {P.AR: Decimal("-50.00"), "79": Decimal("50.00")}


def test_sales_receipt_deposits_and_credits_income():
    raw = {"Id": "4", "TotalAmt": 20, "DepositToAccountRef": {"value": "35"},
           "Line": [sales_line(20)]}  # fmt: skip
    assert net(P.sales_receipt(raw)) == {"35": Decimal("20.00"), "79": Decimal("-20.00")}
    del raw["DepositToAccountRef"]
    assert net(P.sales_receipt(raw))[P.UNDEPOSITED] == Decimal("20.00")


def test_refund_receipt_pays_out_of_the_account():
    raw = {"Id": "5", "TotalAmt": 20, "DepositToAccountRef": {"value": "35"},
           "Line": [sales_line(20)]}  # fmt: skip
    assert net(P.refund_receipt(raw)) == {"35": Decimal("-20.00"), "79": Decimal("20.00")}


def test_payment_credits_ar_for_its_total_applied_or_not():
    raw = {"Id": "6", "TotalAmt": 100, "UnappliedAmt": 25, "CustomerRef": {"value": "58"},
           "Line": [{"Amount": 75,
                     "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}]}  # fmt: skip
    out = P.payment(raw)
    assert net(out) == {P.UNDEPOSITED: Decimal("100.00"), P.AR: Decimal("-100.00")}
    assert next(p for p in out if p.account == P.AR).counterparty == ("customer", "58")


def test_bill_debits_expenses_and_credits_ap_with_item_lines():
    items = {"11": {"ExpenseAccountRef": {"value": "60"}}}.get
    raw = {"Id": "7", "TotalAmt": 150, "VendorRef": {"value": "41"},
           "Line": [expense_line(100),
                    {"Amount": 50, "DetailType": "ItemBasedExpenseLineDetail",
                     "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "11"}}}]}  # fmt: skip
    out = P.bill(raw, items)
    assert net(out) == {"7": Decimal("100.00"), "60": Decimal("50.00"), P.AP: Decimal("-150.00")}
    assert next(p for p in out if p.account == P.AP).counterparty == ("vendor", "41")


def test_bill_item_line_of_an_inventory_item_debits_its_asset_account():
    items = {"6": {"Type": "Inventory", "ExpenseAccountRef": {"value": "80"},
                   "AssetAccountRef": {"value": "81"}}}.get  # fmt: skip
    raw = {"Id": "7", "TotalAmt": 50, "VendorRef": {"value": "41"},
           "Line": [{"Amount": 50, "DetailType": "ItemBasedExpenseLineDetail",
                     "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "6"}}}]}  # fmt: skip
    assert net(P.bill(raw, items)) == {"81": Decimal("50.00"), P.AP: Decimal("-50.00")}


def test_vendor_credit_reverses_a_bill():
    raw = {"Id": "8", "TotalAmt": 30, "VendorRef": {"value": "41"}, "Line": [expense_line(30)]}
    assert net(P.vendor_credit(raw)) == {"7": Decimal("-30.00"), P.AP: Decimal("30.00")}


def test_bill_payment_by_check_and_by_card():
    raw = {"Id": "10", "TotalAmt": 150, "VendorRef": {"value": "41"}, "PayType": "Check",
           "CheckPayment": {"BankAccountRef": {"value": "35"}},
           "Line": [{"Amount": 150, "LinkedTxn": [{"TxnId": "7", "TxnType": "Bill"}]}]}  # fmt: skip
    assert net(P.bill_payment(raw)) == {P.AP: Decimal("150.00"), "35": Decimal("-150.00")}
    raw = {**raw, "PayType": "CreditCard", "CheckPayment": None,
           "CreditCardPayment": {"CCAccountRef": {"value": "41"}}}  # fmt: skip
    assert net(P.bill_payment(raw))["41"] == Decimal("-150.00")


def test_purchase_and_card_refund():
    raw = {"Id": "11", "TotalAmt": 40, "AccountRef": {"value": "35"}, "PaymentType": "Cash",
           "Line": [expense_line(40)]}  # fmt: skip
    assert net(P.purchase(raw)) == {"7": Decimal("40.00"), "35": Decimal("-40.00")}
    assert net(P.purchase({**raw, "Credit": True})) == {
        "7": Decimal("-40.00"),
        "35": Decimal("40.00"),
    }


def test_deposit_of_payments_and_other_income_with_cash_back():
    raw = {"Id": "12", "TotalAmt": 170, "DepositToAccountRef": {"value": "35"},
           "CashBack": {"AccountRef": {"value": "36"}, "Amount": 30},
           "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": "6", "TxnType": "Payment"}]},
                    {"Amount": 100, "DetailType": "DepositLineDetail",
                     "DepositLineDetail": {"AccountRef": {"value": "82"}}}]}  # fmt: skip
    out = P.deposit(raw)
    assert net(out) == {
        "35": Decimal("170.00"),
        "36": Decimal("30.00"),
        P.UNDEPOSITED: Decimal("-100.00"),
        "82": Decimal("-100.00"),
    }


def test_journal_entry_posts_debits_and_credits_with_entities():
    line = {"DetailType": "JournalEntryLineDetail"}
    raw = {"Id": "13", "Line": [
        {**line, "Amount": 25, "JournalEntryLineDetail": {
            "PostingType": "Debit", "AccountRef": {"value": "84"},
            "Entity": {"Type": "Customer", "EntityRef": {"value": "58"}}}},
        {**line, "Amount": 25, "JournalEntryLineDetail": {
            "PostingType": "Credit", "AccountRef": {"value": "79"}}}]}  # fmt: skip
    out = P.journal_entry(raw)
    assert net(out) == {"84": Decimal("25.00"), "79": Decimal("-25.00")}
    assert out[0].counterparty == ("customer", "58")


def test_unbalanced_journal_entry_shows_as_unmodelled():
    line = {
        "Amount": 5,
        "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": "84"}},
    }
    assert net(P.journal_entry({"Id": "14", "Line": [line]}))[P.UNMODELLED] == Decimal("-5.00")


def test_transfer_moves_money_between_accounts():
    raw = {
        "Id": "15",
        "Amount": 500,
        "FromAccountRef": {"value": "35"},
        "ToAccountRef": {"value": "36"},
    }
    assert net(P.transfer(raw)) == {"36": Decimal("500.00"), "35": Decimal("-500.00")}


def test_credit_card_payment_pays_the_card_from_the_bank():
    raw = {"Id": "17", "TxnDate": "2026-03-01", "Amount": 250.5,
           "BankAccountRef": {"value": "35"}, "CreditCardAccountRef": {"value": "41"}}  # fmt: skip
    assert net(P.credit_card_payment(raw)) == {"41": Decimal("250.50"), "35": Decimal("-250.50")}


def test_voided_transaction_posts_nothing():
    raw = {"Id": "16", "TotalAmt": 0, "PrivateNote": "Voided", "Line": [sales_line(0), SUBTOTAL]}
    assert P.invoice(raw) == []


@pytest.mark.parametrize("entity", sorted(P.RULES))
def test_every_rule_balances_and_rejects_garbage(entity):
    assert balanced(P.postings_of(entity, {"Id": "1", "TotalAmt": 12.34, "Amount": 1}))
    with pytest.raises(P.PostingError):
        P.postings_of(entity, {"Id": "1", "TotalAmt": "x", "Amount": "x", "Line": "x"})


# -- the rules against the JSON the sandbox serves ------------------------------------


@pytest.fixture(scope="module")
def sandbox_books():
    """The bundled company (default config: every ledger entity, EUR/GBP/CAD parties)."""
    from quickbooks_sync.sandbox import SandboxConfig, SandboxState
    from quickbooks_sync.sandbox import general_ledger as sandbox_ledger

    state = SandboxState(SandboxConfig())
    realm = state.cfg.realms[0]
    records = {e: state.records(realm, e) for e in state.realm(realm).tables}
    expected: dict[tuple[str, str], dict[str, Decimal]] = {}
    for entry in sandbox_ledger.general_ledger(records):
        per = expected.setdefault((entry.txn_type, entry.txn_id), {})
        per[entry.account] = per.get(entry.account, Decimal(0)) + entry.amount
    return records, expected


ROLES = {P.AR: "84", P.AP: "33", P.UNDEPOSITED: "4", P.SALES_TAX: "89"}


@pytest.mark.parametrize("entity", sorted(P.RULES))
def test_rule_reads_the_sandbox_json_of_each_type_as_the_sandbox_ledger_posts_it(
    entity, sandbox_books
):
    """Field names checked on real payloads: each transaction the sandbox serves posts,
    account by account and to the cent, what the sandbox's own ledger says (roles resolved
    to the sandbox chart), nothing unmapped or unmodelled, foreign ones included."""
    records, expected = sandbox_books
    items = records["Item"].get
    objects = records[entity].values()
    assert objects, f"the sandbox seeds no {entity}"
    for raw in objects:
        got: dict[str, Decimal] = {}
        for p in P.postings_of(entity, raw, items):
            account = ROLES.get(p.account, p.account)
            got[account] = got.get(account, Decimal(0)) + p.amount
        got = {k: v for k, v in got.items() if v}
        want = {k: v for k, v in expected.get((entity, raw["Id"]), {}).items() if v}
        assert got == want, f"{entity} {raw['Id']}"
    if entity in ("Invoice", "Payment", "Bill", "BillPayment", "CreditMemo"):
        assert any("ExchangeRate" in raw for raw in objects), f"no foreign {entity}"
