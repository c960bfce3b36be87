"""The sandbox's own general ledger: postings derived from its stored transactions.

Why separate from the client's ``money.postings``: the reports the sandbox serves must
come from an independent derivation, or the tie-out would compare a rule with itself.
This module is written from the sandbox's point of view (its chart of accounts, its
objects) and kept deliberately plain: one poster per entity, reading the fields the
sandbox's own generators (``ledger.py``, ``surface.py``) write.

Decisions:

* A registry keyed by entity name: ``POSTERS`` (transactions with amounts),
  ``NON_POSTING`` (name lists, company facts and documents that move no money: estimates,
  purchase orders, time) and ``OPEN_ITEMS`` (what carries an open balance for the
  agings). Every sandbox entity is in exactly one of the first two; the tests walk them.
* Accounts are the realm's own Account records (``chart``), falling back to the fixed
  chart of ``ledger.py``; the control accounts are that chart's Ids.
* Home currency (USD): the control side (A/R, A/P, bank) is the transaction's total at its
  ``ExchangeRate`` rounded to the cent (QBO's ``HomeTotalAmt``); each line is converted and
  rounded, and the cent the roundings leave is carried by the largest line, so a fully paid
  foreign invoice leaves nothing on A/R. No revaluation (unrealised gains and losses).
* Inventory items are not costed: a sale posts no cost of goods sold (QBO would, at FIFO
  cost, which no transaction's JSON states); a bill's item line debits the item's asset
  account (inventory) or its expense account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from . import ledger as seed

CENT = Decimal("0.01")
AR_ACCOUNT, AP_ACCOUNT = seed.AR, seed.AP
TAX_ACCOUNT, RETAINED_EARNINGS, UNDEPOSITED = (
    seed.SALES_TAX,
    seed.RETAINED_EARNINGS,
    seed.UNDEPOSITED,
)


@dataclass(frozen=True)
class Entry:
    txn_type: str
    txn_id: str
    txn_date: str
    account: str
    amount: Decimal  # home currency; debit > 0
    party: str = ""  # customer/vendor Id on the A/R and A/P side


def dec(value) -> Decimal:
    return Decimal(str(value or 0))


def to_home(value, rate) -> Decimal:
    return (dec(value) * dec(rate or 1)).quantize(CENT, ROUND_HALF_UP)


def chart(records: dict[str, dict[str, dict]]) -> dict[str, tuple[str, str]]:
    """Account Id -> (name, classification), from the realm's Account records."""
    out = {i: (seed.NAMES[i], seed.CLASSIFICATION[i]) for i in seed.NAMES}
    for id_, obj in (records.get("Account") or {}).items():
        out[str(id_)] = (str(obj.get("Name", "")), str(obj.get("Classification", "Asset")))
    return out


def _ref(obj: dict | None, key: str, default: str = "") -> str:
    return str(((obj or {}).get(key) or {}).get("value") or default)


class _Txn:
    """One transaction's entries: lines in its currency, then the balancing control side."""

    def __init__(self, entity: str, obj: dict):
        self.entity, self.obj = entity, obj
        self.rate = obj.get("ExchangeRate", 1)
        self.lines: list[tuple[str, Decimal, str]] = []  # (account, foreign amount, party)

    def add(self, account: str, amount, party: str = "") -> None:
        self.lines.append((account, dec(amount), party))

    def close(self, account: str | None, party: str = "") -> list[Entry]:
        """``account`` balances the lines (None: the lines balance by themselves)."""
        tid, day = str(self.obj["Id"]), str(self.obj.get("TxnDate", ""))
        homes = [to_home(a, self.rate) for _, a, _ in self.lines]
        entries: list[Entry] = []
        if account is not None:
            foreign = sum((a for _, a, _ in self.lines), Decimal(0))
            control = to_home(foreign, self.rate)
            if homes and (cents := control - sum(homes, Decimal(0))):
                big = max(range(len(homes)), key=lambda i: abs(homes[i]))
                homes[big] += cents
            entries.append(Entry(self.entity, tid, day, account, -control, party))
        for (acc, _, line_party), home in zip(self.lines, homes, strict=True):
            entries.append(Entry(self.entity, tid, day, acc, home, line_party))
        return [e for e in entries if e.amount]


def _item_accounts(records) -> dict[str, dict]:
    return records.get("Item") or {}


def _sales(t: _Txn, records, sign: int) -> None:
    """Sales lines to income (sign -1 credits), discounts the other way, tax to its
    liability account."""
    items = _item_accounts(records)
    for line in t.obj.get("Line", []):
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            detail = line["SalesItemLineDetail"]
            item = items.get(_ref(detail, "ItemRef")) or {}
            account = _ref(detail, "ItemAccountRef") or _ref(item, "IncomeAccountRef", seed.INCOME)
            t.add(account, sign * dec(line.get("Amount")))
        elif kind == "DiscountLineDetail":
            account = _ref(line["DiscountLineDetail"], "DiscountAccountRef", "86")
            t.add(account, -sign * dec(line.get("Amount")))
    tax = dec((t.obj.get("TxnTaxDetail") or {}).get("TotalTax"))
    if tax:
        t.add(TAX_ACCOUNT, sign * tax)


def _expenses(t: _Txn, records, sign: int) -> None:
    items = _item_accounts(records)
    for line in t.obj.get("Line", []):
        kind = line.get("DetailType")
        if kind == "AccountBasedExpenseLineDetail":
            t.add(_ref(line[kind], "AccountRef"), sign * dec(line.get("Amount")))
        elif kind == "ItemBasedExpenseLineDetail":
            item = items.get(_ref(line[kind], "ItemRef")) or {}
            inventory = item.get("Type") == "Inventory"
            account = _ref(item, "AssetAccountRef" if inventory else "ExpenseAccountRef")
            t.add(account or seed.COGS, sign * dec(line.get("Amount")))


def post_invoice(obj, records) -> list[Entry]:
    t = _Txn("Invoice", obj)
    _sales(t, records, -1)
    return t.close(_ref(obj, "ARAccountRef", AR_ACCOUNT), _ref(obj, "CustomerRef"))


def post_credit_memo(obj, records) -> list[Entry]:
    t = _Txn("CreditMemo", obj)
    _sales(t, records, +1)
    return t.close(_ref(obj, "ARAccountRef", AR_ACCOUNT), _ref(obj, "CustomerRef"))


def post_sales_receipt(obj, records) -> list[Entry]:
    t = _Txn("SalesReceipt", obj)
    _sales(t, records, -1)
    return t.close(_ref(obj, "DepositToAccountRef", UNDEPOSITED))


def post_refund_receipt(obj, records) -> list[Entry]:
    t = _Txn("RefundReceipt", obj)
    _sales(t, records, +1)
    return t.close(_ref(obj, "DepositToAccountRef", seed.CHECKING))


def post_payment(obj, records) -> list[Entry]:
    t = _Txn("Payment", obj)
    t.add(
        _ref(obj, "ARAccountRef", AR_ACCOUNT), -dec(obj.get("TotalAmt")), _ref(obj, "CustomerRef")
    )
    return t.close(_ref(obj, "DepositToAccountRef", UNDEPOSITED))


def post_deposit(obj, records) -> list[Entry]:
    t = _Txn("Deposit", obj)
    for line in obj.get("Line", []):
        if line.get("LinkedTxn"):  # a payment held in Undeposited Funds
            t.add(UNDEPOSITED, -dec(line.get("Amount")))
        else:
            detail = line.get("DepositLineDetail") or {}
            t.add(_ref(detail, "AccountRef"), -dec(line.get("Amount")))
    if cash_back := obj.get("CashBack"):
        t.add(_ref(cash_back, "AccountRef"), dec(cash_back.get("Amount")))
    return t.close(_ref(obj, "DepositToAccountRef", seed.CHECKING))


def post_bill(obj, records) -> list[Entry]:
    t = _Txn("Bill", obj)
    _expenses(t, records, +1)
    return t.close(_ref(obj, "APAccountRef", AP_ACCOUNT), _ref(obj, "VendorRef"))


def post_vendor_credit(obj, records) -> list[Entry]:
    t = _Txn("VendorCredit", obj)
    _expenses(t, records, -1)
    return t.close(_ref(obj, "APAccountRef", AP_ACCOUNT), _ref(obj, "VendorRef"))


def post_bill_payment(obj, records) -> list[Entry]:
    t = _Txn("BillPayment", obj)
    t.add(_ref(obj, "APAccountRef", AP_ACCOUNT), dec(obj.get("TotalAmt")), _ref(obj, "VendorRef"))
    if obj.get("PayType") == "CreditCard":
        source = _ref(obj.get("CreditCardPayment"), "CCAccountRef", seed.CARD)
    else:
        source = _ref(obj.get("CheckPayment"), "BankAccountRef", seed.CHECKING)
    return t.close(source)


def post_purchase(obj, records) -> list[Entry]:
    t = _Txn("Purchase", obj)
    refund = bool(obj.get("Credit"))
    _expenses(t, records, -1 if refund else +1)
    return t.close(_ref(obj, "AccountRef"))


def post_journal_entry(obj, records) -> list[Entry]:
    t = _Txn("JournalEntry", obj)
    for line in obj.get("Line", []):
        detail = line.get("JournalEntryLineDetail") or {}
        sign = 1 if detail.get("PostingType") == "Debit" else -1
        party = _ref((detail.get("Entity") or {}), "EntityRef")
        t.add(_ref(detail, "AccountRef"), sign * dec(line.get("Amount")), party)
    return t.close(None)


def post_transfer(obj, records) -> list[Entry]:
    t = _Txn("Transfer", obj)
    t.add(_ref(obj, "ToAccountRef"), dec(obj.get("Amount")))
    t.add(_ref(obj, "FromAccountRef"), -dec(obj.get("Amount")))
    return t.close(None)


def post_credit_card_payment(obj, records) -> list[Entry]:
    """Paying the card from the bank: the card's liability goes down."""
    t = _Txn("CreditCardPayment", obj)
    t.add(_ref(obj, "CreditCardAccountRef", seed.CARD), dec(obj.get("Amount")))
    t.add(_ref(obj, "BankAccountRef", seed.CHECKING), -dec(obj.get("Amount")))
    return t.close(None)


POSTERS: dict[str, Callable[[dict, dict], list[Entry]]] = {
    "Invoice": post_invoice,
    "CreditMemo": post_credit_memo,
    "SalesReceipt": post_sales_receipt,
    "RefundReceipt": post_refund_receipt,
    "Payment": post_payment,
    "Deposit": post_deposit,
    "Bill": post_bill,
    "VendorCredit": post_vendor_credit,
    "BillPayment": post_bill_payment,
    "Purchase": post_purchase,
    "JournalEntry": post_journal_entry,
    "Transfer": post_transfer,
    "CreditCardPayment": post_credit_card_payment,
}
# Name lists and company facts; and documents with amounts that post nothing in QBO:
# an estimate or a purchase order is a promise, time is billed through an invoice, a
# budget is a plan.
NON_POSTING = frozenset({
    "Customer", "Vendor", "Employee", "Item", "Account", "Class", "Department", "Term",
    "PaymentMethod", "CustomerType", "TaxCode", "TaxRate", "TaxAgency", "CompanyInfo",
    "Preferences", "ExchangeRate", "Budget", "Estimate", "PurchaseOrder", "TimeActivity",
})  # fmt: skip
# entity -> (party kind, sign in the aging, party reference, open-amount field)
OPEN_ITEMS: dict[str, tuple[str, int, str, str]] = {
    "Invoice": ("customer", +1, "CustomerRef", "Balance"),
    "CreditMemo": ("customer", -1, "CustomerRef", "Balance"),
    "Payment": ("customer", -1, "CustomerRef", "UnappliedAmt"),
    "Bill": ("vendor", +1, "VendorRef", "Balance"),
    "VendorCredit": ("vendor", -1, "VendorRef", "Balance"),
}


def general_ledger(records: dict[str, dict[str, dict]]) -> list[Entry]:
    """Every posting of every transaction; ``records`` is entity -> Id -> object."""
    out: list[Entry] = []
    for entity, objects in records.items():
        poster = POSTERS.get(entity)
        if poster is None:
            continue
        for obj in objects.values():
            out.extend(poster(obj, records))
    return out
