"""Turn a QBO report (Header, Columns, nested Rows) into flat rows of amounts.

QBO's shape (API-NOTES §12): ``Columns.Column[]`` name the columns (``ColTitle``,
``ColType``, ``MetaData[{Name: "ColKey", Value}]``); ``Rows.Row[]`` holds ``Section`` rows
(``Header.ColData``, nested ``Rows``, ``Summary.ColData``, optional ``group``) and ``Data``
rows (``ColData[{value, id?}]``). Values are strings; an empty string is no amount.

Decision: one ``FlatRow`` per (line, money column); the line's label is its first cell,
its entity Id the first cell that carries an ``id`` (the account, customer or vendor on
summary reports, the transaction on detail reports). Pure functions: no ORM here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MONEY_TYPES = {"money", "amount"}


class ReportShapeError(ValueError):
    """The answer is not a QBO report we can read; the message says what is missing."""


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    type: str

    @property
    def is_money(self) -> bool:
        return self.type.lower() in MONEY_TYPES


@dataclass
class FlatRow:
    position: int
    section_path: str
    group: str
    row_type: str  # "data" or "summary"
    qb_id: str
    name: str
    column_key: str
    column_title: str
    amount: Decimal
    cells: list[dict] = field(default_factory=list)  # the line's ColData: {value, id?}


def columns_of(report: dict) -> list[Column]:
    raw = ((report.get("Columns") or {}).get("Column")) or []
    if not isinstance(raw, list):
        raise ReportShapeError("Columns.Column is not a list")
    out = []
    for i, col in enumerate(raw):
        col = col if isinstance(col, dict) else {}
        meta = {
            m.get("Name"): m.get("Value") for m in col.get("MetaData") or [] if isinstance(m, dict)
        }
        title = str(col.get("ColTitle") or "")
        key = str(meta.get("ColKey") or title or f"col{i}")
        out.append(Column(key=key, title=title, type=str(col.get("ColType") or "")))
    return out


def parse_amount(value) -> Decimal | None:
    """QBO report values are strings (``"1234.50"``, ``"-3.00"``, ``""``)."""
    if value is None:
        return None
    text = str(value).strip().replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount.quantize(Decimal("0.01")) if amount.is_finite() else None


def flatten(report: dict) -> list[FlatRow]:
    if not isinstance(report, dict) or "Rows" not in report:
        raise ReportShapeError("the answer has no Rows: not a QBO report")
    columns = columns_of(report)
    out: list[FlatRow] = []
    counter = [0]

    def emit(cells: list, path: str, group: str, row_type: str) -> None:
        counter[0] += 1
        values = [str((c or {}).get("value", "")) if isinstance(c, dict) else "" for c in cells]
        raw_cells = [
            {k: str(c[k]) for k in ("value", "id") if c.get(k) not in (None, "")}
            if isinstance(c, dict)
            else {}
            for c in cells
        ]
        qb_id = next(
            (str(c["id"]) for c in cells if isinstance(c, dict) and c.get("id") not in (None, "")),
            "",
        )
        name = values[0] if values else ""
        for col, value in zip(columns, values, strict=False):
            if not col.is_money:
                continue
            amount = parse_amount(value)
            if amount is None:
                continue
            out.append(
                FlatRow(
                    counter[0],
                    path,
                    group,
                    row_type,
                    qb_id,
                    name,
                    col.key,
                    col.title,
                    amount,
                    raw_cells,
                )
            )

    def walk(rows, path: list[str]) -> None:
        rows = (rows or {}).get("Row") or []
        if not isinstance(rows, list):
            raise ReportShapeError("Rows.Row is not a list")
        for row in rows:
            if not isinstance(row, dict):
                continue
            group = str(row.get("group") or "")
            if "ColData" in row:
                emit(row.get("ColData") or [], "/".join(path), group, "data")
                continue
            header = ((row.get("Header") or {}).get("ColData")) or []
            title = str((header[0] or {}).get("value", "")) if header else ""
            inner = [*path, title or group] if (title or group) else path
            if header and any(parse_amount((c or {}).get("value")) is not None for c in header[1:]):
                emit(header, "/".join(inner), group, "data")  # a section header with amounts
            walk(row.get("Rows"), inner)
            summary = ((row.get("Summary") or {}).get("ColData")) or []
            if summary:
                emit(summary, "/".join(inner), group, "summary")

    walk(report.get("Rows"), [])
    return out


def header_of(report: dict) -> dict:
    header = report.get("Header")
    if not isinstance(header, dict):
        raise ReportShapeError("the answer has no Header: not a QBO report")
    return header
