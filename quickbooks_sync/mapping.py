"""Pure payload -> column conversions: strict converters, declared columns, lines and links.

Decision: a column is declared once as ``Column(name, read)`` where ``read(raw)`` takes the
QBO object and returns the typed value; an entity's ``to_fields`` is nothing more than its
columns applied in order. So the writer builds rows by declared name (never from the first
record's keys) and a test can check every declared column against the model.

Lines and linked transactions are mapped here too (API-NOTES §11): a ``Line[]`` item keeps
its ``DetailType`` and the typed fields of whichever detail object it carries; a
``LinkedTxn`` is read from the object itself and from each line (a payment's lines say what
it paid). Every converter raises ``MalformedRecord`` naming the field, never the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation


class MalformedRecord(ValueError):
    """One record cannot be stored; the reason names the field, never the value."""


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


# Amounts, quantities and prices repeat across a page (unit prices, small quantities):
# converting each distinct value once saves a quarter of a page's mapping time. Decimals
# are immutable, so sharing them is safe; the cache is dropped when it grows large.
_NUMBERS: dict[tuple[type, object, str], Decimal] = {}
_NUMBERS_MAX = 8_192  # ~2 MB at most: peak RSS must stay flat as data grows


def _number(raw: dict, key: str, places: str) -> Decimal | None:
    value = raw.get(key)
    if value is None:
        return None
    kind = type(value)  # exact type: bool (an int) is not a number here
    if kind is not int and kind is not float and kind is not str:
        raise MalformedRecord(f"{key} is not a number")
    cached = _NUMBERS.get((kind, value, places))
    if cached is not None:
        return cached
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MalformedRecord(f"{key} is not a number") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e16"):
        raise MalformedRecord(f"{key} is out of range")
    amount = amount.quantize(Decimal(places))
    if len(_NUMBERS) >= _NUMBERS_MAX:
        _NUMBERS.clear()
    _NUMBERS[(kind, value, places)] = amount
    return amount


def _money(raw: dict, key: str) -> Decimal | None:
    return _number(raw, key, "0.01")


def _rate(raw: dict, key: str) -> Decimal | None:
    """Exchange rates, quantities and unit prices keep more places than money."""
    return _number(raw, key, "0.000001")


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


def _object(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedRecord(f"{key} is not an object")
    return value


def _list(raw: dict, key: str) -> list:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedRecord(f"{key} is not a list")
    return value


# --- declared columns ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One typed column: its model field name and how to read it from the QBO object."""

    name: str
    read: Callable[[dict], object]


def text(name: str, key: str, limit: int = 255) -> Column:
    return Column(name, lambda raw: _text(raw, key, limit))


def ref(name: str, key: str) -> Column:
    """A QBO reference (``{"value": Id, "name": …}``) stored as the Id."""
    return Column(name, lambda raw: _ref_value(raw, key))


def nested_ref(name: str, outer: str, key: str) -> Column:
    """A reference inside a sub-object, e.g. ``CheckPayment.BankAccountRef``."""
    return Column(name, lambda raw: _ref_value(_object(raw, outer), key))


def money(name: str, key: str) -> Column:
    return Column(name, lambda raw: _money(raw, key))


def rate(name: str, key: str) -> Column:
    return Column(name, lambda raw: _rate(raw, key))


def day(name: str, key: str) -> Column:
    return Column(name, lambda raw: _date(raw, key))


def flag(name: str, key: str, default: bool) -> Column:
    return Column(name, lambda raw: _bool(raw, key, default))


def email(name: str, key: str) -> Column:
    return Column(name, lambda raw: _email(raw, key))


def is_voided(raw: dict, total: Decimal | None) -> bool:
    """QBO keeps a voided transaction, zeroes its amounts and notes "Voided" (API-NOTES §9).

    The entity-status enum also has ``Voided``; accept either signal.
    """
    if raw.get("status") == "Voided":
        return True
    note = raw.get("PrivateNote")
    return isinstance(note, str) and note.strip().lower().startswith("voided") and not total


VOIDED = Column("voided", lambda raw: is_voided(raw, _money(raw, "TotalAmt")))


def maybe_flag(name: str, key: str) -> Column:
    """A boolean QBO may leave out, stored as null then (not guessed)."""
    return Column(name, lambda raw: None if raw.get(key) is None else _bool(raw, key, False))


def whole(name: str, key: str) -> Column:
    """An integer (days, hours)."""

    def read(raw: dict) -> int | None:
        value = _number(raw, key, "1")
        return None if value is None else int(value)

    return Column(name, read)


def nested_text(name: str, outer: str, key: str, limit: int = 255) -> Column:
    return Column(name, lambda raw: _text(_object(raw, outer), key, limit))


def nested_flag(name: str, outer: str, key: str) -> Column:
    return Column(name, lambda raw: _bool(_object(raw, outer), key, False))


def nested_day(name: str, outer: str, key: str) -> Column:
    return Column(name, lambda raw: _date(_object(raw, outer), key))


def rate_refs(name: str, outer: str) -> Column:
    """The ``TaxRateRef`` Ids of ``<outer>.TaxRateDetail[]`` (a tax code's rates)."""

    def read(raw: dict) -> list[str]:
        details = _list(_object(raw, outer), "TaxRateDetail")
        return [_ref_value(d, "TaxRateRef") for d in details if isinstance(d, dict)]

    return Column(name, read)


def currency() -> tuple[Column, Column]:
    return ref("currency", "CurrencyRef"), rate("exchange_rate", "ExchangeRate")


def fields_of(columns: tuple[Column, ...]) -> Callable[[dict], dict]:
    """``to_fields`` for declared columns: every column, in declaration order."""

    def to_fields(raw: dict) -> dict:
        return {column.name: column.read(raw) for column in columns}

    return to_fields


# --- Customer and Invoice (their original mappings, plus the currency) --------------------


def currency_code(raw: dict) -> str:
    """CurrencyRef.value (ISO 4217, e.g. "EUR"); "" when QBO sends none (single-currency
    companies omit it)."""
    value = _ref_value(raw, "CurrencyRef")
    return value.upper() if len(value) == 3 and value.isalpha() else ""


def customer_fields(raw: dict) -> dict:
    return {
        "display_name": _text(raw, "DisplayName", 500),
        "email": _email(raw, "PrimaryEmailAddr"),
        "balance": _money(raw, "Balance"),
        "currency": currency_code(raw),
        "active": _bool(raw, "Active", True),
    }


def invoice_fields(raw: dict) -> dict:
    total = _money(raw, "TotalAmt")
    return {
        "doc_number": _text(raw, "DocNumber", 64),
        "customer_qb_id": _ref_value(raw, "CustomerRef"),
        "txn_date": _date(raw, "TxnDate"),
        "due_date": _date(raw, "DueDate"),
        "total_amt": total,
        "balance": _money(raw, "Balance"),
        "currency": currency_code(raw),
        "exchange_rate": _rate(raw, "ExchangeRate"),
        "home_total_amt": _money(raw, "HomeTotalAmt"),
        "home_balance": _money(raw, "HomeBalance"),
        "custom_fields": custom_fields_of(raw),
        "voided": is_voided(raw, total),
    }


# --- lines and linked transactions --------------------------------------------------------

LINE_COLUMNS = (
    "position",
    "line_id",
    "line_num",
    "detail_type",
    "amount",
    "description",
    "item_qb_id",
    "account_qb_id",
    "class_qb_id",
    "department_qb_id",
    "customer_qb_id",
    "tax_code",
    "qty",
    "unit_price",
    "service_date",
    "billable_status",
    "posting_type",
    "entity_type",
    "entity_qb_id",
)

LINK_COLUMNS = ("position", "line_position", "txn_id", "txn_type", "txn_line_id", "amount")


def _entity(detail: dict) -> tuple[str, str]:
    """``Entity`` is ``{Type, EntityRef}`` on journal lines, a typed ref on deposit lines."""
    entity = _object(detail, "Entity")
    if "EntityRef" in entity:
        return _text(entity, "Type", 32), _ref_value(entity, "EntityRef")
    if entity:
        return _text(entity, "type", 32), _text(entity, "value", 64)
    return "", ""


def _first_ref(detail: dict, *keys: str) -> str:
    for key in keys:
        if key in detail:
            return _ref_value(detail, key)
    return ""


def line_rows(raw: dict) -> list[tuple]:
    """One tuple per ``Line[]`` item, in ``LINE_COLUMNS`` order (position is 0-based).

    Sub-total, discount, group and description-only lines are kept, typed by their
    ``DetailType``; a line without ``Id`` (QBO's sub-total line) stores an empty line_id.
    """
    rows = []
    for position, line in enumerate(_list(raw, "Line")):
        if not isinstance(line, dict):
            raise MalformedRecord("Line item is not an object")
        detail_type = _text(line, "DetailType", 64)
        detail = _object(line, detail_type) if detail_type else {}
        entity_type, entity_id = _entity(detail)
        qty_key = "Qty" if "Qty" in detail else "Quantity"
        num = line.get("LineNum")
        rows.append(
            (
                position,
                _text(line, "Id", 64),
                num if isinstance(num, int) and not isinstance(num, bool) else None,
                detail_type,
                _money(line, "Amount"),
                _text(line, "Description", 4000),
                _first_ref(detail, "ItemRef", "GroupItemRef"),
                _first_ref(detail, "AccountRef", "ItemAccountRef", "DiscountAccountRef"),
                _ref_value(detail, "ClassRef"),
                _ref_value(detail, "DepartmentRef"),
                _ref_value(detail, "CustomerRef"),
                _ref_value(detail, "TaxCodeRef"),
                _rate(detail, qty_key),
                _rate(detail, "UnitPrice"),
                _date(detail, "ServiceDate"),
                _text(detail, "BillableStatus", 32),
                _text(detail, "PostingType", 16),
                entity_type,
                entity_id,
            )
        )
    return rows


def _links(items: list, line_position: int | None, amount, out: list) -> None:
    for link in items:
        if not isinstance(link, dict):
            raise MalformedRecord("LinkedTxn item is not an object")
        out.append(
            (
                len(out),
                line_position,
                _text(link, "TxnId", 64),
                _text(link, "TxnType", 64),
                _text(link, "TxnLineId", 64),
                amount,
            )
        )


def link_rows(raw: dict) -> list[tuple]:
    """Every ``LinkedTxn`` of the object (amount null) and of its lines (the line amount),
    in ``LINK_COLUMNS`` order."""
    out: list[tuple] = []
    _links(_list(raw, "LinkedTxn"), None, None, out)
    for position, line in enumerate(_list(raw, "Line")):
        if isinstance(line, dict) and line.get("LinkedTxn"):
            _links(_list(line, "LinkedTxn"), position, _money(line, "Amount"), out)
    return out


# --- tax lines, custom fields, budget details ---------------------------------------------

TAX_LINE_COLUMNS = (
    "position",
    "amount",
    "tax_rate_qb_id",
    "percent_based",
    "tax_percent",
    "net_amount_taxable",
    "tax_inclusive_amount",
)


def tax_line_rows(raw: dict) -> list[tuple]:
    """One tuple per ``TxnTaxDetail.TaxLine[]`` item, in ``TAX_LINE_COLUMNS`` order."""
    rows = []
    for position, line in enumerate(_list(_object(raw, "TxnTaxDetail"), "TaxLine")):
        if not isinstance(line, dict):
            raise MalformedRecord("TaxLine item is not an object")
        detail = _object(line, "TaxLineDetail")
        based = detail.get("PercentBased")
        rows.append(
            (
                position,
                _money(line, "Amount"),
                _ref_value(detail, "TaxRateRef"),
                None if based is None else _bool(detail, "PercentBased", False),
                _rate(detail, "TaxPercent"),
                _money(detail, "NetAmountTaxable"),
                _money(detail, "TaxInclusiveAmount"),
            )
        )
    return rows


CUSTOM_FIELD_COLUMNS = ("position", "definition_id", "name", "field_type", "value")
_VALUE_KEYS = ("StringValue", "NumberValue", "DateValue", "BooleanValue")


def _custom_value(field: dict) -> str:
    for key in _VALUE_KEYS:
        if field.get(key) is not None:
            return _text(field, key, 4000)
    return ""


def _custom_fields(raw: dict) -> list[dict]:
    items = _list(raw, "CustomField")
    if not all(isinstance(f, dict) for f in items):
        raise MalformedRecord("CustomField item is not an object")
    return items


def custom_field_rows(raw: dict) -> list[tuple]:
    """One tuple per legacy ``CustomField[]`` entry, with or without a value."""
    return [
        (
            position,
            _text(field, "DefinitionId", 64),
            _text(field, "Name", 255),
            _text(field, "Type", 32),
            _custom_value(field),
        )
        for position, field in enumerate(_custom_fields(raw))
    ]


def custom_fields_of(raw: dict) -> dict[str, str]:
    """``{Name: value}`` of the fields that hold a value (the JSON column reports filter
    on); an unnamed field is keyed by its DefinitionId."""
    out = {}
    for field in _custom_fields(raw):
        value = _custom_value(field)
        if value:
            out[_text(field, "Name", 255) or _text(field, "DefinitionId", 64)] = value
    return out


CUSTOM_FIELDS = Column("custom_fields", custom_fields_of)

BUDGET_DETAIL_COLUMNS = (
    "position",
    "budget_date",
    "amount",
    "account_qb_id",
    "customer_qb_id",
    "class_qb_id",
    "department_qb_id",
)


def budget_detail_rows(raw: dict) -> list[tuple]:
    rows = []
    for position, detail in enumerate(_list(raw, "BudgetDetail")):
        if not isinstance(detail, dict):
            raise MalformedRecord("BudgetDetail item is not an object")
        rows.append(
            (
                position,
                _date(detail, "BudgetDate"),
                _money(detail, "Amount"),
                _ref_value(detail, "AccountRef"),
                _ref_value(detail, "CustomerRef"),
                _ref_value(detail, "ClassRef"),
                _ref_value(detail, "DepartmentRef"),
            )
        )
    return rows
