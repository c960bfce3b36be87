"""Entity construction rules: QBO defaults, computed fields and business errors.

Why separate from store.py: these are the *shape* rules (what a new Customer/Invoice looks
like, which fields a client may not set, how invoice lines are numbered and totalled);
store.py owns indexes, locking and timestamps.
"""

from __future__ import annotations

import json
from datetime import timedelta

from . import data
from .clock import company_date


class QBOError(ValueError):
    """A business error QBO would answer with a 400 Fault (code/message/detail)."""

    def __init__(self, code: str, message: str, detail: str, element: str | None = None):
        super().__init__(f"{message}: {detail}")
        self.code, self.message, self.detail, self.element = code, message, detail, element


SYSTEM_FIELDS = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
READ_ONLY = frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName", "DocNumber"})
# What the HTTP write endpoint ignores from a client body (QBO computes these itself).
HTTP_READ_ONLY = {
    "Customer": frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName"}),
    "Invoice": frozenset({"Balance", "HomeBalance"}),
}


def int_id(id_) -> int:
    try:
        return int(str(id_))
    except ValueError:
        return -1


def drop_nulls(obj):
    """QBO omits unset properties rather than sending null or empty strings (recursively)."""
    if isinstance(obj, dict):
        return {k: drop_nulls(v) for k, v in obj.items() if v is not None and v != ""}
    if isinstance(obj, list):
        return [drop_nulls(v) for v in obj]
    return obj


def number_lines(lines: list) -> list:
    """Give item lines Id/LineNum like QBO; drop client subtotal lines and append ours."""
    out, n = [], 0
    for line in lines:
        if line.get("DetailType") == "SubTotalLineDetail":
            continue
        n += 1
        line = {"Id": str(n), "LineNum": n, **line}
        line["Amount"] = float(line.get("Amount", 0) or 0)
        out.append(line)
    out.append(
        {"Amount": lines_total(out), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    return out


def lines_total(lines: list) -> float:
    return round(
        sum(
            float(ln.get("Amount", 0) or 0)
            for ln in lines
            if ln.get("DetailType") != "SubTotalLineDetail"
        ),
        2,
    )


def new_customer(ctab, fields: dict) -> dict:
    names = [fields.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName")]
    display = fields.get("DisplayName") or " ".join(n for n in names if n)
    display = display or fields.get("CompanyName") or ""
    if not display:
        raise QBOError(
            "6000",
            "A business validation error has occurred",
            "You must fill out at least one name field",
            "DisplayName",
        )
    check_name(ctab, display, None)
    obj = {
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": data.currency_ref("USD"),
        "PreferredDeliveryMethod": "Print",
        "IsProject": False,
        "FullyQualifiedName": display,
        "DisplayName": display,
        "PrintOnCheckName": fields.get("CompanyName") or display,
        "Active": True,
    }
    obj.update(fields)
    return drop_nulls(obj)


def check_name(ctab, display: str, own_id: int | None) -> None:
    """DisplayName is unique per realm (6240), inactive customers included."""
    needle = json.dumps(display, ensure_ascii=False)
    for row in ctab.rows.values():
        if row.id != own_id and f'"DisplayName":{needle}' in row.json:
            raise QBOError(
                "6240",
                "Duplicate Name Exists Error",
                f"The name supplied already exists. : Another customer is "
                f"already using this name. Please use a different name. "
                f"Id={row.id}",
            )


def new_invoice(realm, fields: dict, now: int) -> dict:
    ref = fields.get("CustomerRef") or {}
    cid = ref.get("value") if isinstance(ref, dict) else ref
    crow = realm.tables["Customer"].get(int_id(cid)) if cid is not None else None
    if crow is None:
        raise QBOError(
            "2500",
            "Invalid Reference Id",
            f"Invalid Reference Id : Something you're trying to use has been "
            f"made inactive or deleted. Customer Id={cid}",
            "CustomerRef",
        )
    cust = crow.obj()
    txn = company_date(now)
    lines = number_lines(
        fields.get("Line")
        or [
            {
                "Amount": float(fields.get("TotalAmt", 100.0)),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}},
            }
        ]
    )
    total = lines_total(lines)
    obj = {
        "CustomField": [{"DefinitionId": "1", "Name": "PO #", "Type": "StringType"}],
        "DocNumber": str(realm.next_doc),
        "TxnDate": txn.isoformat(),
        "DueDate": (txn + timedelta(days=30)).isoformat(),
        "CurrencyRef": cust.get("CurrencyRef", data.currency_ref("USD")),
        "LinkedTxn": [],
        "TxnTaxDetail": {"TotalTax": 0},
        "SalesTermRef": {"value": "3", "name": "Net 30"},
        "TotalAmt": total,
        "Balance": total,
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NotSet",
        "EmailStatus": "NotSet",
    }
    if "PrimaryEmailAddr" in cust:
        obj["BillEmail"] = cust["PrimaryEmailAddr"]
    obj.update(fields)
    obj["Line"] = lines
    obj["CustomerRef"] = {"value": str(crow.id), "name": cust.get("DisplayName", "")}
    realm.next_doc += 1
    return drop_nulls(obj)
