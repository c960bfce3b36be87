"""Column families shared by many views: the QBO field behind each package column.

Why shared: a column such as ``doc_number`` or ``sales_item_item_id`` means the same QBO
field in every table that has it, so it is written once; a view takes the keys its table
has (``build`` ignores the rest) and overrides what differs.
"""

from __future__ import annotations

from .sql import HEADER as H
from .sql import LINE as L
from .sql import boolean, date, linked, number, ref, text, timestamp

# Transaction header fields whose meaning is the same wherever the package has the column.
TXN_HEADER = {
    "doc_number": text(H, "DocNumber"),
    "transaction_date": date(H, "TxnDate"),
    "due_date": date(H, "DueDate"),
    "currency_id": ref(H, "CurrencyRef"),
    "exchange_rate": number(H, "ExchangeRate"),
    "private_note": text(H, "PrivateNote"),
    "total_amount": number(H, "TotalAmt"),
    "balance": number(H, "Balance"),
    "home_balance": number(H, "HomeBalance"),
    "home_total_amount": number(H, "HomeTotalAmt"),
    "department_id": ref(H, "DepartmentRef"),
    "class_id": ref(H, "ClassRef"),
    "customer_id": ref(H, "CustomerRef"),
    "vendor_id": ref(H, "VendorRef"),
    "sales_term_id": ref(H, "SalesTermRef"),
    "payment_method_id": ref(H, "PaymentMethodRef"),
    "deposit_to_account_id": ref(H, "DepositToAccountRef"),
    "payable_account_id": ref(H, "APAccountRef"),
    "receivable_account_id": ref(H, "ARAccountRef"),
    "global_tax_calculation": text(H, "GlobalTaxCalculation"),
    "total_tax": number(H, "TxnTaxDetail", "TotalTax"),
    "tax_code_id": ref(H, "TxnTaxDetail", "TxnTaxCodeRef"),
    "transaction_source": text(H, "TransactionSource"),
    "transaction_status": text(H, "TxnStatus"),
    "print_status": text(H, "PrintStatus"),
    "email_status": text(H, "EmailStatus"),
    "customer_memo": text(H, "CustomerMemo", "value"),
    "apply_tax_after_discount": boolean(H, "ApplyTaxAfterDiscount"),
    "billing_address_id": text(H, "BillAddr", "Id"),
    "shipping_address_id": text(H, "ShipAddr", "Id"),
    "bill_email": text(H, "BillEmail", "Address"),
    "billing_email": text(H, "BillEmail", "Address"),
    "billing_cc_email": text(H, "BillEmailCc", "Address"),
    "billing_bcc_email": text(H, "BillEmailBcc", "Address"),
    "ship_date": date(H, "ShipDate"),
    "tracking_number": text(H, "TrackingNum"),
    "delivery_type": text(H, "DeliveryInfo", "DeliveryType"),
    "delivery_time": timestamp(H, "DeliveryInfo", "DeliveryTime"),
    "payment_reference_number": text(H, "PaymentRefNum"),
    "remaining_credit": number(H, "RemainingCredit"),
    "unapplied_amount": number(H, "UnappliedAmt"),
}
# Name-list fields.
NAME_LIST = {
    "active": boolean(H, "Active"),
    "name": text(H, "Name"),
    "display_name": text(H, "DisplayName"),
    "fully_qualified_name": text(H, "FullyQualifiedName"),
    "company_name": text(H, "CompanyName"),
    "given_name": text(H, "GivenName"),
    "middle_name": text(H, "MiddleName"),
    "family_name": text(H, "FamilyName"),
    "suffix": text(H, "Suffix"),
    "title": text(H, "Title"),
    "print_on_check_name": text(H, "PrintOnCheckName"),
    "email": text(H, "PrimaryEmailAddr", "Address"),
    "currency_id": ref(H, "CurrencyRef"),
    "balance": number(H, "Balance"),
    "description": text(H, "Description"),
    "taxable": boolean(H, "Taxable"),
    "sync_token": "h.sync_token",
}

# Every line: position, amount, description, detail type.
LINE_BASE = {
    "amount": number(L, "Amount"),
    "description": text(L, "Description"),
    "detail_type": text(L, "DetailType"),
}
# Sales lines (Invoice, SalesReceipt, CreditMemo, RefundReceipt, Estimate).
SALES_LINE = {
    **LINE_BASE,
    "sales_item_item_id": ref(L, "SalesItemLineDetail", "ItemRef"),
    "sales_item_account_id": ref(L, "SalesItemLineDetail", "ItemAccountRef"),
    "sales_item_class_id": ref(L, "SalesItemLineDetail", "ClassRef"),
    "sales_item_quantity": number(L, "SalesItemLineDetail", "Qty"),
    "sales_item_unit_price": number(L, "SalesItemLineDetail", "UnitPrice"),
    "sales_item_discount_amount": number(L, "SalesItemLineDetail", "DiscountAmt"),
    "sales_item_discount_rate": number(L, "SalesItemLineDetail", "DiscountRate"),
    "sales_item_service_date": date(L, "SalesItemLineDetail", "ServiceDate"),
    "sales_item_tax_code_id": ref(L, "SalesItemLineDetail", "TaxCodeRef"),
    "discount_account_id": ref(L, "DiscountLineDetail", "DiscountAccountRef"),
    "discount_class_id": ref(L, "DiscountLineDetail", "ClassRef"),
    "discount_discount_percent": number(L, "DiscountLineDetail", "DiscountPercent"),
    "discount_percent_based": boolean(L, "DiscountLineDetail", "PercentBased"),
    "discount_tax_code_id": ref(L, "DiscountLineDetail", "TaxCodeRef"),
    "description_service_date": date(L, "DescriptionLineDetail", "ServiceDate"),
    "description_tax_code_id": ref(L, "DescriptionLineDetail", "TaxCodeRef"),
    "bundle_id": ref(L, "GroupLineDetail", "GroupItemRef"),
    "bundle_quantity": number(L, "GroupLineDetail", "Quantity"),
    "sub_total_item_id": ref(L, "SubTotalLineDetail", "ItemRef"),
}
# Expense lines (Bill, Purchase, VendorCredit, PurchaseOrder).
_ACC = L + " -> 'AccountBasedExpenseLineDetail'"
_ITEM = L + " -> 'ItemBasedExpenseLineDetail'"
EXPENSE_LINE = {
    **LINE_BASE,
    "account_expense_account_id": ref(_ACC, "AccountRef"),
    "account_expense_billable_status": text(_ACC, "BillableStatus"),
    "account_expense_class_id": ref(_ACC, "ClassRef"),
    "account_expense_customer_id": ref(_ACC, "CustomerRef"),
    "account_expense_tax_amount": number(_ACC, "TaxAmount"),
    "account_expense_tax_code_id": ref(_ACC, "TaxCodeRef"),
    "item_expense_item_id": ref(_ITEM, "ItemRef"),
    "item_expense_billable_status": text(_ITEM, "BillableStatus"),
    "item_expense_class_id": ref(_ITEM, "ClassRef"),
    "item_expense_customer_id": ref(_ITEM, "CustomerRef"),
    "item_expense_quantity": number(_ITEM, "Qty"),
    "item_expense_unit_price": number(_ITEM, "UnitPrice"),
    "item_expense_tax_code_id": ref(_ITEM, "TaxCodeRef"),
}
# TxnTaxDetail.TaxLine[] (the package's tax-line tables).
_TAX = L + " -> 'TaxLineDetail'"
TAX_LINE = {
    "amount": number(L, "Amount"),
    "net_amount_taxable": number(_TAX, "NetAmountTaxable"),
    "override_delta_amount": number(_TAX, "OverrideDeltaAmount"),
    "percent_based": boolean(_TAX, "PercentBased"),
    "tax_inclusive_amount": number(_TAX, "TaxInclusiveAmount"),
    "tax_percent": number(_TAX, "TaxPercent"),
    "tax_rate_id": ref(_TAX, "TaxRateRef"),
}
TAX_ROWS = (("TxnTaxDetail", "TaxLine"),)
LINE_ROWS = (("Line",),)
LINKED_ROWS = (("LinkedTxn",),)

# LinkedTxn.TxnType -> the package's *_id column (payment_line, bill_payment_line, ...).
LINK_COLUMNS = {
    "invoice_id": "Invoice",
    "payment_id": "Payment",
    "estimate_id": "Estimate",
    "credit_memo_id": "CreditMemo",
    "journal_entry_id": "JournalEntry",
    "deposit_id": "Deposit",
    "bill_id": "Bill",
    "vendor_credit_id": "VendorCredit",
    "purchase_id": "Purchase",
    "purchase_order_id": "PurchaseOrder",
    "sales_receipt_id": "SalesReceipt",
    "refund_receipt_id": "RefundReceipt",
    "transfer_id": "Transfer",
    "bill_payment_id": "BillPayment",
    "linked_bill_payment_id": "BillPayment",
    "check_id": "Check",
    "expense_id": "Expense",
    "credit_card_charge_id": "CreditCardCharge",
    "credit_card_credit_id": "CreditCardCredit",
    "bill_payment_credit_card_id": "BillPaymentCreditCard",
    "charge_credit_id": "ChargeCredit",
    "reimburse_charge_id": "ReimburseCharge",
    "statement_charge_id": "StatementCharge",
    "time_activity_id": "TimeActivity",
}


def links_in_line(names: str) -> dict[str, str]:
    """Payment/BillPayment/Deposit lines: what each line settles, from its own LinkedTxn."""
    return {n: linked(L, LINK_COLUMNS[n]) for n in names.split()}


def link_row(names: str) -> dict[str, str]:
    """One header LinkedTxn element: its Id in the column of its type, else NULL."""
    return {
        n: f"(CASE WHEN {L} ->> 'TxnType' = '{LINK_COLUMNS[n]}' THEN {L} ->> 'TxnId' END)"
        for n in names.split()
    }


def parent(column: str) -> dict[str, str]:
    return {column: "h.qb_id"}


def entity_ref(kind_sql: str, ref_sql: str, kind: str) -> str:
    return f"(CASE WHEN lower({kind_sql}) = '{kind.lower()}' THEN {ref_sql} END)"
