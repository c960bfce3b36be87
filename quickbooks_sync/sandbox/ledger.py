"""Seed data for the rest of the ledger, consistent with the customers and invoices.

What "consistent" means here (and what tests rely on):

* a chart of accounts with fixed Ids the other records point to (``79`` sales income,
  ``4`` Undeposited Funds, ``35`` Checking, ``84`` A/R, ``33`` A/P …), and the items the
  invoice lines use (Ids 1-10, each with ``IncomeAccountRef`` 79);
* every (partly) paid invoice has one Payment for exactly the paid amount, whose line
  carries ``LinkedTxn`` to the invoice and whose Id the invoice links back to;
* some payments sit in Undeposited Funds and are grouped into Deposits (to Checking) whose
  lines link the payments; the others went to Checking directly;
* bills have expense lines; a paid bill has a BillPayment for the paid amount linking it,
  and a vendor's Balance is the sum of its open bills less its open vendor credits;
* journal entries balance (debits == credits) and credit a bank or the card, never A/P
  (an A/P line needs a vendor); transfers move money between two banks;
* open credits count: credit memos stay open (``Balance`` = ``RemainingCredit`` =
  ``TotalAmt``) and lower their customer's Balance, vendor credits stay open and lower
  their vendor's Balance, so a party's Balance is its open items in its own currency;
* items carry the accounts a bill line posts to (``ExpenseAccountRef``; inventory items
  ``AssetAccountRef``), and the chart has QBO's Retained Earnings and a sales tax account
  (``SYSTEM_ACCOUNTS``).

``sandbox/general_ledger.py`` posts all of it, and ``tests/money`` checks that its agings
equal its A/R and A/P postings and every party's Balance. Every entity draws its timestamps
from ``data.plan_times`` (bulk-edit clusters included), a transaction created after the
records it references. Deterministic per seed, like ``data``.
"""

from __future__ import annotations

from datetime import timedelta

from .clock import company_date
from .data import CURRENCIES, FIRST, ITEMS, LAST, NOUN, SUFFIX, _stamped, currency_ref, plan_times

# (Id, Name, AccountType, AccountSubType, Classification)
CHART = (
    ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("7", "Advertising", "Expense", "AdvertisingPromotional", "Expense"),
    ("9", "Bank Charges", "Expense", "BankCharges", "Expense"),
    ("13", "Meals and Entertainment", "Expense", "EntertainmentMeals", "Expense"),
    ("15", "Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", "Expense"),
    ("17", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings", "Expense"),
    ("20", "Utilities", "Expense", "Utilities", "Expense"),
    ("31", "Opening Balance Equity", "Equity", "OpeningBalanceEquity", "Equity"),
    ("33", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "Liability"),
    ("35", "Checking", "Bank", "Checking", "Asset"),
    ("36", "Savings", "Bank", "Savings", "Asset"),
    ("41", "Mastercard", "Credit Card", "CreditCard", "Liability"),
    ("79", "Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
    ("80", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
    ("81", "Inventory Asset", "Other Current Asset", "Inventory", "Asset"),
    ("84", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
    ("86", "Discounts given", "Income", "DiscountsRefundsGiven", "Revenue"),
)
# Accounts every QBO company has that the first chart lacked; seeded with the chart's first
# timestamps (no random draws, so the rest of the seed data is unchanged).
SYSTEM_ACCOUNTS = (
    ("2", "Retained Earnings", "Equity", "RetainedEarnings", "Equity"),
    ("89", "Board of Equalization Payable", "Other Current Liability", "SalesTaxPayable",
     "Liability"),
)  # fmt: skip
NAMES = {a[0]: a[1] for a in (*CHART, *SYSTEM_ACCOUNTS)}
CLASSIFICATION = {a[0]: a[4] for a in (*CHART, *SYSTEM_ACCOUNTS)}
EXPENSES = ("7", "9", "13", "15", "17", "20")
INCOME, UNDEPOSITED, CHECKING, SAVINGS, CARD, AR, AP = "79", "4", "35", "36", "41", "84", "33"
COGS, INVENTORY, RETAINED_EARNINGS, SALES_TAX = "80", "81", "2", "89"
RATES = {c[0]: c[2] for c in CURRENCIES}


def acct(id_: str) -> dict:
    return {"value": id_, "name": NAMES.get(id_, f"Account {id_}")}


def _money(x: float) -> float:
    return round(x, 2)


def _txn_base(txn, cur: str, total: float) -> dict:
    obj = {"TxnDate": txn.isoformat(), "CurrencyRef": currency_ref(cur), "TotalAmt": total}
    if cur != "USD":
        obj["ExchangeRate"] = RATES.get(cur, 1.0)
        obj["HomeTotalAmt"] = _money(total * RATES.get(cur, 1.0))
    return obj


def vendor_currency(rng) -> str:
    """Vendors, like customers, are mostly USD, some in EUR, GBP or CAD."""
    r, cum = rng.random(), 0.0
    for code, _, _, weight in CURRENCIES:
        cum += weight
        if r < cum:
            return code
    return "USD"


class LedgerPlan:
    """Generates the ledger of one seed batch. ``ids`` maps entity -> first free Id;
    ``customers`` are ``(id, name, currency)`` of active customers, ``vendors`` likewise
    for existing vendors (new ones are added by ``vendors()``)."""

    def __init__(self, rng, anchor: int, ids: dict[str, int], counts: dict[str, int]):
        self.rng, self.anchor, self.ids, self.counts = rng, anchor, ids, counts
        self.customers: list[tuple[str, str, str]] = []
        self.payees: list[tuple[str, str]] = []
        self.vendor_balance: dict[str, float] = {}  # open bills
        # Balance changes of this batch's open credits (vendor credits, credit memos): a
        # vendor's or customer's Balance nets its open credits, as QBO's does.
        self.vendor_delta: dict[str, float] = {}
        self.customer_delta: dict[str, float] = {}
        self.vendor_currency: dict[str, str] = {}
        self.today = company_date(anchor)

    def currency_of(self, vendor_id: str) -> str:
        return self.vendor_currency.get(vendor_id, "USD")

    @staticmethod
    def _txn_base_for(txn, cur: str, total: float) -> dict:
        return _txn_base(txn, cur, total)

    def _times(self, n: int):
        cts, luts, syncs = plan_times(self.rng, self.anchor, n)
        return list(zip(cts, luts, syncs, strict=True))

    def _later(self, after: int) -> tuple[int, int]:
        """(ct, lut) of a record created after ``after`` (never in the future)."""
        top = self.anchor - 60
        ct = min(top, after + self.rng.randint(3600, 20 * 86400))
        lut = ct if self.rng.random() < 0.6 else min(top, ct + self.rng.randint(60, 86400))
        return max(ct, after), max(lut, ct)

    # -- name lists ---------------------------------------------------------------------
    def accounts(self, first_batch: bool):
        """The fixed chart on the first batch, then ``accounts`` expense sub-accounts."""
        rows = [(*a, None) for a in CHART] if first_batch else []
        start = max(self.ids["Account"], 100)
        for i in range(self.counts.get("accounts", 0)):
            parent = self.rng.choice(EXPENSES)
            rows.append(
                (str(start + i), f"{NAMES[parent]} {i + 1}", "Expense", "", "Expense", parent)
            )
        times = self._times(len(rows))
        if first_batch:
            rows += [(*a, None) for a in SYSTEM_ACCOUNTS]
            times += [times[0]] * len(SYSTEM_ACCOUNTS)
        for (id_, name, typ, sub, cls, parent), (ct, lut, sync) in zip(rows, times, strict=True):
            obj = {
                "Name": name,
                "SubAccount": parent is not None,
                "FullyQualifiedName": f"{NAMES[parent]}:{name}" if parent else name,
                "Active": True,
                "Classification": cls,
                "AccountType": typ,
                "CurrentBalance": 0,
                "CurrentBalanceWithSubAccounts": 0,
                "CurrencyRef": currency_ref("USD"),
            }
            if parent:
                obj["ParentRef"] = {"value": parent}
            if sub:
                obj["AccountSubType"] = sub
            yield _stamped(obj, int(id_), sync, ct, lut), ct, lut

    def items(self, first_batch: bool):
        rows = [(int(i), name, price) for i, name, price in ITEMS] if first_batch else []
        start = max(self.ids["Item"], 11)
        for i in range(self.counts.get("items", 0)):
            rows.append((start + i, f"{self.rng.choice(NOUN)} kit {start + i}", 10.0 + i % 90))
        for (id_, name, price), (ct, lut, sync) in zip(rows, self._times(len(rows)), strict=True):
            inventory = id_ in (6, 9)  # rocks and pipes are stocked
            obj = {
                "Name": name,
                "FullyQualifiedName": name,
                "Active": self.rng.random() >= 0.05 or id_ <= 10,
                "Type": "Inventory" if inventory else "Service",
                "UnitPrice": price,
                "IncomeAccountRef": acct(INCOME),
                # Bills buy items too: a purchased service is a cost of goods sold.
                "ExpenseAccountRef": acct(COGS),
                "Taxable": False,
                "TrackQtyOnHand": inventory,
            }
            if inventory:
                obj.update(
                    AssetAccountRef=acct(INVENTORY),
                    PurchaseCost=round(price * 0.6, 2),
                    QtyOnHand=self.rng.randint(0, 500),
                    Sku=f"SKU-{id_:05d}",
                )
            yield _stamped(obj, id_, sync, ct, lut), ct, lut

    def vendors_plan(self) -> list[dict]:
        """Vendor profiles (Ids allocated now, so bills can point at them)."""
        out = []
        for i in range(self.counts.get("vendors", 0)):
            id_ = self.ids["Vendor"] + i
            company = f"{self.rng.choice(NOUN)} {self.rng.choice(SUFFIX)} {id_}"
            given, family = self.rng.choice(FIRST), self.rng.choice(LAST)
            cur = vendor_currency(self.rng)
            out.append(
                {"Id": id_, "company": company, "given": given, "family": family, "cur": cur}
            )
            self.payees.append((str(id_), company))
            self.vendor_currency[str(id_)] = cur
        return out

    def vendors(self, profiles: list[dict]):
        for p, (ct, lut, sync) in zip(profiles, self._times(len(profiles)), strict=True):
            bal = _money(self.vendor_balance.get(str(p["Id"]), 0.0))
            credits = self.vendor_delta.pop(str(p["Id"]), 0.0)
            obj = {
                "DisplayName": p["company"],
                "CompanyName": p["company"],
                "GivenName": p["given"],
                "FamilyName": p["family"],
                "PrintOnCheckName": p["company"],
                "Active": bal > 0 or self.rng.random() >= 0.1,
                "Vendor1099": self.rng.random() < 0.2,
                "Balance": _money(bal + credits),
                "CurrencyRef": currency_ref(p["cur"]),
                "PrimaryEmailAddr": {"Address": f"ap{p['Id']}@vendor.example"},
            }
            yield _stamped(obj, p["Id"], sync, ct, lut), ct, lut

    # -- customer side ------------------------------------------------------------------
    def payments_and_deposits(self, paid: list[dict]):
        """Yield ``("Payment"|"Deposit", obj, ct, lut)``: one payment per paid invoice;
        USD payments in Undeposited Funds grouped 2-6 to a deposit."""
        rng, groups, group = self.rng, [], []
        for p in paid:
            if p["cur"] == "USD" and rng.random() < 0.6:
                group.append(p)
                if len(group) >= rng.randint(2, 6):
                    groups.append(group)
                    group = []
        if group:
            groups.append(group)
        deposited = {p["Id"] for g in groups for p in g}
        for p in paid:
            # Applied between the invoice's creation and its last update (which it caused).
            ct = p["ct"] + int((max(p["lut"], p["ct"]) - p["ct"]) * rng.random())
            lut = ct if rng.random() < 0.7 else max(ct, self._later(ct)[1])
            p["pct"] = ct
            amount = p["amount"]
            obj = {
                "CustomerRef": p["customer"],
                "DepositToAccountRef": acct(UNDEPOSITED if p["Id"] in deposited else CHECKING),
                "ARAccountRef": acct(AR),
                "PaymentRefNum": str(rng.randint(1000, 99999)),
                "UnappliedAmt": 0,
                "ProcessPayment": False,
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": p["invoice"], "TxnType": "Invoice"}]}
                ],
                **_txn_base(company_date(ct), p["cur"], amount),
            }
            yield "Payment", _stamped(obj, p["Id"], rng.randint(0, 2), ct, lut), ct, lut
        for g in groups:
            ct, lut = self._later(max(p["pct"] for p in g))
            total = _money(sum(p["amount"] for p in g))
            lines = [
                {
                    "Id": str(n),
                    "LineNum": n,
                    "Amount": p["amount"],
                    "LinkedTxn": [{"TxnId": str(p["Id"]), "TxnType": "Payment", "TxnLineId": "0"}],
                }
                for n, p in enumerate(g, 1)
            ]
            obj = {
                "DepositToAccountRef": acct(CHECKING),
                "Line": lines,
                **_txn_base(company_date(ct), "USD", total),
            }
            yield "Deposit", _stamped(obj, self._next("Deposit"), 0, ct, lut), ct, lut

    def _next(self, entity: str) -> int:
        id_ = self.ids[entity]
        self.ids[entity] = id_ + 1
        return id_

    def _sales_lines(self, k: int) -> tuple[list[dict], float]:
        lines, total = [], 0.0
        for n in range(1, k + 1):
            item = self.rng.choice(ITEMS)
            qty = self.rng.randint(1, 6)
            amount = _money(item[2] * qty)
            total += amount
            lines.append(
                {
                    "Id": str(n),
                    "LineNum": n,
                    "Description": item[1],
                    "Amount": amount,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item[0], "name": item[1]},
                        "UnitPrice": item[2],
                        "Qty": qty,
                        "ItemAccountRef": acct(INCOME),
                        "TaxCodeRef": {"value": "NON"},
                    },
                }
            )
        total = _money(total)
        lines.append(
            {"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        return lines, total

    def customer_sales(self):
        """Sales receipts, credit memos (fully used) and refund receipts."""
        if not self.customers:
            return
        for entity, key in (
            ("SalesReceipt", "sales_receipts"),
            ("CreditMemo", "credit_memos"),
            ("RefundReceipt", "refund_receipts"),
        ):
            for ct, lut, sync in self._times(self.counts.get(key, 0)):
                cid, cname, cur = self.rng.choice(self.customers)
                lines, total = self._sales_lines(self.rng.randint(1, 3))
                obj = {
                    "CustomerRef": {"value": cid, "name": cname},
                    "DocNumber": f"{entity[:2].upper()}{self.ids[entity]}",
                    "Line": lines,
                    "Balance": 0,
                    **_txn_base(company_date(ct), cur, total),
                }
                if entity == "SalesReceipt":
                    obj["DepositToAccountRef"] = acct(self.rng.choice((UNDEPOSITED, CHECKING)))
                elif entity == "RefundReceipt":
                    obj["DepositToAccountRef"] = acct(CHECKING)
                else:  # an open credit: the customer owes that much less
                    obj.update(Balance=total, RemainingCredit=total)
                    self.customer_delta[cid] = self.customer_delta.get(cid, 0.0) - total
                yield entity, _stamped(obj, self._next(entity), sync, ct, lut), ct, lut

    # -- vendor side --------------------------------------------------------------------
    def _expense_lines(self, k: int) -> tuple[list[dict], float]:
        lines = []
        for n in range(1, k + 1):
            amount = _money(self.rng.randint(2000, 250000) / 100)
            if self.rng.random() < 0.25:
                item = self.rng.choice(ITEMS)
                qty = max(1, round(amount / item[2]))
                amount = _money(qty * item[2])
                detail_type, detail = (
                    "ItemBasedExpenseLineDetail",
                    {
                        "ItemRef": {"value": item[0], "name": item[1]},
                        "Qty": qty,
                        "UnitPrice": item[2],
                        "BillableStatus": "NotBillable",
                        "TaxCodeRef": {"value": "NON"},
                    },
                )
            else:
                detail_type, detail = (
                    "AccountBasedExpenseLineDetail",
                    {
                        "AccountRef": acct(self.rng.choice(EXPENSES)),
                        "BillableStatus": "NotBillable",
                        "TaxCodeRef": {"value": "NON"},
                    },
                )
            lines.append(
                {
                    "Id": str(n),
                    "LineNum": n,
                    "Amount": amount,
                    "DetailType": detail_type,
                    detail_type: detail,
                }
            )
        return lines, _money(sum(ln["Amount"] for ln in lines))

    def bills_and_payments(self):
        """Bills (open, part or fully paid), their BillPayments, vendor credits, purchases."""
        if not self.payees:
            return
        today = self.today
        for ct, lut, sync in self._times(self.counts.get("bills", 0)):
            vid, vname = self.rng.choice(self.payees)
            lines, total = self._expense_lines(self.rng.randint(1, 4))
            txn = company_date(ct)
            due = txn + timedelta(days=30)
            r = self.rng.random()
            paid = total if r < (0.7 if due < today else 0.3) else 0.0
            if paid > 0 and self.rng.random() < 0.15:
                paid = _money(total / 2)
            bid = self._next("Bill")
            links = []
            if paid:
                pid = self._next("BillPayment")
                links = [{"TxnId": str(pid), "TxnType": "BillPayment"}]
                pct, plut = self._later(ct)
                pay = {
                    "VendorRef": {"value": vid, "name": vname},
                    "APAccountRef": acct(AP),
                    "PayType": "Check",
                    "CheckPayment": {"BankAccountRef": acct(CHECKING), "PrintStatus": "NotSet"},
                    "DocNumber": str(self.rng.randint(1000, 9999)),
                    "Line": [
                        {"Amount": paid, "LinkedTxn": [{"TxnId": str(bid), "TxnType": "Bill"}]}
                    ],
                    **_txn_base(company_date(pct), self.currency_of(vid), paid),
                }
                lut = max(lut, pct)
                yield "BillPayment", _stamped(pay, pid, 0, pct, plut), pct, plut
            balance = _money(total - paid)
            self.vendor_balance[vid] = self.vendor_balance.get(vid, 0.0) + balance
            bill = {
                "VendorRef": {"value": vid, "name": vname},
                "APAccountRef": acct(AP),
                "DocNumber": f"B-{bid}",
                "DueDate": due.isoformat(),
                "Balance": balance,
                "Line": lines,
                "LinkedTxn": links,
                **_txn_base(txn, self.currency_of(vid), total),
            }
            yield "Bill", _stamped(bill, bid, sync, ct, lut), ct, lut
        for ct, lut, sync in self._times(self.counts.get("vendor_credits", 0)):
            vid, vname = self.rng.choice(self.payees)
            lines, total = self._expense_lines(1)
            self.vendor_delta[vid] = self.vendor_delta.get(vid, 0.0) - total
            obj = {
                "VendorRef": {"value": vid, "name": vname},
                "APAccountRef": acct(AP),
                "Balance": total,
                "Line": lines,
                **_txn_base(company_date(ct), self.currency_of(vid), total),
            }
            yield "VendorCredit", _stamped(obj, self._next("VendorCredit"), sync, ct, lut), ct, lut
        for ct, lut, sync in self._times(self.counts.get("purchases", 0)):
            vid, vname = self.rng.choice(self.payees)
            lines, total = self._expense_lines(self.rng.randint(1, 3))
            kind = self.rng.choice(("Check", "CreditCard", "Cash"))
            obj = {
                "PaymentType": kind,
                "AccountRef": acct(CARD if kind == "CreditCard" else CHECKING),
                "EntityRef": {"value": vid, "name": vname, "type": "Vendor"},
                "Line": lines,
                **_txn_base(company_date(ct), "USD", total),
            }
            if kind == "CreditCard":
                obj["Credit"] = False
            yield "Purchase", _stamped(obj, self._next("Purchase"), sync, ct, lut), ct, lut

    # -- general ledger -----------------------------------------------------------------
    def journal_entries_and_transfers(self):
        for ct, lut, sync in self._times(self.counts.get("journal_entries", 0)):
            legs = self.rng.randint(1, 3)
            amounts = [_money(self.rng.randint(1000, 500000) / 100) for _ in range(legs)]
            total = _money(sum(amounts))
            lines = [
                _je_line(n + 1, "Debit", self.rng.choice(EXPENSES), a, "Accrual")
                for n, a in enumerate(amounts)
            ]
            # Credited to a bank or card: an A/P line would need a vendor and be a payable.
            lines.append(_je_line(legs + 1, "Credit", self.rng.choice((CARD, CHECKING)), total, ""))
            obj = {
                "DocNumber": f"JE{self.ids['JournalEntry']}",
                "Adjustment": self.rng.random() < 0.1,
                "Line": lines,
                **_txn_base(company_date(ct), "USD", total),
            }
            yield "JournalEntry", _stamped(obj, self._next("JournalEntry"), sync, ct, lut), ct, lut
        for ct, lut, sync in self._times(self.counts.get("transfers", 0)):
            amount = _money(self.rng.randint(10000, 2000000) / 100)
            src, dst = (SAVINGS, CHECKING) if self.rng.random() < 0.5 else (CHECKING, SAVINGS)
            obj = {
                "FromAccountRef": acct(src),
                "ToAccountRef": acct(dst),
                "Amount": amount,
                "TxnDate": company_date(ct).isoformat(),
                "CurrencyRef": currency_ref("USD"),
            }
            yield "Transfer", _stamped(obj, self._next("Transfer"), sync, ct, lut), ct, lut


def lines_amount(lines: list[dict]) -> float:
    return _money(sum(ln["Amount"] for ln in lines))


def _je_line(n: int, posting: str, account: str, amount: float, memo: str) -> dict:
    detail = {"PostingType": posting, "AccountRef": acct(account)}
    line = {
        "Id": str(n - 1),
        "Amount": amount,
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": detail,
    }
    if memo:
        line["Description"] = memo
    return line
