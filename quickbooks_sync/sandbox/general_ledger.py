"""The sandbox's own general ledger: postings derived from its stored transactions.

Why separate from the client's ``money.postings``: the reports the sandbox serves must
come from an independent derivation, or the tie-out would compare a rule with itself.
This module is written from the sandbox's point of view (its chart of accounts, its
objects) and kept deliberately plain.

Decision: a registry keyed by entity name (``POSTERS``); an entity with amounts that has
no poster is a bug the tests catch (``tests/sandbox/test_reports.py`` walks every sandbox
entity). ``OPEN_ITEMS`` says which entities carry an open ``Balance`` for the agings.
Home amounts: each line at the transaction's ``ExchangeRate``, rounded to the cent; the
control account takes the balancing sum. No revaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")

# id -> (name, classification): QBO's sample-company Ids for the standard accounts.
ACCOUNTS: dict[str, tuple[str, str]] = {
    "35": ("Checking", "Asset"),
    "4": ("Undeposited Funds", "Asset"),
    "84": ("Accounts Receivable (A/R)", "Asset"),
    "33": ("Accounts Payable (A/P)", "Liability"),
    "89": ("Board of Equalization Payable", "Liability"),
    "2": ("Retained Earnings", "Equity"),
    "79": ("Sales of Product Income", "Revenue"),
    "7": ("Advertising", "Expense"),
}
AR_ACCOUNT, AP_ACCOUNT, TAX_ACCOUNT, RETAINED_EARNINGS = "84", "33", "89", "2"


@dataclass(frozen=True)
class Entry:
    txn_type: str
    txn_id: str
    txn_date: str
    account: str
    amount: Decimal  # debit > 0
    party: str = ""  # customer/vendor Id


def to_home(value, rate) -> Decimal:
    return (Decimal(str(value or 0)) * Decimal(str(rate or 1))).quantize(CENT, ROUND_HALF_EVEN)


def post_invoice(obj: dict) -> list[Entry]:
    rate = obj.get("ExchangeRate", 1)
    tid, day = str(obj["Id"]), str(obj.get("TxnDate", ""))
    party = str((obj.get("CustomerRef") or {}).get("value", ""))
    entries, credited, lines_total = [], Decimal(0), Decimal(0)
    for line in obj.get("Line", []):
        if line.get("DetailType") != "SalesItemLineDetail":
            continue
        account = (line["SalesItemLineDetail"].get("ItemAccountRef") or {}).get("value", "79")
        amount = to_home(line.get("Amount"), rate)
        lines_total += Decimal(str(line.get("Amount") or 0))
        credited += amount
        if amount:
            entries.append(Entry("Invoice", tid, day, account, -amount))
    tax = to_home(Decimal(str(obj.get("TotalAmt") or 0)) - lines_total, rate)
    if tax:
        entries.append(Entry("Invoice", tid, day, TAX_ACCOUNT, -tax))
        credited += tax
    if credited:
        entries.append(Entry("Invoice", tid, day, AR_ACCOUNT, credited, party))
    return entries


POSTERS: dict[str, Callable[[dict], list[Entry]]] = {"Invoice": post_invoice}
NON_POSTING = frozenset({"Customer"})
# entity -> (party kind, sign of its open Balance in the aging, party reference key)
OPEN_ITEMS: dict[str, tuple[str, int, str]] = {"Invoice": ("customer", +1, "CustomerRef")}


def general_ledger(records: dict[str, dict[str, dict]]) -> list[Entry]:
    """Every posting of every transaction; ``records`` is entity -> Id -> object."""
    out: list[Entry] = []
    for entity, objects in records.items():
        poster = POSTERS.get(entity)
        if poster is None:
            continue
        for obj in objects.values():
            out.extend(poster(obj))
    return out
