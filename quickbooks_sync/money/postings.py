"""Double-entry postings of each QBO transaction type, from its raw JSON.

Decision: one readable table of rules, one function per transaction type, pure (raw JSON
in, postings out). Amounts are in the home currency: every line is converted at the
transaction's ``ExchangeRate`` (1 when absent) and rounded to the cent, and the control
side (A/R, A/P, bank) balances them, so every transaction balances to the cent. A debit is
a positive amount, a credit a negative one.

An account the JSON does not name is a *role* (``role:AR``…), resolved to a real account
by ``ledger`` (local Account rows, else the QBO trial balance's standard names).

==============  ===============================  ======================================
type            debit                            credit
==============  ===============================  ======================================
Invoice         A/R (ARAccountRef or role),      sales lines' income accounts
                customer; discount lines'        (ItemAccountRef, else the Item's
                DiscountAccountRef               IncomeAccountRef); group lines by
                                                 their inner lines; TxnTaxDetail.
                                                 TotalTax to the sales tax account
CreditMemo      sales lines' income accounts,    A/R, customer
                tax
SalesReceipt    DepositToAccountRef (else        sales lines' income accounts, tax
                Undeposited Funds)
RefundReceipt   sales lines' income accounts,    DepositToAccountRef
                tax
Payment         DepositToAccountRef (else        A/R (ARAccountRef or role), customer:
                Undeposited Funds)               TotalAmt, applied or not
Bill            expense lines (AccountRef;       A/P (APAccountRef or role), vendor
                item lines: the Item's
                ExpenseAccountRef, or its
                AssetAccountRef when Type is
                Inventory)
VendorCredit    A/P, vendor                      expense lines
BillPayment     A/P, vendor: TotalAmt            CheckPayment.BankAccountRef or
                                                 CreditCardPayment.CCAccountRef
Purchase        expense lines                    AccountRef (bank or card); the other
                                                 way round when Credit is true
Deposit         DepositToAccountRef: TotalAmt;   each line's DepositLineDetail.
                CashBack.AccountRef              AccountRef, or Undeposited Funds
                                                 for a line linked to a payment
JournalEntry    lines with PostingType Debit     lines with PostingType Credit
                (Entity kept as counterparty)
Transfer        ToAccountRef: Amount             FromAccountRef
CreditCard-     CreditCardAccountRef: Amount     BankAccountRef
Payment
==============  ===============================  ======================================

Home currency: lines at the transaction's ``ExchangeRate``, each rounded half away from
zero; the control side is the total converted once (QBO's ``HomeTotalAmt``) and the cent
the line roundings leave goes to the largest line.

The sales tax account is a role (``role:SalesTaxPayable``), resolved to the one Account
whose AccountSubType is SalesTaxPayable (or GlobalTaxPayable). Not modelled (the
difference lands on role ``Unmodelled`` and the tie-out names it as "a posting rule not
modelled"): several tax agencies (QBO posts each agency's tax to its own liability
account, which no transaction's JSON names), shipping and other lines whose account is
not in the JSON, inventory cost of goods sold on sales of inventory items (QBO posts it at
FIFO cost), billable-expense re-charges, multi-currency revaluation (unrealised gains and
losses) and realised exchange gains on payments at another rate than their invoice's.
Cash basis is not derived locally: the tie-out compares accrual-basis reports;
cash-basis reports are mirrored only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

AR = "role:AR"
AP = "role:AP"
UNDEPOSITED = "role:UndepositedFunds"
SALES_TAX = "role:SalesTaxPayable"
UNMAPPED = "role:Unmapped"  # a line whose account neither the JSON nor its Item names
UNMODELLED = "role:Unmodelled"  # tax and whatever else the rules above leave out

ROLE_NAMES = {
    AR: "Accounts Receivable (A/R)",
    AP: "Accounts Payable (A/P)",
    UNDEPOSITED: "Undeposited Funds",
    SALES_TAX: "Sales tax payable",
    UNMAPPED: "(line account unknown)",
    UNMODELLED: "(not modelled: tax, inventory, rounding)",
}


@dataclass(frozen=True)
class Posting:
    account: str  # a QBO account Id, or a role (see ROLE_NAMES)
    amount: Decimal  # home currency; debit > 0, credit < 0
    txn_type: str
    txn_id: str
    txn_date: date | None
    counterparty: tuple[str, str] | None = None  # ("customer" | "vendor" | …, Id)
    account_name: str = ""
    nature: str = ""  # "income"/"expense" for sales and expense lines (a classification hint)


# Item Id -> the Item's raw JSON (for IncomeAccountRef / ExpenseAccountRef), or None.
ItemLookup = Callable[[str], dict | None]


class PostingError(ValueError):
    """The transaction cannot be posted (a field has the wrong type); names the field."""


def money(value, field: str = "Amount") -> Decimal:
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise PostingError(f"{field} is not a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PostingError(f"{field} is not a number") from None


def home(amount: Decimal, rate: Decimal) -> Decimal:
    """Home-currency value to the cent, half away from zero (as money is rounded)."""
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)


def _ref(obj: dict | None, key: str) -> tuple[str, str] | None:
    ref = (obj or {}).get(key)
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"]), str(ref.get("name") or "")
    return None


def _txn_date(raw: dict) -> date | None:
    try:
        return date.fromisoformat(str(raw.get("TxnDate"))[:10])
    except ValueError:
        return None


class _Builder:
    """Collects one transaction's postings and balances its control side."""

    def __init__(self, txn_type: str, raw: dict) -> None:
        self.txn_type, self.raw = txn_type, raw
        self.rate = money(raw.get("ExchangeRate") or 1, "ExchangeRate")
        self.postings: list[Posting] = []
        self.foreign_sum = ZERO  # the lines in the transaction's own currency

    def line(self, account, amount: Decimal, counterparty=None, nature: str = "") -> None:
        """``amount`` in the transaction currency; converted here."""
        account_id, name = account if isinstance(account, tuple) else (account, "")
        self.foreign_sum += amount
        value = home(amount, self.rate)
        if value:
            self.postings.append(
                Posting(
                    account_id,
                    value,
                    self.txn_type,
                    str(self.raw.get("Id", "")),
                    _txn_date(self.raw),
                    counterparty,
                    name or ROLE_NAMES.get(account_id, ""),
                    nature,
                )
            )

    def control(
        self, account, total: Decimal | None, sign: int, counterparty=None
    ) -> list[Posting]:
        """Close the transaction: whatever of ``total`` the lines did not explain (in the
        transaction's currency, then converted) goes to UNMODELLED (``total`` None: nothing
        to explain), and the control account takes the total at the rate, rounded once
        (QBO's ``HomeTotalAmt``); the cent that rounding each line leaves goes to the
        largest line, so a fully paid foreign invoice leaves nothing on A/R."""
        explained = -self.foreign_sum * sign
        residual = ZERO if total is None else total - explained
        residual_home = home(residual, self.rate)
        if residual_home:
            self.postings.append(
                Posting(
                    UNMODELLED,
                    -residual_home * sign,
                    self.txn_type,
                    str(self.raw.get("Id", "")),
                    _txn_date(self.raw),
                    counterparty,
                    ROLE_NAMES[UNMODELLED],
                )
            )
        balance = home(-self.foreign_sum + residual * sign, self.rate)
        cents = -balance - sum((p.amount for p in self.postings), ZERO)
        if cents and self.postings:
            big = max(range(len(self.postings)), key=lambda i: abs(self.postings[i].amount))
            self.postings[big] = replace(
                self.postings[big], amount=self.postings[big].amount + cents
            )
        account_id, name = account if isinstance(account, tuple) else (account, "")
        if balance:
            self.postings.append(
                Posting(
                    account_id,
                    balance,
                    self.txn_type,
                    str(self.raw.get("Id", "")),
                    _txn_date(self.raw),
                    counterparty,
                    name or ROLE_NAMES.get(account_id, ""),
                )
            )
        return self.postings


def _lines(raw: dict) -> list[dict]:
    lines = raw.get("Line") or []
    if not isinstance(lines, list):
        raise PostingError("Line is not a list")
    out = []
    for line in lines:
        if not isinstance(line, dict):
            continue
        if line.get("DetailType") == "GroupLineDetail":
            out.extend(_lines(line.get("GroupLineDetail") or {}))
        else:
            out.append(line)
    return out


def _sales_lines(b: _Builder, items: ItemLookup | None, sign: int) -> None:
    """Sales lines credit income (sign -1) or debit it (sign +1, credit memos/refunds)."""
    for line in _lines(b.raw):
        kind = line.get("DetailType")
        amount = money(line.get("Amount"), "Line.Amount")
        if kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            account = _ref(detail, "ItemAccountRef")
            if account is None and items is not None and (item := _ref(detail, "ItemRef")):
                account = _ref(items(item[0]), "IncomeAccountRef")
            b.line(account or UNMAPPED, sign * amount, nature="income")
        elif kind == "DiscountLineDetail":
            account = _ref(line.get("DiscountLineDetail"), "DiscountAccountRef")
            b.line(account or UNMAPPED, -sign * amount, nature="income")
    tax_detail = b.raw.get("TxnTaxDetail")
    if isinstance(tax_detail, dict):
        tax = money(tax_detail.get("TotalTax"), "TxnTaxDetail.TotalTax")
        if tax:
            b.line(SALES_TAX, sign * tax)


def _expense_lines(b: _Builder, items: ItemLookup | None, sign: int) -> None:
    """Expense lines debit (sign +1) or credit (sign -1, vendor credits) their accounts."""
    for line in _lines(b.raw):
        kind = line.get("DetailType")
        amount = money(line.get("Amount"), "Line.Amount")
        if kind == "AccountBasedExpenseLineDetail":
            b.line(_ref(line.get(kind), "AccountRef") or UNMAPPED, sign * amount, nature="expense")
        elif kind == "ItemBasedExpenseLineDetail":
            item = _ref(line.get(kind), "ItemRef")
            account = None
            if item and items is not None:
                found = items(item[0]) or {}
                # An inventory item is bought into its asset account; others are expensed.
                if found.get("Type") == "Inventory":
                    account = _ref(found, "AssetAccountRef")
                else:
                    account = _ref(found, "ExpenseAccountRef")
            b.line(account or UNMAPPED, sign * amount, nature="expense")


def _party(raw: dict, key: str, kind: str) -> tuple[str, str] | None:
    ref = _ref(raw, key)
    return (kind, ref[0]) if ref else None


def _total(raw: dict) -> Decimal:
    return money(raw.get("TotalAmt"), "TotalAmt")


def invoice(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("Invoice", raw)
    _sales_lines(b, items, -1)
    return b.control(
        _ref(raw, "ARAccountRef") or AR, _total(raw), +1, _party(raw, "CustomerRef", "customer")
    )


def credit_memo(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("CreditMemo", raw)
    _sales_lines(b, items, +1)
    return b.control(
        _ref(raw, "ARAccountRef") or AR, _total(raw), -1, _party(raw, "CustomerRef", "customer")
    )


def sales_receipt(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("SalesReceipt", raw)
    _sales_lines(b, items, -1)
    return b.control(_ref(raw, "DepositToAccountRef") or UNDEPOSITED, _total(raw), +1)


def refund_receipt(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("RefundReceipt", raw)
    _sales_lines(b, items, +1)
    return b.control(_ref(raw, "DepositToAccountRef") or UNDEPOSITED, _total(raw), -1)


def payment(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("Payment", raw)
    b.line(_ref(raw, "DepositToAccountRef") or UNDEPOSITED, _total(raw))
    return b.control(
        _ref(raw, "ARAccountRef") or AR, None, -1, _party(raw, "CustomerRef", "customer")
    )


def bill(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("Bill", raw)
    _expense_lines(b, items, +1)
    return b.control(
        _ref(raw, "APAccountRef") or AP, _total(raw), -1, _party(raw, "VendorRef", "vendor")
    )


def vendor_credit(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("VendorCredit", raw)
    _expense_lines(b, items, -1)
    return b.control(
        _ref(raw, "APAccountRef") or AP, _total(raw), +1, _party(raw, "VendorRef", "vendor")
    )


def bill_payment(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("BillPayment", raw)
    source = _ref(raw.get("CheckPayment"), "BankAccountRef") or _ref(
        raw.get("CreditCardPayment"), "CCAccountRef"
    )
    b.line(_ref(raw, "APAccountRef") or AP, _total(raw), _party(raw, "VendorRef", "vendor"))
    return b.control(source or UNMAPPED, None, +1)


def purchase(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("Purchase", raw)
    refund = raw.get("Credit") is True
    _expense_lines(b, items, -1 if refund else +1)
    return b.control(_ref(raw, "AccountRef") or UNMAPPED, _total(raw), +1 if refund else -1)


def deposit(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("Deposit", raw)
    for line in _lines(raw):
        amount = money(line.get("Amount"), "Line.Amount")
        if line.get("LinkedTxn"):
            b.line(UNDEPOSITED, -amount)
        else:
            detail = line.get("DepositLineDetail") or {}
            entity = detail.get("Entity") if isinstance(detail.get("Entity"), dict) else {}
            party = None
            if entity and entity.get("value"):
                party = (str(entity.get("type") or "entity").lower(), str(entity["value"]))
            b.line(_ref(detail, "AccountRef") or UNMAPPED, -amount, party)
    cash_back = raw.get("CashBack") if isinstance(raw.get("CashBack"), dict) else None
    if cash_back:
        b.line(_ref(cash_back, "AccountRef") or UNMAPPED, money(cash_back.get("Amount")))
    return b.control(_ref(raw, "DepositToAccountRef") or UNMAPPED, _total(raw), +1)


def journal_entry(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("JournalEntry", raw)
    for line in _lines(raw):
        detail = line.get("JournalEntryLineDetail") or {}
        sign = {"Debit": 1, "Credit": -1}.get(str(detail.get("PostingType")))
        if sign is None:
            continue
        entity = detail.get("Entity") if isinstance(detail.get("Entity"), dict) else {}
        party = None
        if entity and (ref := _ref(entity, "EntityRef")):
            party = (str(entity.get("Type") or "entity").lower(), ref[0])
        b.line(
            _ref(detail, "AccountRef") or UNMAPPED,
            sign * money(line.get("Amount"), "Line.Amount"),
            party,
        )
    return b.control(UNMODELLED, None, +1)  # a balanced entry leaves nothing here


def transfer(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("Transfer", raw)
    amount = money(raw.get("Amount"), "Amount")
    b.line(_ref(raw, "ToAccountRef") or UNMAPPED, amount)
    b.line(_ref(raw, "FromAccountRef") or UNMAPPED, -amount)
    return b.control(UNMODELLED, None, +1)


def credit_card_payment(raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    b = _Builder("CreditCardPayment", raw)
    amount = money(raw.get("Amount"), "Amount")
    b.line(_ref(raw, "CreditCardAccountRef") or UNMAPPED, amount)
    b.line(_ref(raw, "BankAccountRef") or UNMAPPED, -amount)
    return b.control(UNMODELLED, None, +1)


RULES: dict[str, Callable[..., list[Posting]]] = {
    "Invoice": invoice,
    "CreditMemo": credit_memo,
    "SalesReceipt": sales_receipt,
    "RefundReceipt": refund_receipt,
    "Payment": payment,
    "Bill": bill,
    "VendorCredit": vendor_credit,
    "BillPayment": bill_payment,
    "Purchase": purchase,
    "Deposit": deposit,
    "JournalEntry": journal_entry,
    "Transfer": transfer,
    "CreditCardPayment": credit_card_payment,
}
# Registered entities that never post (name lists and non-posting documents).
NON_POSTING = {
    "Customer", "Vendor", "Employee", "Item", "Account", "Class", "Department", "Term",
    "PaymentMethod", "CustomerType", "TaxCode", "TaxRate", "TaxAgency", "Estimate",
    "PurchaseOrder", "TimeActivity", "Budget", "CompanyInfo", "Preferences",
    "ExchangeRate", "Attachable",
}  # fmt: skip


def postings_of(entity: str, raw: dict, items: ItemLookup | None = None) -> list[Posting]:
    """The postings of one transaction; a voided one (all amounts zero) posts nothing."""
    rule = RULES.get(entity)
    if rule is None:
        raise KeyError(f"no posting rule for {entity}")
    return rule(raw, items)
