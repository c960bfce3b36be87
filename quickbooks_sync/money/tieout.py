"""``verifysync --money``: the local ledger against QBO's own reports, to the cent.

Decision: the reports compared are fetched at check time (and stored as snapshots), so
both sides describe the same moment; a report older than the local rows would compare
different moments. Checks:

* ``AR per customer``: open A/R from local open items (invoices, credit memos, unapplied
  payments) vs QBO's AgedReceivables Total, in the home currency; each difference is
  explained by the transactions of that customer that differ from AgedReceivableDetail.
* ``customer Balance``: the same open items in the customer's currency vs each local
  customer's ``Balance`` (what QBO says on the customer itself).
* ``AP per vendor``: likewise with AgedPayables (when vendors are synced or QBO has any).
* ``trial balance``: every account's debit minus credit from ``postings`` vs QBO's
  TrialBalance as of the date; a difference lists transactions QBO has that are not live
  here (or differ in version), and the local postings no rule models.

The verdict is stored (``MoneyCheck``) for ``syncstatus``, ``/healthz`` and the admin.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone

from quickbooks_sync.money import ledger as L
from quickbooks_sync.money import postings as P
from quickbooks_sync.money.models import MoneyCheck, ReportRow, ReportSnapshot
from quickbooks_sync.money.snapshots import report_snapshot_store
from quickbooks_sync.qbo.client import QBOClient
from quickbooks_sync.registry import ENTITIES

SHOW = 10
ZERO = Decimal("0.00")


@dataclass
class Difference:
    label: str  # account or counterparty, with its Id
    qbo: str
    local: str
    difference: str
    explained_by: list[str] = field(default_factory=list)


@dataclass
class Check:
    name: str
    compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _rows(snap: ReportSnapshot, column: str | None = None):
    """Data rows; with ``column``, those of that column, found by key, else by title
    (QBO's ColKey values are not documented for every report), else the last money one."""
    qs = ReportRow.objects.filter(snapshot=snap, row_type=ReportRow.RowType.DATA)
    if not column:
        return qs
    keys = [c.get("key", "") for c in snap.columns]
    titles = {c.get("title", "").lower(): c.get("key", "") for c in snap.columns}
    money_keys = [c.get("key", "") for c in snap.columns if c.get("type", "").lower() == "money"]
    if column not in keys:
        fallback = {"total": "total", "subt_open_bal": "open balance"}.get(column, column)
        column = titles.get(fallback) or (money_keys[-1] if money_keys else column)
    return qs.filter(column_key=column)


def _compare(
    check: Check, qbo: dict[str, Decimal], local: dict[str, Decimal], names: dict[str, str]
) -> list[str]:
    keys = sorted(set(qbo) | set(local), key=lambda k: (names.get(k, k), k))
    check.compared = len(keys)
    differing = []
    for key in keys:
        q, m = qbo.get(key, ZERO), local.get(key, ZERO)
        if q != m:
            label = f"{names.get(key) or key} ({key})"
            check.differences.append(Difference(label, f"{q:.2f}", f"{m:.2f}", f"{m - q:.2f}"))
            differing.append(key)
    return differing


def _aging_check(client, realm_id: str, kind: str, as_of: date) -> Check:
    summary_name = "AgedReceivables" if kind == "customer" else "AgedPayables"
    detail_name = "AgedReceivableDetail" if kind == "customer" else "AgedPayableDetail"
    check = Check(f"{'AR per customer' if kind == 'customer' else 'AP per vendor'}")
    summary = report_snapshot_store(
        client=client, name=summary_name, basis="Accrual", start=None, end=as_of
    )
    detail = report_snapshot_store(
        client=client, name=detail_name, basis="Accrual", start=None, end=as_of
    )
    qbo: dict[str, Decimal] = {}
    names: dict[str, str] = {}
    for row in _rows(summary, "total"):
        qbo[row.qb_id] = qbo.get(row.qb_id, ZERO) + row.amount
        names[row.qb_id] = row.name
    items = L.open_items(realm_id=realm_id, kind=kind, as_of=as_of)
    local: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        local[item.party] += item.home
    local = {k: v for k, v in local.items() if v}
    if L.PARTY_ENTITY[kind] not in ENTITIES:
        check.notes.append(f"{L.PARTY_ENTITY[kind]} is not synced: names come from QBO")
    differing = _compare(check, qbo, local, names)
    # Explain from the detail report: each open transaction, QBO vs local.
    qbo_items: dict[tuple[str, str], tuple[str, Decimal]] = {}
    for row in _rows(detail, "subt_open_bal"):
        cells = row.cells + [{}] * 4
        # QBO titles the type ("Credit Memo"); the entity name has no space.
        entity, party = cells[1].get("value", "").replace(" ", ""), cells[3].get("id", "")
        qbo_items[(entity, row.qb_id)] = (party, row.amount)
    local_items = {(i.entity, i.qb_id): i for i in items}
    for diff, key in zip(check.differences, differing, strict=True):
        for (entity, txn_id), (party, amount) in sorted(qbo_items.items()):
            if party != key:
                continue
            mine = local_items.get((entity, txn_id))
            if mine is None:
                diff.explained_by.append(
                    f"{entity} {txn_id}: open {amount:.2f} in QBO, not open (or not live) here"
                )
            elif mine.home != amount:
                diff.explained_by.append(
                    f"{entity} {txn_id}: open {amount:.2f} in QBO, {mine.home:.2f} here"
                )
        for (entity, txn_id), mine in sorted(local_items.items()):
            if mine.party == key and (entity, txn_id) not in qbo_items:
                diff.explained_by.append(
                    f"{entity} {txn_id}: open {mine.home:.2f} here, not open in QBO"
                )
    return check


def _balance_check(realm_id: str, kind: str) -> Check | None:
    parties = L.party_balances(realm_id=realm_id, kind=kind)
    if parties is None:
        return None
    check = Check(f"{L.PARTY_ENTITY[kind].lower()} Balance")
    local: dict[str, Decimal] = defaultdict(Decimal)
    for item in L.open_items(realm_id=realm_id, kind=kind, as_of=None):
        local[item.party] += item.own
    qbo = {k: v for k, (_, v) in parties.items() if v}
    names = {k: n for k, (n, _) in parties.items()}
    _compare(check, qbo, {k: v for k, v in local.items() if v}, names)
    for diff in check.differences:
        diff.label = diff.label.replace("(", f"({L.PARTY_ENTITY[kind]} ", 1)
    check.notes.append(
        f"QBO = the {L.PARTY_ENTITY[kind]}'s Balance field; local = its open transactions"
    )
    return check


def _trial_balance_check(client, realm_id: str, as_of: date) -> Check:
    check = Check("trial balance")
    snap = report_snapshot_store(
        client=client,
        name="TrialBalance",
        basis="Accrual",
        start=date(as_of.year, 1, 1),
        end=as_of,
    )
    qbo: dict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    for row in _rows(snap):
        sign = -1 if "credit" in (row.column_key.lower(), row.column_title.lower()) else 1
        qbo[row.qb_id] += sign * row.amount
        names[row.qb_id] = row.name
    pl_accounts = set(
        ReportRow.objects.filter(
            snapshot__realm_id=realm_id,
            snapshot__report_name="ProfitAndLoss",
            row_type=ReportRow.RowType.DATA,
        )
        .exclude(qb_id="")
        .values_list("qb_id", flat=True)
        .distinct()
    )
    chart = L.chart_resolve(realm_id=realm_id, qbo_names=names, pl_accounts=pl_accounts)
    book = L.ledger_build(realm_id=realm_id, as_of=as_of)
    L.chart_learn(chart, book)
    local = L.trial_balance(book, chart, as_of=as_of)
    for role, name in P.ROLE_NAMES.items():
        names.setdefault(role, name)
    _compare(check, {k: v for k, v in qbo.items() if v}, local, names)
    if book.unmodelled_entities:
        check.notes.append(
            "synced but without a posting rule (not in the local trial balance): "
            + ", ".join(book.unmodelled_entities)
        )
    if not chart.income_or_expense:
        check.notes.append(
            "no revenue/expense accounts known (sync Account, or mirror ProfitAndLoss): "
            "earlier years are not closed into Retained Earnings"
        )
    if check.differences:
        reasons = (
            _missing_transactions(client)
            + [
                f"{p.txn_type} {p.txn_id}: {p.amount:.2f} to {p.account_name} (no rule models it)"
                for p in book.postings
                if p.account in (P.UNMODELLED, P.UNMAPPED)
            ][:SHOW]
        )
        reasons += [f"could not post {f}" for f in book.failed[:SHOW]]
        for diff in check.differences:
            diff.explained_by = reasons or ["no transaction found: changed after the report?"]
    return check


def _missing_transactions(client) -> list[str]:
    """Transactions QBO has that are not live here, live here but gone from QBO, or at
    another version: the usual reason a trial balance differs."""
    from quickbooks_sync.sync.verify import verify_entity

    out = []
    for name, spec in ENTITIES.items():
        if name not in P.RULES:
            continue
        found = verify_entity(client, spec, ids=True)
        for label, ids in (
            ("missing locally", found.missing_locally),
            ("live locally but deleted in QBO", found.extra_locally),
            ("changed in QBO since synced", found.stale_locally),
        ):
            out += [f"{name} {i}: {label}" for i in ids[:SHOW]]
    return out


def money_check_run(*, client: QBOClient, as_of: date | None = None) -> MoneyCheck:
    realm_id = client.realm_id
    as_of = as_of or timezone.localdate()
    checks = [_aging_check(client, realm_id, "customer", as_of)]
    if (balance := _balance_check(realm_id, "customer")) is not None:
        checks.append(balance)
    checks.append(_aging_check(client, realm_id, "vendor", as_of))
    if (balance := _balance_check(realm_id, "vendor")) is not None:
        checks.append(balance)
    checks.append(_trial_balance_check(client, realm_id, as_of))
    failing = [c.name for c in checks if not c.ok]
    summary = (
        f"{len(checks)} checks tie out to the cent"
        if not failing
        else f"differs from QBO: {', '.join(failing)}"
    )
    return MoneyCheck.objects.create(
        realm_id=realm_id,
        as_of=as_of,
        ok=not failing,
        summary=summary[:500],
        checks=[{**asdict(c), "ok": c.ok} for c in checks],
    )


def latest_money_checks() -> dict[str, MoneyCheck]:
    """realm -> its latest verdict (one query per realm with a verdict)."""
    realms = MoneyCheck.objects.values_list("realm_id", flat=True).distinct()
    return {
        r: MoneyCheck.objects.filter(realm_id=r).order_by("-checked_at").first()
        for r in sorted(set(realms))
    }
