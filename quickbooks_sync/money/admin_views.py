"""The admin "Reports" page of a realm: latest P&L and balance sheet, a monthly income and
expense chart (inline SVG, no JavaScript), and the tie-out verdict with its differences.

Reads only stored snapshots and verdicts (selectors below); it never calls QBO.
"""

from __future__ import annotations

from decimal import Decimal

from quickbooks_sync.money.models import MoneyCheck, ReportRow, ReportSnapshot

CHART_W, CHART_H, PAD = 640, 200, 24


def latest_snapshot(realm_id: str, name: str, **filters) -> ReportSnapshot | None:
    return (
        ReportSnapshot.objects.filter(
            realm_id=realm_id, report_name=name, basis="Accrual", **filters
        )
        .order_by("-end_date", "-taken_at")
        .first()
    )


def report_lines(snap: ReportSnapshot | None) -> list[dict]:
    if snap is None:
        return []
    rows = ReportRow.objects.filter(snapshot=snap).order_by("position", "column_key")
    return [
        {
            "path": r.section_path,
            "name": r.name,
            "amount": r.amount,
            "total": r.row_type == "summary",
        }
        for r in rows
    ]


def monthly_income_expense(realm_id: str) -> list[dict]:
    """One entry per stored month (the latest snapshot of each): income and expense."""
    snaps = {}
    for snap in ReportSnapshot.objects.filter(
        realm_id=realm_id, report_name="ProfitAndLoss", basis="Accrual", start_date__day=1
    ).order_by("taken_at"):
        if (
            snap.start_date.month == snap.end_date.month
            and snap.start_date.year == snap.end_date.year
        ):
            snaps[snap.start_date] = snap
    out = []
    for start, snap in sorted(snaps.items()):
        totals = {"income": Decimal(0), "expense": Decimal(0)}
        for row in ReportRow.objects.filter(snapshot=snap, row_type="summary"):
            if row.group == "Income":
                totals["income"] = row.amount
            elif row.group == "Expenses":
                totals["expense"] = row.amount
        out.append({"month": start.strftime("%b %Y"), **totals})
    return out


def chart_bars(months: list[dict]) -> dict:
    """Bar geometry for the template: two bars per month, scaled to the largest value."""
    top = max([m["income"] for m in months] + [m["expense"] for m in months] + [Decimal(1)])
    slot = (CHART_W - 2 * PAD) / max(len(months), 1)
    bars = []
    for i, m in enumerate(months):
        for j, key in enumerate(("income", "expense")):
            h = float(m[key] / top) * (CHART_H - 2 * PAD) if m[key] > 0 else 0.0
            bars.append({
                "x": round(PAD + i * slot + j * slot * 0.4 + slot * 0.1, 1),
                "y": round(CHART_H - PAD - h, 1), "w": round(slot * 0.35, 1), "h": round(h, 1),
                "kind": key, "title": f"{m['month']} {key}: {m[key]:.2f}",
            })  # fmt: skip
    labels = [
        {"x": round(PAD + i * slot + slot / 2, 1), "text": m["month"]} for i, m in enumerate(months)
    ]
    return {
        "width": CHART_W,
        "height": CHART_H,
        "bars": bars,
        "labels": labels,
        "base": CHART_H - PAD,
    }


def reports_page_context(realm_id: str) -> dict:
    months = monthly_income_expense(realm_id)
    pl = latest_snapshot(realm_id, "ProfitAndLoss", start_date__month=1, start_date__day=1)
    bs = latest_snapshot(realm_id, "BalanceSheet")
    return {
        "realm_id": realm_id,
        "pl": pl,
        "pl_lines": report_lines(pl),
        "bs": bs,
        "bs_lines": report_lines(bs),
        "months": months,
        "chart": chart_bars(months),
        "verdict": MoneyCheck.objects.filter(realm_id=realm_id).order_by("-checked_at").first(),
    }
