"""One declaration per analytics view: package table <- QBO entity, rows, column expressions.

Decision: every view reads only ``raw_data`` (QBO's JSON as returned) and the columns every
synced model has (``realm_id``, ``qb_id``, ``sync_token``, ``updated_at``, ``deleted_at``),
never an entity model's typed columns, so a view works for any entity the registry gains.
A column the declaration does not map becomes a typed NULL (``build``), so each view has
exactly the package's columns in its order. Field names are QBO's (API-NOTES §4, §11 and
the Intuit entity reference); the package's flattening prefixes (``sales_item_*``,
``account_expense_*`` ...) name the detail object each value comes from.

Rows: ``rows=()`` is one row per record; ``rows=(("Line",),)`` one per element of Line[]
(``index`` = its 0-based position there, so unique per parent); a second path unnests an
array inside each element (GroupLineDetail.Line[]).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .columns import source_tables
from .families import (
    EXPENSE_LINE,
    LINE_BASE,
    LINE_ROWS,
    LINKED_ROWS,
    NAME_LIST,
    SALES_LINE,
    TAX_LINE,
    TAX_ROWS,
    TXN_HEADER,
    entity_ref,
    link_row,
    links_in_line,
    parent,
)
from .sql import HEADER as H
from .sql import INNER as G
from .sql import LINE as L
from .sql import boolean, date, number, ref, text, timestamp


@dataclass(frozen=True)
class ViewSpec:
    table: str  # the package's source table
    entity: str  # QBO entity name, as registry.ENTITIES keys it
    columns: Mapping[str, str] = field(default_factory=dict)  # column -> SQL expression
    rows: tuple[tuple[str, ...], ...] = ()
    where: str | None = None

    @property
    def kind(self) -> str:
        return (
            "header" if not self.rows else ("linked" if self.rows[0] == ("LinkedTxn",) else "line")
        )


class DeclarationError(ValueError):
    """A view declaration names a column the package's table does not have."""


def _checked(table: str, columns: Mapping[str, str]) -> Mapping[str, str]:
    """Per-view columns must exist in the package's table (a typo is an import error)."""
    known = set(source_tables()[table].column_names)
    unknown = sorted(set(columns) - known)
    if unknown:
        raise DeclarationError(f"{table}: no such package columns {unknown}")
    return columns


def header(table: str, entity: str, where: str | None = None, **columns: str) -> ViewSpec:
    merged = {**NAME_LIST, **TXN_HEADER, **_checked(table, columns)}
    return ViewSpec(table, entity, merged, where=where)


def lines(table: str, entity: str, family: dict, parent_column: str, **columns) -> ViewSpec:
    own = _checked(table, {**parent(parent_column), **columns})
    return ViewSpec(table, entity, {**family, **own}, LINE_ROWS)


def tax_lines(table: str, entity: str, parent_column: str) -> ViewSpec:
    return ViewSpec(table, entity, {**TAX_LINE, **_checked(table, parent(parent_column))}, TAX_ROWS)


def view(table: str, entity: str, columns: Mapping[str, str], rows=(), where=None) -> ViewSpec:
    return ViewSpec(table, entity, _checked(table, columns), rows, where)


_JE = L + " -> 'JournalEntryLineDetail'"
_JE_ENTITY = f"({_JE} -> 'Entity' ->> 'Type')"
_PURCHASE_ENTITY = f"({H} -> 'EntityRef' ->> 'type')"
_DEP = L + " -> 'DepositLineDetail'"


def _addr(entity: str, key: str) -> ViewSpec:
    a = f"{H} -> '{key}'"
    cols = {
        "id": text(a, "Id"),
        "city": text(a, "City"),
        "country": text(a, "Country"),
        "country_sub_division_code": text(a, "CountrySubDivisionCode"),
        "postal_code": text(a, "PostalCode"),
        "latitude": text(a, "Lat"),
        "longitude": text(a, "Long"),
        **{f"line_{i}": text(a, f"Line{i}") for i in range(1, 6)},
    }
    return view("address", entity, cols, where=f"{text(a, 'Id')} IS NOT NULL")


VIEWS: tuple[ViewSpec, ...] = (
    # --- name lists ----------------------------------------------------------------------
    header(
        "account",
        "Account",
        account_number=text(H, "AcctNum"),
        account_sub_type=text(H, "AccountSubType"),
        account_type=text(H, "AccountType"),  # QBO sends the display string
        classification=text(H, "Classification"),
        balance=number(H, "CurrentBalance"),
        balance_with_sub_accounts=number(H, "CurrentBalanceWithSubAccounts"),
        parent_account_id=ref(H, "ParentRef"),
        sub_account=boolean(H, "SubAccount"),
        tax_code_id=ref(H, "TaxCodeRef"),
    ),
    header(
        "customer",
        "Customer",
        alternate_phone_number=text(H, "AlternatePhone", "FreeFormNumber"),
        ar_account_id=ref(H, "ARAccountRef"),
        balance_with_jobs=number(H, "BalanceWithJobs"),
        bill_address_id=text(H, "BillAddr", "Id"),
        bill_with_parent=boolean(H, "BillWithParent"),
        customer_type_id=ref(H, "CustomerTypeRef"),
        default_tax_code_id=ref(H, "DefaultTaxCodeRef"),
        fax_number=text(H, "Fax", "FreeFormNumber"),
        job=boolean(H, "Job"),
        level=text(H, "Level"),
        mobile_number=text(H, "Mobile", "FreeFormNumber"),
        notes=text(H, "Notes"),
        open_balance_date=date(H, "OpenBalanceDate"),
        parent_customer_id=ref(H, "ParentRef"),
        phone_number=text(H, "PrimaryPhone", "FreeFormNumber"),
        preferred_delivery_method=text(H, "PreferredDeliveryMethod"),
        resale_number=text(H, "ResaleNum"),
        tax_exemption_reason_id=text(H, "TaxExemptionReasonId"),
        website=text(H, "WebAddr", "URI"),
    ),
    header(
        "vendor",
        "Vendor",
        account_number=text(H, "AcctNum"),
        alternate_phone=text(H, "AlternatePhone", "FreeFormNumber"),
        fax_number=text(H, "Fax", "FreeFormNumber"),
        mobile_phone=text(H, "Mobile", "FreeFormNumber"),
        primary_phone=text(H, "PrimaryPhone", "FreeFormNumber"),
        tax_identifier=text(H, "TaxIdentifier"),
        term_id=ref(H, "TermRef"),
        vendor_1099=boolean(H, "Vendor1099"),
        web_url=text(H, "WebAddr", "URI"),
    ),
    header(
        "item",
        "Item",
        asset_account_id=ref(H, "AssetAccountRef"),
        expense_account_id=ref(H, "ExpenseAccountRef"),
        income_account_id=ref(H, "IncomeAccountRef"),
        inventory_start_date=date(H, "InvStartDate"),
        level=text(H, "Level"),
        parent_item_id=ref(H, "ParentRef"),
        purchase_cost=number(H, "PurchaseCost"),
        purchase_description=text(H, "PurchaseDesc"),
        purchase_tax_code_id=ref(H, "PurchaseTaxCodeRef"),
        purchase_tax_included=boolean(H, "PurchaseTaxIncluded"),
        quantity_on_hand=number(H, "QtyOnHand"),
        sales_tax_code_id=ref(H, "SalesTaxCodeRef"),
        sales_tax_included=boolean(H, "SalesTaxIncluded"),
        stock_keeping_unit=text(H, "Sku"),
        sub_item=boolean(H, "SubItem"),
        track_quantity_on_hand=boolean(H, "TrackQtyOnHand"),
        type=text(H, "Type"),
        unit_price=number(H, "UnitPrice"),
    ),
    # A bundle is an Item of Type Group; its components are ItemGroupDetail.ItemGroupLine[].
    header(
        "bundle",
        "Item",
        where=f"{text(H, 'Type')} = 'Group'",
        print_grouped_items=boolean(H, "PrintGroupedItems"),
        purchase_cost=number(H, "PurchaseCost"),
        unit_price=number(H, "UnitPrice"),
    ),
    view(
        "bundle_item",
        "Item",
        {
            "bundle_id": "h.qb_id",
            "item_id": ref(L, "ItemRef"),
            "item_quantity": number(L, "Qty"),
        },
        (("ItemGroupDetail", "ItemGroupLine"),),
        where=f"{text(H, 'Type')} = 'Group'",
    ),
    header(
        "department",
        "Department",
        parent_department_id=ref(H, "ParentRef"),
        sub_department=boolean(H, "SubDepartment"),
    ),
    header("customer_type", "CustomerType"),
    header(
        "tax_rate",
        "TaxRate",
        display_type=text(H, "DisplayType"),
        effective_tax_rate=f"({H} -> 'EffectiveTaxRate')::text",  # an array: kept as JSON
        rate_value=number(H, "RateValue"),
        special_tax_type=text(H, "SpecialTaxType"),
        tax_agency_id=ref(H, "AgencyRef"),
    ),
    header(
        "tax_agency",
        "TaxAgency",
        tax_registration_number=text(H, "TaxRegistrationNumber"),
        tax_tracked_on_purchases=boolean(H, "TaxTrackedOnPurchases"),
        tax_tracked_on_sales=boolean(H, "TaxTrackedOnSales"),
    ),
    _addr("Customer", "BillAddr"),
    _addr("Customer", "ShipAddr"),
    _addr("Vendor", "BillAddr"),
    _addr("Invoice", "BillAddr"),
    _addr("Invoice", "ShipAddr"),
    # --- sales ---------------------------------------------------------------------------
    header(
        "invoice",
        "Invoice",
        allow_ipnpayment=boolean(H, "AllowIPNPayment"),
        allow_online_achpayment=boolean(H, "AllowOnlineACHPayment"),
        allow_online_credit_card_payment=boolean(H, "AllowOnlineCreditCardPayment"),
        allow_online_payment=boolean(H, "AllowOnlinePayment"),
        deposit=number(H, "Deposit"),
    ),
    lines("invoice_line", "Invoice", SALES_LINE, "invoice_id"),
    view(
        "invoice_linked_txn",
        "Invoice",
        {
            **parent("invoice_id"),
            **link_row(
                "payment_id estimate_id charge_credit_id reimburse_charge_id "
                "statement_charge_id time_activity_id"
            ),
        },
        LINKED_ROWS,
    ),
    view(
        "invoice_line_bundle",
        "Invoice",
        {
            "invoice_id": "h.qb_id",
            "invoice_line_index": "(l.ordinality - 1)::text",
            "amount": number(G, "Amount"),
            "description": text(G, "Description"),
            "line_num": text(G, "LineNum"),
            "account_id": ref(G, "SalesItemLineDetail", "ItemAccountRef"),
            "sales_item_account_id": ref(G, "SalesItemLineDetail", "ItemAccountRef"),
            "item_id": ref(G, "SalesItemLineDetail", "ItemRef"),
            "sales_item_item_id": ref(G, "SalesItemLineDetail", "ItemRef"),
            "class_id": ref(G, "SalesItemLineDetail", "ClassRef"),
            "quantity": number(G, "SalesItemLineDetail", "Qty"),
            "sales_item_quantity": number(G, "SalesItemLineDetail", "Qty"),
            "unit_price": number(G, "SalesItemLineDetail", "UnitPrice"),
            "discount_amount": number(G, "SalesItemLineDetail", "DiscountAmt"),
            "discount_rate": number(G, "SalesItemLineDetail", "DiscountRate"),
            "service_date": date(G, "SalesItemLineDetail", "ServiceDate"),
            "tax_code_id": ref(G, "SalesItemLineDetail", "TaxCodeRef"),
            "sales_item_tax_code_id": ref(G, "SalesItemLineDetail", "TaxCodeRef"),
        },
        (("Line",), ("GroupLineDetail", "Line")),
    ),
    tax_lines("invoice_tax_line", "Invoice", "invoice_id"),
    header("sales_receipt", "SalesReceipt"),
    lines("sales_receipt_line", "SalesReceipt", SALES_LINE, "sales_receipt_id"),
    tax_lines("sales_receipt_tax_line", "SalesReceipt", "sales_receipt_id"),
    header("credit_memo", "CreditMemo"),
    lines("credit_memo_line", "CreditMemo", SALES_LINE, "credit_memo_id"),
    tax_lines("credit_memo_tax_line_detail", "CreditMemo", "credit_memo_id"),
    header(
        "refund_receipt",
        "RefundReceipt",
        check_payment_account_number=text(H, "CheckPayment", "AcctNum"),
        check_payment_bank_name=text(H, "CheckPayment", "BankName"),
        check_payment_check_number=text(H, "CheckPayment", "CheckNum"),
        check_payment_name_on_account=text(H, "CheckPayment", "NameOnAcct"),
        check_payment_status=text(H, "CheckPayment", "Status"),
        payment_type=text(H, "PaymentType"),
    ),
    lines("refund_receipt_line", "RefundReceipt", SALES_LINE, "refund_id"),
    tax_lines("refund_receipt_tax_line", "RefundReceipt", "refund_receipt_id"),
    header(
        "estimate",
        "Estimate",
        accepted_by=text(H, "AcceptedBy"),
        accepted_date=timestamp(H, "AcceptedDate"),
        expiration_date=timestamp(H, "ExpirationDate"),
        ship_date=timestamp(H, "ShipDate"),
    ),
    lines("estimate_line", "Estimate", SALES_LINE, "estimate_id"),
    tax_lines("estimate_tax_line", "Estimate", "estimate_id"),
    header(
        "payment",
        "Payment",
        process_payment=boolean(H, "ProcessPayment"),
        reference_number=text(H, "PaymentRefNum"),
    ),
    lines(
        "payment_line",
        "Payment",
        LINE_BASE,
        "payment_id",
        **links_in_line(
            "invoice_id credit_memo_id journal_entry_id deposit_id check_id expense_id "
            "credit_card_charge_id credit_card_credit_id"
        ),
    ),
    header(
        "deposit",
        "Deposit",
        account_id=ref(H, "DepositToAccountRef"),
        cash_back_account_id=ref(H, "CashBack", "AccountRef"),
        cash_back_amount=number(H, "CashBack", "Amount"),
        cash_back_memo=text(H, "CashBack", "Memo"),
    ),
    lines(
        "deposit_line",
        "Deposit",
        LINE_BASE,
        "deposit_id",
        deposit_account_id=ref(_DEP, "AccountRef"),
        deposit_class_id=ref(_DEP, "ClassRef"),
        deposit_customer_id=entity_ref(
            f"({_DEP} -> 'Entity' ->> 'type')", ref(_DEP, "Entity"), "Customer"
        ),
        deposit_payment_method_id=ref(_DEP, "PaymentMethodRef"),
        deposit_check_number=text(_DEP, "CheckNum"),
        deposit_tax_code_id=ref(_DEP, "TaxCodeRef"),
        deposit_tax_applicable_on=text(_DEP, "TaxApplicableOn"),
        deposit_transaction_type=text(_DEP, "TxnType"),
        **links_in_line(
            "bill_id expense_id invoice_id journal_entry_id payment_id purchase_id "
            "refund_receipt_id sales_receipt_id transfer_id vendor_credit_id"
        ),
    ),
    tax_lines("deposit_tax_line_detail", "Deposit", "deposit_id"),
    # --- purchases -----------------------------------------------------------------------
    header("bill", "Bill"),
    lines("bill_line", "Bill", EXPENSE_LINE, "bill_id"),
    view(
        "bill_linked_txn",
        "Bill",
        {**parent("bill_id"), **link_row("bill_payment_id")},
        LINKED_ROWS,
    ),
    tax_lines("bill_tax_line_detail", "Bill", "bill_id"),
    header(
        "bill_payment",
        "BillPayment",
        check_bank_account_id=ref(H, "CheckPayment", "BankAccountRef"),
        check_print_status=text(H, "CheckPayment", "PrintStatus"),
        credit_card_account_id=ref(H, "CreditCardPayment", "CCAccountRef"),
        pay_type=text(H, "PayType"),
        process_bill_payment=boolean(H, "ProcessBillPayment"),
    ),
    lines(
        "bill_payment_line",
        "BillPayment",
        LINE_BASE,
        "bill_payment_id",
        **links_in_line(
            "bill_id bill_payment_credit_card_id check_id credit_card_charge_id "
            "credit_card_credit_id deposit_id expense_id journal_entry_id "
            "linked_bill_payment_id vendor_credit_id"
        ),
    ),
    header(
        "purchase",
        "Purchase",
        account_id=ref(H, "AccountRef"),
        credit=boolean(H, "Credit"),
        customer_id=entity_ref(_PURCHASE_ENTITY, ref(H, "EntityRef"), "Customer"),
        vendor_id=entity_ref(_PURCHASE_ENTITY, ref(H, "EntityRef"), "Vendor"),
        employee_id=entity_ref(_PURCHASE_ENTITY, ref(H, "EntityRef"), "Employee"),
        payment_type=text(H, "PaymentType"),
        remit_to_address_id=text(H, "RemitToAddr", "Id"),
    ),
    lines("purchase_line", "Purchase", EXPENSE_LINE, "purchase_id"),
    tax_lines("purchase_tax_line", "Purchase", "purchase_id"),
    header("vendor_credit", "VendorCredit"),
    lines("vendor_credit_line", "VendorCredit", EXPENSE_LINE, "vendor_credit_id"),
    header(
        "purchase_order",
        "PurchaseOrder",
        memo=text(H, "Memo"),
        status=text(H, "POStatus"),
        vendor_address_id=text(H, "VendorAddr", "Id"),
    ),
    lines("purchase_order_line", "PurchaseOrder", EXPENSE_LINE, "purchase_order_id"),
    view(
        "purchase_order_linked_txn",
        "PurchaseOrder",
        {**parent("purchase_order_id"), **link_row("bill_id purchase_id vendor_credit_id")},
        LINKED_ROWS,
    ),
    # --- ledger --------------------------------------------------------------------------
    header("journal_entry", "JournalEntry", adjustment=boolean(H, "Adjustment")),
    lines(
        "journal_entry_line",
        "JournalEntry",
        LINE_BASE,
        "journal_entry_id",
        posting_type=text(_JE, "PostingType"),
        account_id=ref(_JE, "AccountRef"),
        class_id=ref(_JE, "ClassRef"),
        department_id=ref(_JE, "DepartmentRef"),
        billable_status=text(_JE, "BillableStatus"),
        tax_code_id=ref(_JE, "TaxCodeRef"),
        tax_applicable_on=text(_JE, "TaxApplicableOn"),
        tax_amount=number(_JE, "TaxAmount"),
        customer_id=entity_ref(_JE_ENTITY, ref(_JE, "Entity", "EntityRef"), "Customer"),
        vendor_id=entity_ref(_JE_ENTITY, ref(_JE, "Entity", "EntityRef"), "Vendor"),
        employee_id=entity_ref(_JE_ENTITY, ref(_JE, "Entity", "EntityRef"), "Employee"),
    ),
    tax_lines("journal_entry_tax_line", "JournalEntry", "journal_entry_id"),
    header(
        "transfer",
        "Transfer",
        amount=number(H, "Amount"),
        from_account_id=ref(H, "FromAccountRef"),
        to_account_id=ref(H, "ToAccountRef"),
    ),
    header(
        "credit_card_payment_txn",
        "CreditCardPayment",
        amount=number(H, "Amount"),
        bank_account_id=ref(H, "BankAccountRef"),
        credit_card_account_id=ref(H, "CreditCardAccountRef"),
    ),
)


def views_by_table() -> dict[str, list[ViewSpec]]:
    """Package table -> its parts (several only for ``address``, a union)."""
    out: dict[str, list[ViewSpec]] = {}
    for spec in VIEWS:
        out.setdefault(spec.table, []).append(spec)
    return out
