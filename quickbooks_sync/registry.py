"""The one place that says which QBO entities we sync and how a payload maps to rows.

Decision: the sync engine, CDC, reconcile, ``verifysync``, ``syncstatus``, the admin and the
tests are generic; an entity is a declaration here, and nothing else names it. A
declaration says:

* ``kind``: a *name list* (Customer, Vendor, Item, Account) is never deleted by QBO, only
  made inactive, and QBO's default query hides inactive rows, so reads ask
  ``Active IN (true, false)``; a *transaction* is hard-deleted, and only CDC's ``Deleted``
  stubs or a reconcile tell us.
* ``columns``: the typed columns, declared by name with how each is read (``mapping``);
  the writer builds rows by these names, in this order.
* ``children``: line and linked-transaction tables, replaced together with the parent.
* ``cdc``: whether QBO's CDC serves the entity (else every cycle reconciles).
* ``voidable`` and ``admin`` hints (how accountants browse it).

Adding an entity is: a model, one ``EntitySpec`` below, and its sandbox generator
(``sandbox/catalog.py``); ``tests/test_registry.py`` fails until all three exist.
``QB_ENTITIES`` narrows what a cycle syncs (default: everything declared).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from quickbooks_sync import ledger_models as lm
from quickbooks_sync import mapping as m
from quickbooks_sync.mapping import (  # noqa: F401 - re-exported, the historical home
    MalformedRecord,
    customer_fields,
    invoice_fields,
    is_voided,
)
from quickbooks_sync.models import Customer, Invoice

NAME_LIST = "name list"
TRANSACTION = "transaction"


@dataclass(frozen=True)
class Child:
    """A child table: rows extracted from the parent's payload, replaced with the parent."""

    model: type[models.Model]
    rows: Callable[[dict], list[tuple]]  # tuples in ``columns`` order
    columns: tuple[str, ...]

    @property
    def related_name(self) -> str:
        return self.model._meta.get_field("parent").remote_field.related_name


def lines(model: type[models.Model]) -> Child:
    return Child(model, m.line_rows, m.LINE_COLUMNS)


def links(model: type[models.Model]) -> Child:
    return Child(model, m.link_rows, m.LINK_COLUMNS)


@dataclass(frozen=True)
class AdminHints:
    """How the admin lists the entity: the columns, filters and searches accountants use."""

    list_display: tuple[str, ...]
    search_fields: tuple[str, ...] = ()
    list_filter: tuple[str, ...] = ()
    date_hierarchy: str | None = None


@dataclass(frozen=True)
class EntitySpec:
    name: str  # QBO entity name, as in queries and JSON keys
    model: type[models.Model]
    to_fields: Callable[[dict], dict]
    kind: str = TRANSACTION
    columns: tuple[str, ...] = ()  # the keys of to_fields, in order (declared, not inferred)
    children: tuple[Child, ...] = ()
    cdc: bool = True  # QBO's CDC serves it (API-NOTES §3 lists the ones it refuses)
    voidable: bool = False  # QBO voids it: kept, amounts zeroed, flagged ``voided``
    admin: AdminHints | None = None

    @property
    def has_active(self) -> bool:
        """Name list: QBO hides ``Active=false`` rows unless the query asks for them."""
        return self.kind == NAME_LIST

    @property
    def hard_deleted(self) -> bool:
        """Transactions vanish from queries when deleted."""
        return self.kind == TRANSACTION


def declare(
    name: str,
    model: type[models.Model],
    columns: tuple[m.Column, ...],
    *,
    kind: str = TRANSACTION,
    children: tuple[Child, ...] = (),
    voidable: bool = False,
    admin: AdminHints | None = None,
) -> EntitySpec:
    """An entity whose ``to_fields`` is its declared columns."""
    return EntitySpec(
        name,
        model,
        m.fields_of(columns),
        kind=kind,
        columns=tuple(c.name for c in columns),
        children=children,
        voidable=voidable,
        admin=admin,
    )


def _txn(*columns: m.Column) -> tuple[m.Column, ...]:
    """The columns every transaction has, then its own."""
    return (
        m.text("doc_number", "DocNumber", 64),
        m.day("txn_date", "TxnDate"),
        m.money("total_amt", "TotalAmt"),
        m.money("home_total_amt", "HomeTotalAmt"),
        *m.currency(),
        m.text("private_note", "PrivateNote", 4000),
        *columns,
    )


def _txn_admin(counterparty: str | None, *extra: str, filters: tuple[str, ...] = ()):
    shown = ("__str__", "txn_date", counterparty, "total_amt", *extra, "currency")
    return AdminHints(
        list_display=tuple(c for c in shown if c),
        search_fields=tuple(c for c in ("qb_id", "doc_number", counterparty) if c),
        list_filter=filters,
        date_hierarchy="txn_date",
    )


_DEPT = m.ref("department_qb_id", "DepartmentRef")

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec(
            "Customer",
            Customer,
            customer_fields,
            kind=NAME_LIST,
            columns=("display_name", "email", "balance", "currency", "active"),
        ),
        EntitySpec(
            "Invoice",
            Invoice,
            invoice_fields,
            columns=(
                "doc_number",
                "customer_qb_id",
                "txn_date",
                "due_date",
                "total_amt",
                "balance",
                "currency",
                "voided",
            ),
            children=(lines(lm.InvoiceLine), links(lm.InvoiceLinkedTxn)),
            voidable=True,
        ),
        declare(
            "Account",
            lm.Account,
            (
                m.text("name", "Name"),
                m.text("fully_qualified_name", "FullyQualifiedName", 1000),
                m.text("acct_num", "AcctNum", 32),
                m.text("classification", "Classification", 32),
                m.text("account_type", "AccountType", 64),
                m.text("account_sub_type", "AccountSubType", 64),
                m.flag("sub_account", "SubAccount", False),
                m.ref("parent_qb_id", "ParentRef"),
                m.money("current_balance", "CurrentBalance"),
                m.ref("currency", "CurrencyRef"),
                m.flag("active", "Active", True),
            ),
            kind=NAME_LIST,
            admin=AdminHints(
                ("__str__", "acct_num", "account_type", "classification", "current_balance"),
                ("qb_id", "name", "fully_qualified_name", "acct_num"),
                ("classification", "account_type", "active"),
            ),
        ),
        declare(
            "Item",
            lm.Item,
            (
                m.text("name", "Name"),
                m.text("fully_qualified_name", "FullyQualifiedName", 1000),
                m.text("sku", "Sku", 100),
                m.text("item_type", "Type", 32),
                m.ref("income_account_qb_id", "IncomeAccountRef"),
                m.ref("expense_account_qb_id", "ExpenseAccountRef"),
                m.ref("asset_account_qb_id", "AssetAccountRef"),
                m.rate("unit_price", "UnitPrice"),
                m.rate("purchase_cost", "PurchaseCost"),
                m.rate("qty_on_hand", "QtyOnHand"),
                m.flag("active", "Active", True),
            ),
            kind=NAME_LIST,
            admin=AdminHints(
                ("__str__", "item_type", "sku", "unit_price", "qty_on_hand"),
                ("qb_id", "name", "sku"),
                ("item_type", "active"),
            ),
        ),
        declare(
            "Vendor",
            lm.Vendor,
            (
                m.text("display_name", "DisplayName", 500),
                m.text("company_name", "CompanyName", 500),
                m.email("email", "PrimaryEmailAddr"),
                m.money("balance", "Balance"),
                m.ref("currency", "CurrencyRef"),
                m.flag("vendor_1099", "Vendor1099", False),
                m.flag("active", "Active", True),
            ),
            kind=NAME_LIST,
            admin=AdminHints(
                ("__str__", "email", "balance", "currency"),
                ("qb_id", "display_name", "company_name", "email"),
                ("active", "currency"),
            ),
        ),
        declare(
            "Payment",
            lm.Payment,
            _txn(
                m.ref("customer_qb_id", "CustomerRef"),
                m.ref("ar_account_qb_id", "ARAccountRef"),
                m.ref("deposit_to_account_qb_id", "DepositToAccountRef"),
                m.ref("payment_method_qb_id", "PaymentMethodRef"),
                m.text("payment_ref_num", "PaymentRefNum", 64),
                m.money("unapplied_amt", "UnappliedAmt"),
                m.VOIDED,
            ),
            children=(lines(lm.PaymentLine), links(lm.PaymentLinkedTxn)),
            voidable=True,
            admin=_txn_admin("customer_qb_id", "unapplied_amt", filters=("voided",)),
        ),
        declare(
            "Bill",
            lm.Bill,
            _txn(
                m.ref("vendor_qb_id", "VendorRef"),
                m.ref("ap_account_qb_id", "APAccountRef"),
                _DEPT,
                m.day("due_date", "DueDate"),
                m.money("balance", "Balance"),
            ),
            children=(lines(lm.BillLine), links(lm.BillLinkedTxn)),
            admin=_txn_admin("vendor_qb_id", "balance", "due_date"),
        ),
        declare(
            "BillPayment",
            lm.BillPayment,
            _txn(
                m.ref("vendor_qb_id", "VendorRef"),
                m.ref("ap_account_qb_id", "APAccountRef"),
                m.text("pay_type", "PayType", 16),
                m.nested_ref("bank_account_qb_id", "CheckPayment", "BankAccountRef"),
                m.nested_ref("cc_account_qb_id", "CreditCardPayment", "CCAccountRef"),
                m.VOIDED,
            ),
            children=(lines(lm.BillPaymentLine), links(lm.BillPaymentLinkedTxn)),
            voidable=True,
            admin=_txn_admin("vendor_qb_id", "pay_type", filters=("pay_type", "voided")),
        ),
        declare(
            "JournalEntry",
            lm.JournalEntry,
            _txn(m.flag("adjustment", "Adjustment", False)),
            children=(lines(lm.JournalEntryLine),),
            admin=_txn_admin(None, "adjustment", filters=("adjustment",)),
        ),
        declare(
            "Purchase",
            lm.Purchase,
            _txn(
                m.text("payment_type", "PaymentType", 16),
                m.ref("account_qb_id", "AccountRef"),
                m.Column(
                    "entity_type", lambda raw: m._text(m._object(raw, "EntityRef"), "type", 32)
                ),
                m.ref("entity_qb_id", "EntityRef"),
                _DEPT,
                m.flag("credit", "Credit", False),
            ),
            children=(lines(lm.PurchaseLine), links(lm.PurchaseLinkedTxn)),
            admin=_txn_admin("entity_qb_id", "payment_type", filters=("payment_type",)),
        ),
        declare(
            "Deposit",
            lm.Deposit,
            _txn(m.ref("deposit_to_account_qb_id", "DepositToAccountRef"), _DEPT),
            children=(lines(lm.DepositLine), links(lm.DepositLinkedTxn)),
            admin=_txn_admin("deposit_to_account_qb_id"),
        ),
        declare(
            "SalesReceipt",
            lm.SalesReceipt,
            _txn(
                m.ref("customer_qb_id", "CustomerRef"),
                m.ref("deposit_to_account_qb_id", "DepositToAccountRef"),
                m.ref("payment_method_qb_id", "PaymentMethodRef"),
                _DEPT,
                m.money("balance", "Balance"),
                m.VOIDED,
            ),
            children=(lines(lm.SalesReceiptLine), links(lm.SalesReceiptLinkedTxn)),
            voidable=True,
            admin=_txn_admin("customer_qb_id", filters=("voided",)),
        ),
        declare(
            "CreditMemo",
            lm.CreditMemo,
            _txn(
                m.ref("customer_qb_id", "CustomerRef"),
                _DEPT,
                m.money("balance", "Balance"),
                m.money("remaining_credit", "RemainingCredit"),
            ),
            children=(lines(lm.CreditMemoLine), links(lm.CreditMemoLinkedTxn)),
            admin=_txn_admin("customer_qb_id", "remaining_credit"),
        ),
        declare(
            "RefundReceipt",
            lm.RefundReceipt,
            _txn(
                m.ref("customer_qb_id", "CustomerRef"),
                m.ref("deposit_to_account_qb_id", "DepositToAccountRef"),
                m.ref("payment_method_qb_id", "PaymentMethodRef"),
                _DEPT,
                m.money("balance", "Balance"),
            ),
            children=(lines(lm.RefundReceiptLine), links(lm.RefundReceiptLinkedTxn)),
            admin=_txn_admin("customer_qb_id"),
        ),
        declare(
            "VendorCredit",
            lm.VendorCredit,
            _txn(
                m.ref("vendor_qb_id", "VendorRef"),
                m.ref("ap_account_qb_id", "APAccountRef"),
                _DEPT,
                m.money("balance", "Balance"),
            ),
            children=(lines(lm.VendorCreditLine), links(lm.VendorCreditLinkedTxn)),
            admin=_txn_admin("vendor_qb_id", "balance"),
        ),
        declare(
            "Transfer",
            lm.Transfer,
            (
                m.text("doc_number", "DocNumber", 64),
                m.day("txn_date", "TxnDate"),
                m.money("total_amt", "Amount"),
                m.money("home_total_amt", "HomeTotalAmt"),
                *m.currency(),
                m.text("private_note", "PrivateNote", 4000),
                m.ref("from_account_qb_id", "FromAccountRef"),
                m.ref("to_account_qb_id", "ToAccountRef"),
            ),
            admin=_txn_admin("from_account_qb_id", "to_account_qb_id"),
        ),
    )
}


def get_entity(name: str) -> EntitySpec:
    """Look an entity up by QBO name, case-insensitively, with a helpful error."""
    for key, spec in ENTITIES.items():
        if key.lower() == name.lower():
            return spec
    raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITIES)}")


def selected_entities() -> list[EntitySpec]:
    """The entities a cycle syncs: ``QB_ENTITIES`` (names, any case), else all declared.

    Raises ``ImproperlyConfigured`` naming the setting, the unknown names and the known ones.
    """
    names = getattr(settings, "QB_ENTITIES", ()) or ()
    if not names:
        return list(ENTITIES.values())
    known = {name.lower(): spec for name, spec in ENTITIES.items()}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        raise ImproperlyConfigured(
            f"QB_ENTITIES={','.join(names)!r} is invalid: unknown entity "
            f"{', '.join(unknown)}; expected a comma-separated list of "
            f"{', '.join(ENTITIES)} (or unset for all)."
        )
    wanted = {n.lower() for n in names}
    return [spec for spec in ENTITIES.values() if spec.name.lower() in wanted]
