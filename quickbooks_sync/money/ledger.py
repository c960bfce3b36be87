"""The local side of the tie-out: balances derived from the raw JSON of synced rows.

Decision: it reads ``raw_data`` of the live rows of whatever entities the registry
declares, so a newly registered transaction type is covered by declaring it (and having a
rule in ``postings.RULES``). Nothing here calls QBO except through the reports passed in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from quickbooks_sync.money import postings as P
from quickbooks_sync.registry import ENTITIES

# entity -> (party kind, party reference, open-amount field, sign in the aging)
OPEN_ITEMS = {
    "Invoice": ("customer", "CustomerRef", "Balance", +1),
    "CreditMemo": ("customer", "CustomerRef", "Balance", -1),
    "Payment": ("customer", "CustomerRef", "UnappliedAmt", -1),
    "Bill": ("vendor", "VendorRef", "Balance", +1),
    "VendorCredit": ("vendor", "VendorRef", "Balance", -1),
}
PARTY_ENTITY = {"customer": "Customer", "vendor": "Vendor"}


def live_raw(entity: str, realm_id: str):
    spec = ENTITIES[entity]
    return (
        spec.model.objects.live()
        .filter(realm_id=realm_id)
        .values_list("raw_data", flat=True)
        .iterator(chunk_size=2000)
    )


def _before(raw: dict, as_of: date) -> bool:
    return str(raw.get("TxnDate") or "")[:10] <= as_of.isoformat()


def item_lookup(realm_id: str):
    if "Item" not in ENTITIES:
        return None
    items = {str(r.get("Id")): r for r in live_raw("Item", realm_id)}
    return items.get


@dataclass
class LocalLedger:
    postings: list[P.Posting]
    unmodelled_entities: list[str]  # registered, with amounts, but no posting rule
    failed: list[str] = field(default_factory=list)  # "Invoice 12: Line is not a list"


def ledger_build(*, realm_id: str, as_of: date) -> LocalLedger:
    items = item_lookup(realm_id)
    out, failed = [], []
    for entity in ENTITIES:
        if entity not in P.RULES:
            continue
        for raw in live_raw(entity, realm_id):
            if not _before(raw, as_of):
                continue
            try:
                out.extend(P.postings_of(entity, raw, items))
            except P.PostingError as exc:
                failed.append(f"{entity} {raw.get('Id')}: {exc}")
    unmodelled = [e for e in ENTITIES if e not in P.RULES and e not in P.NON_POSTING]
    return LocalLedger(out, unmodelled, failed)


@dataclass
class Chart:
    """Roles resolved to account Ids, and which accounts are revenue/expense."""

    roles: dict[str, str]
    income_or_expense: set[str]
    retained_earnings: str | None


def chart_resolve(*, realm_id: str, qbo_names: dict[str, str], pl_accounts: set[str]) -> Chart:
    """From local Account rows when that entity is synced; else QBO's standard account
    names in the trial balance, and the accounts seen on QBO's profit and loss reports."""
    roles: dict[str, str] = {}
    pl: set[str] = set()
    retained = None
    tax_accounts: list[str] = []
    if "Account" in ENTITIES:
        for raw in live_raw("Account", realm_id):
            acc_id, kind = str(raw.get("Id")), raw.get("AccountType")
            sub = raw.get("AccountSubType")
            if kind == "Accounts Receivable":
                roles.setdefault(P.AR, acc_id)
            elif kind == "Accounts Payable":
                roles.setdefault(P.AP, acc_id)
            if sub == "UndepositedFunds":
                roles.setdefault(P.UNDEPOSITED, acc_id)
            if sub in ("SalesTaxPayable", "GlobalTaxPayable"):
                tax_accounts.append(acc_id)
            if sub == "RetainedEarnings":
                retained = retained or acc_id
            if raw.get("Classification") in ("Revenue", "Expense"):
                pl.add(acc_id)
    if len(tax_accounts) == 1:  # one agency: its liability is the sales tax account
        roles[P.SALES_TAX] = tax_accounts[0]
    by_name = {name.lower(): acc_id for acc_id, name in qbo_names.items()}
    for role, name in P.ROLE_NAMES.items():
        if role not in roles and name.lower() in by_name:
            roles[role] = by_name[name.lower()]
    retained = retained or by_name.get("retained earnings")
    return Chart(roles, pl or set(pl_accounts), retained)


def chart_learn(chart: Chart, ledger: LocalLedger) -> None:
    """Without Account rows: accounts that sales or expense lines post to are treated as
    revenue/expense (a bill line to an asset account is misjudged until Account syncs)."""
    if chart.income_or_expense and "Account" in ENTITIES:
        return
    chart.income_or_expense |= {
        p.account for p in ledger.postings if p.nature and not p.account.startswith("role:")
    }


def trial_balance(ledger: LocalLedger, chart: Chart, *, as_of: date) -> dict[str, Decimal]:
    """Account -> debit minus credit at ``as_of``; earlier fiscal years' revenue and
    expense closed into Retained Earnings (fiscal year from January)."""
    fy_start = date(as_of.year, 1, 1)
    out: dict[str, Decimal] = defaultdict(Decimal)
    for p in ledger.postings:
        account = chart.roles.get(p.account, p.account)
        if (
            account in chart.income_or_expense
            and chart.retained_earnings
            and p.txn_date is not None
            and p.txn_date < fy_start
        ):
            account = chart.retained_earnings
        out[account] += p.amount
    return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class OpenItem:
    entity: str
    qb_id: str
    doc: str
    party: str
    home: Decimal  # in the home currency, signed as in the aging
    own: Decimal  # in the transaction's currency (the party's Balance currency)


def open_items(*, realm_id: str, kind: str, as_of: date | None) -> list[OpenItem]:
    out = []
    for entity, (party_kind, ref_key, field_name, sign) in OPEN_ITEMS.items():
        if party_kind != kind or entity not in ENTITIES:
            continue
        for raw in live_raw(entity, realm_id):
            if as_of is not None and not _before(raw, as_of):
                continue
            own = P.money(raw.get(field_name), field_name) * sign
            if not own:
                continue
            rate = P.money(raw.get("ExchangeRate") or 1, "ExchangeRate")
            ref = raw.get(ref_key) if isinstance(raw.get(ref_key), dict) else {}
            out.append(
                OpenItem(
                    entity,
                    str(raw.get("Id")),
                    str(raw.get("DocNumber") or ""),
                    str(ref.get("value") or ""),
                    P.home(own, rate),
                    own.quantize(P.CENT),
                )
            )
    return out


def party_balances(*, realm_id: str, kind: str) -> dict[str, tuple[str, Decimal]] | None:
    """Id -> (name, Balance) of local customers/vendors; None when not synced."""
    entity = PARTY_ENTITY[kind]
    if entity not in ENTITIES:
        return None
    out = {}
    for raw in live_raw(entity, realm_id):
        out[str(raw.get("Id"))] = (
            str(raw.get("DisplayName") or ""),
            P.money(raw.get("Balance"), "Balance").quantize(P.CENT),
        )
    return out
