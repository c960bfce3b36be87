"""``GET /v3/company/{realm}/reports/{Name}``: QBO reports built from the sandbox's data.

Shape as in API-NOTES §12: ``Header`` (ReportName, StartPeriod, EndPeriod, ReportBasis,
Currency, Time, Option), ``Columns.Column[]`` (ColTitle, ColType, MetaData ColKey) and
``Rows.Row[]`` with nested ``Section`` rows (Header/Rows/Summary, ``group``) and ``Data``
rows whose ``ColData`` values are strings, with ``id`` on the account/customer/vendor (or
transaction, on detail reports).

Figures come from ``ledger.general_ledger`` (accrual). Cash basis keeps only transactions
that post no A/R or A/P (payments are not allocated to invoice income): a documented
simplification, since the tie-out compares accrual reports. Trial balance and balance
sheet close revenue and expense of earlier fiscal years (January start) into Retained
Earnings. ``report_skew`` on the state (``/_sandbox/report_skew``) adds an amount to the
first figure of every report, so a client's diff path can be tested.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from . import general_ledger as ledger
from .clock import company_date, fmt_time_ms
from .entities import QBOError

REPORTS = (
    "ProfitAndLoss",
    "BalanceSheet",
    "TrialBalance",
    "AgedReceivables",
    "AgedReceivableDetail",
    "AgedPayables",
    "AgedPayableDetail",
)
BUCKETS = (("current", "Current"), ("d1_30", "1 - 30"), ("d31_60", "31 - 60"),
           ("d61_90", "61 - 90"), ("d91", "91 and over"))  # fmt: skip


def canonical(name: str) -> str | None:
    return next((r for r in REPORTS if r.lower() == name.lower()), None)


def _fmt(amount: Decimal) -> str:
    return f"{amount:.2f}" if amount else ""


def _col(title: str, ctype: str, key: str) -> dict:
    return {"ColTitle": title, "ColType": ctype, "MetaData": [{"Name": "ColKey", "Value": key}]}


def _date(params: dict, key: str, default: date) -> date:
    text = params.get(key)
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QBOError(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:{key} specified is unsupported or invalid : {text}",
            key,
        ) from None


def build(state, realm_id: str, name: str, params: dict) -> dict:
    report = canonical(name)
    if report is None:
        raise QBOError(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:report name specified is unsupported or invalid : {name}"
            f" (the sandbox serves {', '.join(REPORTS)})",
        )
    basis = "Cash" if (params.get("accounting_method") or "").lower() == "cash" else "Accrual"
    now = state.clock.time()
    today = company_date(now)
    with state.lock:
        records = {e: state.records(realm_id, e) for e in state.realm(realm_id).tables}
    aging = report.startswith("Aged")
    end = _date(params, "report_date" if aging else "end_date", today)
    start = _date(params, "start_date", date(end.year, 1, 1))
    body = BUILDERS[report](records, basis, start, end)
    body["Header"] = {
        "Time": fmt_time_ms(now),
        "ReportName": report,
        "DateMacro": "",
        **({} if aging else {"ReportBasis": basis, "StartPeriod": start.isoformat()}),
        "EndPeriod": end.isoformat(),
        "SummarizeColumnsBy": "Total",
        "Currency": "USD",
        "Option": [{"Name": "NoReportData", "Value": "false" if body["Rows"]["Row"] else "true"}],
    }
    skew = Decimal(str(getattr(state, "report_skew", 0) or 0))
    if skew:
        _skew(body, skew)
    return {"Header": body["Header"], "Columns": body["Columns"], "Rows": body["Rows"]}


def _skew(body: dict, skew: Decimal) -> None:
    """Add ``skew`` to the first figure of the first data row (found depth-first)."""

    def first_data(rows):
        for row in rows.get("Row", []):
            if "ColData" in row:
                return row
            found = first_data(row.get("Rows") or {})
            if found:
                return found
        return None

    row = first_data(body["Rows"])
    if row is None:
        return
    types = [c["ColType"] for c in body["Columns"]["Column"]]
    for cell, ctype in zip(row["ColData"], types, strict=False):
        if ctype == "Money" and cell.get("value"):
            cell["value"] = _fmt(Decimal(cell["value"]) + skew)
            return


# -- ledger-based reports --------------------------------------------------------------


def _entries(records, basis: str) -> list[ledger.Entry]:
    entries = ledger.general_ledger(records)
    if basis == "Cash":
        credit_txns = {
            (e.txn_type, e.txn_id)
            for e in entries
            if e.account in (ledger.AR_ACCOUNT, ledger.AP_ACCOUNT)
        }
        entries = [e for e in entries if (e.txn_type, e.txn_id) not in credit_txns]
    return entries


class _Chart:
    """The realm's accounts: name and classification by Id."""

    def __init__(self, records) -> None:
        self.accounts = ledger.chart(records)

    def classification(self, account: str) -> str:
        return self.accounts.get(account, (f"Account {account}", "Asset"))[1]

    def name(self, account: str) -> str:
        return self.accounts.get(account, (f"Account {account}", "Asset"))[0]


def _balances(records, basis: str, end: date) -> dict[str, Decimal]:
    """Closing balances at ``end``; earlier years' revenue/expense sit in Retained Earnings."""
    fy_start = date(end.year, 1, 1).isoformat()
    chart = _Chart(records)
    out: dict[str, Decimal] = defaultdict(Decimal)
    for e in _entries(records, basis):
        if e.txn_date > end.isoformat():
            continue
        account = e.account
        if chart.classification(account) in ("Revenue", "Expense") and e.txn_date < fy_start:
            account = ledger.RETAINED_EARNINGS
        out[account] += e.amount
    return {k: v for k, v in out.items() if v}


def trial_balance(records, basis, start, end) -> dict:
    rows, debit, credit = [], Decimal(0), Decimal(0)
    _name = _Chart(records).name
    for account, amount in sorted(
        _balances(records, basis, end).items(), key=lambda kv: _name(kv[0])
    ):
        dr, cr = (amount, Decimal(0)) if amount > 0 else (Decimal(0), -amount)
        debit, credit = debit + dr, credit + cr
        cells = [{"value": _name(account), "id": account}, {"value": _fmt(dr)}, {"value": _fmt(cr)}]
        rows.append({"ColData": cells, "type": "Data"})
    rows.append({"Summary": {"ColData": [{"value": "TOTAL"}, {"value": f"{debit:.2f}"},
                                         {"value": f"{credit:.2f}"}]},
                 "type": "Section", "group": "GrandTotal"})  # fmt: skip
    columns = [_col("", "Account", "account"), _col("Debit", "Money", "debit"),
               _col("Credit", "Money", "credit")]  # fmt: skip
    return {"Columns": {"Column": columns}, "Rows": {"Row": rows}}


def _section(
    chart: _Chart, title: str, group: str, lines: list[tuple[str, Decimal]], total_label: str
) -> dict:
    data = [{"ColData": [{"value": chart.name(a), "id": a}, {"value": _fmt(v)}], "type": "Data"}
            for a, v in lines]  # fmt: skip
    total = sum((v for _, v in lines), Decimal(0))
    return {
        "Header": {"ColData": [{"value": title}, {"value": ""}]},
        "Rows": {"Row": data},
        "Summary": {"ColData": [{"value": total_label}, {"value": f"{total:.2f}"}]},
        "type": "Section",
        "group": group,
    }


def profit_and_loss(records, basis, start, end) -> dict:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for e in _entries(records, basis):
        if start.isoformat() <= e.txn_date <= end.isoformat():
            sums[e.account] += e.amount
    chart = _Chart(records)
    income = sorted((a, -v) for a, v in sums.items() if chart.classification(a) == "Revenue" and v)
    expense = sorted((a, v) for a, v in sums.items() if chart.classification(a) == "Expense" and v)
    net = sum((v for _, v in income), Decimal(0)) - sum((v for _, v in expense), Decimal(0))
    rows = [
        _section(chart, "Income", "Income", income, "Total Income"),
        _section(chart, "Expenses", "Expenses", expense, "Total Expenses"),
        {"Summary": {"ColData": [{"value": "Net Income"}, {"value": f"{net:.2f}"}]},
         "type": "Section", "group": "NetIncome"},
    ]  # fmt: skip
    columns = [_col("", "Account", "account"), _col("Total", "Money", "total")]
    return {"Columns": {"Column": columns}, "Rows": {"Row": rows}}


def balance_sheet(records, basis, start, end) -> dict:
    balances = _balances(records, basis, end)
    chart = _Chart(records)
    _classification = chart.classification
    fy_start = date(end.year, 1, 1)
    net_income = Decimal(0)
    for e in _entries(records, basis):
        in_year = fy_start.isoformat() <= e.txn_date <= end.isoformat()
        if in_year and _classification(e.account) in ("Revenue", "Expense"):
            net_income -= e.amount
    assets = sorted((a, v) for a, v in balances.items() if _classification(a) == "Asset")
    liabilities = sorted((a, -v) for a, v in balances.items() if _classification(a) == "Liability")
    equity = sorted((a, -v) for a, v in balances.items() if _classification(a) == "Equity")
    eq = _section(chart, "Equity", "Equity", equity, "Total Equity")
    eq["Rows"]["Row"].append(
        {"ColData": [{"value": "Net Income"}, {"value": _fmt(net_income)}], "type": "Data"}
    )
    eq_total = sum((v for _, v in equity), Decimal(0)) + net_income
    eq["Summary"]["ColData"][1]["value"] = f"{eq_total:.2f}"
    liab = _section(chart, "Liabilities", "Liabilities", liabilities, "Total Liabilities")
    both = sum((v for _, v in liabilities), Decimal(0)) + eq_total
    rows = [
        _section(chart, "ASSETS", "TotalAssets", assets, "TOTAL ASSETS"),
        {"Header": {"ColData": [{"value": "LIABILITIES AND EQUITY"}, {"value": ""}]},
         "Rows": {"Row": [liab, eq]},
         "Summary": {"ColData": [{"value": "TOTAL LIABILITIES AND EQUITY"},
                                 {"value": f"{both:.2f}"}]},
         "type": "Section", "group": "TotalLiabilitiesAndEquity"},
    ]  # fmt: skip
    columns = [_col("", "Account", "account"), _col("Total", "Money", "total")]
    return {"Columns": {"Column": columns}, "Rows": {"Row": rows}}


# -- agings ---------------------------------------------------------------------------


def _bucket(due: str, as_of: date) -> str:
    try:
        days = (as_of - date.fromisoformat(due)).days
    except ValueError:
        days = 0
    if days <= 0:
        return "current"
    return "d1_30" if days <= 30 else "d31_60" if days <= 60 else "d61_90" if days <= 90 else "d91"


def _open_items(records, kind: str, as_of: date):
    """(entity, obj, party id, home open amount, bucket) of open items of ``kind``."""
    for entity, (party_kind, sign, ref_key, field) in ledger.OPEN_ITEMS.items():
        if party_kind != kind:
            continue
        for obj in records.get(entity, {}).values():
            if str(obj.get("TxnDate", "")) > as_of.isoformat():
                continue
            amount = sign * ledger.to_home(obj.get(field), obj.get("ExchangeRate", 1))
            if amount:
                party = str((obj.get(ref_key) or {}).get("value", ""))
                due = str(obj.get("DueDate") or obj.get("TxnDate") or "")
                yield entity, obj, party, amount, _bucket(due, as_of)


def _party_names(records, kind: str) -> dict[str, str]:
    entity = "Customer" if kind == "customer" else "Vendor"
    return {i: o.get("DisplayName", "") for i, o in records.get(entity, {}).items()}


def _aging(kind: str):
    def build_summary(records, basis, start, as_of) -> dict:
        names = _party_names(records, kind)
        per: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for _, _, party, amount, bucket in _open_items(records, kind, as_of):
            per[party][bucket] += amount
        rows, totals = [], defaultdict(Decimal)
        for party in sorted(per, key=lambda p: (names.get(p, ""), p)):
            cells = [{"value": names.get(party, ""), "id": party}]
            for key, _ in BUCKETS:
                cells.append({"value": _fmt(per[party][key])})
                totals[key] += per[party][key]
            cells.append({"value": _fmt(sum(per[party].values(), Decimal(0)))})
            rows.append({"ColData": cells, "type": "Data"})
        summary = [{"value": "TOTAL"}, *({"value": f"{totals[k]:.2f}"} for k, _ in BUCKETS)]
        summary.append({"value": f"{sum(totals.values(), Decimal(0)):.2f}"})
        rows.append({"Summary": {"ColData": summary}, "type": "Section", "group": "GrandTotal"})
        columns = [_col("", kind.title(), kind), *(_col(t, "Money", k) for k, t in BUCKETS),
                   _col("Total", "Money", "total")]  # fmt: skip
        return {"Columns": {"Column": columns}, "Rows": {"Row": rows}}

    return build_summary


def _aging_detail(kind: str):
    def build_detail(records, basis, start, as_of) -> dict:
        names = _party_names(records, kind)
        by_bucket: dict[str, list] = defaultdict(list)
        for entity, obj, party, amount, bucket in _open_items(records, kind, as_of):
            total = ledger.to_home(obj.get("TotalAmt"), obj.get("ExchangeRate", 1))
            by_bucket[bucket].append([
                {"value": str(obj.get("TxnDate", ""))},
                {"value": entity, "id": str(obj["Id"])},
                {"value": str(obj.get("DocNumber", ""))},
                {"value": names.get(party, ""), "id": party},
                {"value": str(obj.get("DueDate", ""))},
                {"value": _fmt(total)},
                {"value": _fmt(amount)},
            ])  # fmt: skip
        rows = []
        for key, title in BUCKETS:
            if not by_bucket[key]:
                continue
            lines = sorted(by_bucket[key], key=lambda c: (c[0]["value"], int(c[1]["id"])))
            total = sum((Decimal(c[6]["value"]) for c in lines), Decimal(0))
            rows.append({
                "Header": {"ColData": [{"value": title}, *({"value": ""} for _ in range(6))]},
                "Rows": {"Row": [{"ColData": c, "type": "Data"} for c in lines]},
                "Summary": {"ColData": [{"value": f"Total for {title}"},
                                        *({"value": ""} for _ in range(5)),
                                        {"value": f"{total:.2f}"}]},
                "type": "Section",
            })  # fmt: skip
        label = "Customer" if kind == "customer" else "Vendor"
        columns = [_col("Date", "Date", "tx_date"), _col("Transaction Type", "String", "txn_type"),
                   _col("Num", "String", "doc_num"), _col(label, "String", f"{kind}_name"),
                   _col("Due Date", "Date", "due_date"), _col("Amount", "Money", "subt_amount"),
                   _col("Open Balance", "Money", "subt_open_bal")]  # fmt: skip
        return {"Columns": {"Column": columns}, "Rows": {"Row": rows}}

    return build_detail


BUILDERS = {
    "ProfitAndLoss": profit_and_loss,
    "BalanceSheet": balance_sheet,
    "TrialBalance": trial_balance,
    "AgedReceivables": _aging("customer"),
    "AgedPayables": _aging("vendor"),
    "AgedReceivableDetail": _aging_detail("customer"),
    "AgedPayableDetail": _aging_detail("vendor"),
}
