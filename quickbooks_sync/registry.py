"""The one place that says which QBO entities we sync and how a payload maps to rows.

Decision: the sync engine, CDC, reconcile, ``verifysync``, ``syncstatus``, the admin and the
tests are generic; an entity is a declaration here, and nothing else names it. A
declaration says:

* ``kind``: a *name list* (Customer, Vendor, Item, Account, Class, TaxRate …) is never
  deleted by QBO, only made inactive, and QBO's default query hides inactive rows, so
  reads ask ``Active IN (true, false)``; a *reference list* (TaxAgency) has no ``Active``
  and is neither deactivated nor deleted through the API; a *transaction* is
  hard-deleted, and only CDC's ``Deleted`` stubs or a reconcile tell us; a *company fact*
  (CompanyInfo, Preferences, ExchangeRate) is read whole, one request each, every cycle
  (``sync.company``).
* ``columns``: the typed columns, declared by name with how each is read (``mapping``);
  the writer builds rows by these names, in this order.
* ``children``: line and linked-transaction tables, replaced together with the parent.
* ``cdc``: whether QBO's CDC serves the entity. Those it refuses (API-NOTES §3/§11:
  JournalCode, TaxAgency, TaxCode, TaxRate, TimeActivity) are reconciled on their own
  schedule instead, every ``QB_RECONCILE_NO_CDC_HOURS`` (``sync.runner``).
* ``key``: how a record's Id is read, for the one entity QBO gives no Id (ExchangeRate).
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

from quickbooks_sync import detail_models as dm
from quickbooks_sync import ledger_models as lm
from quickbooks_sync import list_models as nl
from quickbooks_sync import mapping as m
from quickbooks_sync.mapping import (  # noqa: F401 - re-exported, the historical home
    MalformedRecord,
    customer_fields,
    invoice_fields,
    is_voided,
)
from quickbooks_sync.models import Customer, Invoice

NAME_LIST = "name list"
REFERENCE = "reference list"
TRANSACTION = "transaction"
COMPANY = "company fact"


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


def tax_lines(model: type[models.Model]) -> Child:
    return Child(model, m.tax_line_rows, m.TAX_LINE_COLUMNS)


def custom_fields(model: type[models.Model]) -> Child:
    return Child(model, m.custom_field_rows, m.CUSTOM_FIELD_COLUMNS)


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
    key: Callable[[dict], object] | None = None  # the record's Id; default ``raw["Id"]``

    def record_id(self, raw: dict) -> object:
        return self.key(raw) if self.key is not None else raw.get("Id")

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
    cdc: bool = True,
    key: Callable[[dict], object] | None = None,
) -> EntitySpec:
    """An entity whose ``to_fields`` is its declared columns."""
    return EntitySpec(
        name,
        model,
        m.fields_of(columns),
        kind=kind,
        columns=tuple(c.name for c in columns),
        children=children,
        cdc=cdc,
        voidable=voidable,
        admin=admin,
        key=key,
    )


def _txn(*columns: m.Column, total: str = "TotalAmt") -> tuple[m.Column, ...]:
    """The columns every transaction has, then its own. ``total``: the JSON key of its
    amount (``Amount`` on Transfer and CreditCardPayment)."""
    return (
        m.text("doc_number", "DocNumber", 64),
        m.day("txn_date", "TxnDate"),
        m.money("total_amt", total),
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


def _named_list(name: str, model, *columns: m.Column, **kwargs) -> EntitySpec:
    """A name list labelled by ``Name``: the name, its own columns, then ``Active``."""
    return declare(
        name,
        model,
        (m.text("name", "Name"), *columns, m.flag("active", "Active", True)),
        kind=NAME_LIST,
        admin=AdminHints(
            ("__str__", *(c.name for c in columns[:3])), ("qb_id", "name"), ("active",)
        ),
        **kwargs,
    )


def _exchange_rate_key(raw: dict) -> str | None:
    """QBO's ExchangeRate has no Id: it is one rate per source currency and date."""
    source, day = raw.get("SourceCurrencyCode"), raw.get("AsOfDate")
    if not isinstance(source, str) or not isinstance(day, str):
        return None
    return f"{source}:{day}"


# Dimensions, terms, people, tax and budgets; estimates, orders, card payments, time;
# company facts. CDC support per API-NOTES §3 ("Not supported: JournalCode, TaxAgency,
# TimeActivity, TaxCode, TaxRate"; Intuit's ChangeDataCapture page, business rules).
MORE: tuple[EntitySpec, ...] = (
    _named_list(
        "Class",
        nl.QBClass,
        m.text("fully_qualified_name", "FullyQualifiedName", 1000),
        m.flag("sub_class", "SubClass", False),
        m.ref("parent_qb_id", "ParentRef"),
    ),
    _named_list(
        "Department",
        nl.Department,
        m.text("fully_qualified_name", "FullyQualifiedName", 1000),
        m.flag("sub_department", "SubDepartment", False),
        m.ref("parent_qb_id", "ParentRef"),
    ),
    _named_list(
        "Term",
        nl.Term,
        m.text("term_type", "Type", 16),
        m.whole("due_days", "DueDays"),
        m.whole("discount_days", "DiscountDays"),
        m.rate("discount_percent", "DiscountPercent"),
        m.whole("day_of_month_due", "DayOfMonthDue"),
    ),
    _named_list("PaymentMethod", nl.PaymentMethod, m.text("method_type", "Type", 32)),
    declare(
        "Employee",
        nl.Employee,
        (
            m.text("display_name", "DisplayName", 500),
            m.text("given_name", "GivenName", 100),
            m.text("family_name", "FamilyName", 100),
            m.email("email", "PrimaryEmailAddr"),
            m.text("employee_number", "EmployeeNumber", 100),
            m.day("hired_date", "HiredDate"),
            m.day("released_date", "ReleasedDate"),
            m.flag("billable_time", "BillableTime", False),
            m.rate("bill_rate", "BillRate"),
            m.flag("active", "Active", True),
        ),
        kind=NAME_LIST,
        admin=AdminHints(
            ("__str__", "email", "employee_number", "hired_date"),
            ("qb_id", "display_name", "email"),
            ("active",),
        ),
    ),
    _named_list("CustomerType", nl.CustomerType),
    _named_list(
        "TaxCode",
        nl.TaxCode,
        m.text("description", "Description"),
        m.maybe_flag("taxable", "Taxable"),
        m.maybe_flag("tax_group", "TaxGroup"),
        m.rate_refs("sales_tax_rate_qb_ids", "SalesTaxRateList"),
        m.rate_refs("purchase_tax_rate_qb_ids", "PurchaseTaxRateList"),
        cdc=False,
    ),
    _named_list(
        "TaxRate",
        nl.TaxRate,
        m.rate("rate_value", "RateValue"),
        m.ref("agency_qb_id", "AgencyRef"),
        m.text("description", "Description"),
        m.text("special_tax_type", "SpecialTaxType", 32),
        m.text("display_type", "DisplayType", 32),
        cdc=False,
    ),
    declare(
        "TaxAgency",
        nl.TaxAgency,
        (
            m.text("display_name", "DisplayName", 500),
            m.text("tax_registration_number", "TaxRegistrationNumber", 64),
            m.maybe_flag("tax_tracked_on_sales", "TaxTrackedOnSales"),
            m.maybe_flag("tax_tracked_on_purchases", "TaxTrackedOnPurchases"),
        ),
        kind=REFERENCE,
        cdc=False,
        admin=AdminHints(("__str__", "tax_registration_number"), ("qb_id", "display_name")),
    ),
    _named_list(
        "Budget",
        nl.Budget,
        m.day("start_date", "StartDate"),
        m.day("end_date", "EndDate"),
        m.text("budget_type", "BudgetType", 32),
        m.text("budget_entry_type", "BudgetEntryType", 32),
        children=(Child(nl.BudgetDetail, m.budget_detail_rows, m.BUDGET_DETAIL_COLUMNS),),
    ),
    declare(
        "Estimate",
        dm.Estimate,
        _txn(
            m.ref("customer_qb_id", "CustomerRef"),
            _DEPT,
            m.ref("class_qb_id", "ClassRef"),
            m.ref("sales_term_qb_id", "SalesTermRef"),
            m.text("txn_status", "TxnStatus", 16),
            m.day("expiration_date", "ExpirationDate"),
            m.text("accepted_by", "AcceptedBy"),
            m.day("accepted_date", "AcceptedDate"),
            m.CUSTOM_FIELDS,
        ),
        children=(
            lines(dm.EstimateLine),
            links(dm.EstimateLinkedTxn),
            tax_lines(dm.EstimateTaxLine),
            custom_fields(dm.EstimateCustomField),
        ),
        admin=_txn_admin("customer_qb_id", "txn_status", filters=("txn_status",)),
    ),
    declare(
        "PurchaseOrder",
        dm.PurchaseOrder,
        _txn(
            m.ref("vendor_qb_id", "VendorRef"),
            m.ref("ap_account_qb_id", "APAccountRef"),
            _DEPT,
            m.ref("class_qb_id", "ClassRef"),
            m.text("po_status", "POStatus", 16),
            m.day("due_date", "DueDate"),
            m.CUSTOM_FIELDS,
        ),
        children=(
            lines(dm.PurchaseOrderLine),
            links(dm.PurchaseOrderLinkedTxn),
            tax_lines(dm.PurchaseOrderTaxLine),
            custom_fields(dm.PurchaseOrderCustomField),
        ),
        admin=_txn_admin("vendor_qb_id", "po_status", filters=("po_status",)),
    ),
    declare(
        "CreditCardPayment",
        dm.CreditCardPayment,
        _txn(
            m.ref("credit_card_account_qb_id", "CreditCardAccountRef"),
            m.ref("bank_account_qb_id", "BankAccountRef"),
            m.ref("vendor_qb_id", "VendorRef"),
            total="Amount",
        ),
        admin=_txn_admin("credit_card_account_qb_id", "bank_account_qb_id"),
    ),
    declare(
        "TimeActivity",
        dm.TimeActivity,
        (
            m.day("txn_date", "TxnDate"),
            m.text("name_of", "NameOf", 16),
            m.ref("employee_qb_id", "EmployeeRef"),
            m.ref("vendor_qb_id", "VendorRef"),
            m.ref("customer_qb_id", "CustomerRef"),
            m.ref("item_qb_id", "ItemRef"),
            m.ref("class_qb_id", "ClassRef"),
            _DEPT,
            m.text("billable_status", "BillableStatus", 32),
            m.flag("taxable", "Taxable", False),
            m.rate("hourly_rate", "HourlyRate"),
            m.whole("hours", "Hours"),
            m.whole("minutes", "Minutes"),
            m.text("description", "Description", 4000),
        ),
        cdc=False,
        admin=AdminHints(
            ("__str__", "txn_date", "employee_qb_id", "customer_qb_id", "hours"),
            ("qb_id", "employee_qb_id", "customer_qb_id"),
            ("billable_status",),
            "txn_date",
        ),
    ),
    declare(
        "CompanyInfo",
        nl.CompanyInfo,
        (
            m.text("company_name", "CompanyName"),
            m.text("legal_name", "LegalName"),
            m.text("country", "Country", 8),
            m.email("email", "Email"),
            m.day("company_start_date", "CompanyStartDate"),
            m.text("fiscal_year_start_month", "FiscalYearStartMonth", 16),
        ),
        kind=COMPANY,
        cdc=False,
        admin=AdminHints(("__str__", "realm_id", "country", "fiscal_year_start_month")),
    ),
    declare(
        "Preferences",
        nl.Preferences,
        (
            m.nested_ref("home_currency", "CurrencyPrefs", "HomeCurrency"),
            m.nested_flag("multi_currency_enabled", "CurrencyPrefs", "MultiCurrencyEnabled"),
            m.nested_text(
                "fiscal_year_start_month", "AccountingInfoPrefs", "FirstMonthOfFiscalYear", 16
            ),
            m.nested_text("accounting_method", "ReportPrefs", "ReportBasis", 16),
            m.nested_flag("track_departments", "AccountingInfoPrefs", "TrackDepartments"),
            m.nested_flag(
                "class_tracking_per_txn_line", "AccountingInfoPrefs", "ClassTrackingPerTxnLine"
            ),
            m.nested_flag("using_sales_tax", "TaxPrefs", "UsingSalesTax"),
            m.nested_day("book_close_date", "AccountingInfoPrefs", "BookCloseDate"),
        ),
        kind=COMPANY,
        cdc=False,
        admin=AdminHints(
            ("__str__", "home_currency", "multi_currency_enabled", "accounting_method")
        ),
    ),
    declare(
        "ExchangeRate",
        nl.ExchangeRate,
        (
            m.text("source_currency", "SourceCurrencyCode", 3),
            m.text("target_currency", "TargetCurrencyCode", 3),
            m.day("as_of_date", "AsOfDate"),
            m.rate("rate", "Rate"),
        ),
        kind=COMPANY,
        cdc=False,
        key=_exchange_rate_key,
        admin=AdminHints(
            ("__str__", "source_currency", "as_of_date", "rate"),
            ("source_currency",),
            ("source_currency",),
            "as_of_date",
        ),
    ),
)

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
                "exchange_rate",
                "home_total_amt",
                "home_balance",
                "custom_fields",
                "voided",
            ),
            children=(
                lines(lm.InvoiceLine),
                links(lm.InvoiceLinkedTxn),
                tax_lines(dm.InvoiceTaxLine),
                custom_fields(dm.InvoiceCustomField),
            ),
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
            children=(lines(lm.BillLine), links(lm.BillLinkedTxn), tax_lines(dm.BillTaxLine)),
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
            children=(lines(lm.JournalEntryLine), tax_lines(dm.JournalEntryTaxLine)),
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
            children=(
                lines(lm.PurchaseLine),
                links(lm.PurchaseLinkedTxn),
                tax_lines(dm.PurchaseTaxLine),
            ),
            admin=_txn_admin("entity_qb_id", "payment_type", filters=("payment_type",)),
        ),
        declare(
            "Deposit",
            lm.Deposit,
            _txn(m.ref("deposit_to_account_qb_id", "DepositToAccountRef"), _DEPT),
            children=(
                lines(lm.DepositLine),
                links(lm.DepositLinkedTxn),
                tax_lines(dm.DepositTaxLine),
            ),
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
                m.CUSTOM_FIELDS,
            ),
            children=(
                lines(lm.SalesReceiptLine),
                links(lm.SalesReceiptLinkedTxn),
                tax_lines(dm.SalesReceiptTaxLine),
                custom_fields(dm.SalesReceiptCustomField),
            ),
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
                m.CUSTOM_FIELDS,
            ),
            children=(
                lines(lm.CreditMemoLine),
                links(lm.CreditMemoLinkedTxn),
                tax_lines(dm.CreditMemoTaxLine),
                custom_fields(dm.CreditMemoCustomField),
            ),
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
                m.CUSTOM_FIELDS,
            ),
            children=(
                lines(lm.RefundReceiptLine),
                links(lm.RefundReceiptLinkedTxn),
                tax_lines(dm.RefundReceiptTaxLine),
                custom_fields(dm.RefundReceiptCustomField),
            ),
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
            children=(
                lines(lm.VendorCreditLine),
                links(lm.VendorCreditLinkedTxn),
                tax_lines(dm.VendorCreditTaxLine),
            ),
            admin=_txn_admin("vendor_qb_id", "balance"),
        ),
        declare(
            "Transfer",
            lm.Transfer,
            _txn(
                m.ref("from_account_qb_id", "FromAccountRef"),
                m.ref("to_account_qb_id", "ToAccountRef"),
                total="Amount",
            ),
            admin=_txn_admin("from_account_qb_id", "to_account_qb_id"),
        ),
        *MORE,
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
