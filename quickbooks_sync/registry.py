"""The one place that says which QBO entities we sync and how a payload maps to columns.

Decision: the sync engine is generic; an entity is a declaration here (QBO name, model,
a pure ``to_fields(raw) -> dict``, and the two QBO facts that change how it is read:
whether it is a name-list entity with ``Active`` that QBO hides by default, and whether
QBO hard-deletes it). Adding Vendor is a model plus an entry in ``ENTITIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import models

from quickbooks_sync.models import Customer, Invoice


class MalformedRecord(ValueError):
    """One record cannot be stored; the reason names the field, never the value."""


@dataclass(frozen=True)
class EntitySpec:
    name: str  # QBO entity name, as in queries and JSON keys
    model: type[models.Model]
    to_fields: Callable[[dict], dict]
    has_active: bool = False  # name-list entity: QBO hides Active=false unless asked
    hard_deleted: bool = False  # transactions vanish from queries when deleted


# --- small, strict converters -------------------------------------------------------------


def _text(raw: dict, key: str, limit: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise MalformedRecord(f"{key} is not text")
    return str(value)[:limit]


def _ref_value(raw: dict, key: str) -> str:
    ref = raw.get(key)
    if ref is None:
        return ""
    if not isinstance(ref, dict):
        raise MalformedRecord(f"{key} is not a reference object")
    value = ref.get("value")
    return "" if value is None else str(value)[:64]


def _email(raw: dict, key: str) -> str:
    addr = raw.get(key)
    if addr is None:
        return ""
    if not isinstance(addr, dict):
        raise MalformedRecord(f"{key} is not an object")
    value = addr.get("Address")
    return str(value)[:254] if isinstance(value, str) else ""


def _money(raw: dict, key: str) -> Decimal | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedRecord(f"{key} is not a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MalformedRecord(f"{key} is not a number") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e16"):
        raise MalformedRecord(f"{key} is out of range")
    return amount.quantize(Decimal("0.01"))


def _date(raw: dict, key: str) -> date | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedRecord(f"{key} is not a date")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise MalformedRecord(f"{key} is not a YYYY-MM-DD date") from None


def _bool(raw: dict, key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise MalformedRecord(f"{key} is not a boolean")


# --- entity mappings ----------------------------------------------------------------------


def _currency(raw: dict) -> str:
    """CurrencyRef.value (ISO 4217, e.g. "EUR"); "" when QBO sends none (single-currency
    companies omit it)."""
    value = _ref_value(raw, "CurrencyRef")
    return value.upper() if len(value) == 3 and value.isalpha() else ""


def customer_fields(raw: dict) -> dict:
    return {
        "display_name": _text(raw, "DisplayName", 500),
        "email": _email(raw, "PrimaryEmailAddr"),
        "balance": _money(raw, "Balance"),
        "currency": _currency(raw),
        "active": _bool(raw, "Active", True),
    }


def is_voided(raw: dict, total: Decimal | None) -> bool:
    """QBO keeps a voided invoice, zeroes its amounts and notes "Voided" (API-NOTES §9).

    The entity-status enum also has ``Voided``; accept either signal.
    """
    if raw.get("status") == "Voided":
        return True
    note = raw.get("PrivateNote")
    return isinstance(note, str) and note.strip().lower().startswith("voided") and not total


def invoice_fields(raw: dict) -> dict:
    total = _money(raw, "TotalAmt")
    return {
        "doc_number": _text(raw, "DocNumber", 64),
        "customer_qb_id": _ref_value(raw, "CustomerRef"),
        "txn_date": _date(raw, "TxnDate"),
        "due_date": _date(raw, "DueDate"),
        "total_amt": total,
        "balance": _money(raw, "Balance"),
        "currency": _currency(raw),
        "voided": is_voided(raw, total),
    }


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec("Customer", Customer, customer_fields, has_active=True),
        EntitySpec("Invoice", Invoice, invoice_fields, hard_deleted=True),
    )
}


def get_entity(name: str) -> EntitySpec:
    """Look an entity up by QBO name, case-insensitively, with a helpful error."""
    for key, spec in ENTITIES.items():
        if key.lower() == name.lower():
            return spec
    raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITIES)}")
