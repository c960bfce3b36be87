"""Estimates, purchase orders, credit card payments, time activity; tax lines and custom
fields as child tables.

Decision (tax and custom fields): like lines, one child table per parent entity, generated
from an abstract base (``tax_line_model``, ``custom_field_model``), so
``invoice.tax_lines.all()`` works and each table stays as small as its parent.
``TxnTaxDetail.TaxLine[]`` becomes ``<Parent>TaxLine`` on every transaction whose QBO
object carries a ``TxnTaxDetail``; the legacy ``CustomField[]`` of sales forms and
purchase orders (API-NOTES §11: Invoice, SalesReceipt, Estimate, CreditMemo,
RefundReceipt, PurchaseOrder) becomes ``<Parent>CustomField`` rows *and* the parent's
``custom_fields`` JSON column (``{Name: value}``), so a report can filter on
``custom_fields__<name>`` without a join.
"""

from __future__ import annotations

from django.db import models

from quickbooks_sync import ledger_models as lm
from quickbooks_sync.ledger_models import MONEY, RATE, TransactionRecord, _meta, qb_ref
from quickbooks_sync.models import Invoice, SyncedRecord


def custom_fields_column() -> models.JSONField:
    return models.JSONField(
        default=dict, blank=True, help_text="CustomField[] as {Name: value}, for filtering."
    )


class Estimate(TransactionRecord):
    customer_qb_id = qb_ref("customer (QBO Id)")
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    class_qb_id = qb_ref("class (QBO Id)", index=False)
    sales_term_qb_id = qb_ref("terms (QBO Id)", index=False)
    txn_status = models.CharField(
        max_length=16, blank=True, db_index=True, help_text="Pending, Accepted, Closed, Rejected"
    )
    expiration_date = models.DateField(null=True, blank=True)
    accepted_by = models.CharField(max_length=255, blank=True)
    accepted_date = models.DateField(null=True, blank=True)
    custom_fields = custom_fields_column()

    Meta = _meta("estimate", ordering=("-txn_date",))


class PurchaseOrder(TransactionRecord):
    vendor_qb_id = qb_ref("vendor (QBO Id)")
    ap_account_qb_id = qb_ref("A/P account (QBO Id)", index=False)
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    class_qb_id = qb_ref("class (QBO Id)", index=False)
    po_status = models.CharField(max_length=16, blank=True, db_index=True, help_text="Open…")
    due_date = models.DateField(null=True, blank=True)
    custom_fields = custom_fields_column()

    Meta = _meta("purchaseorder", ordering=("-txn_date",))


class CreditCardPayment(TransactionRecord):
    """``total_amt`` holds the payment's ``Amount`` (QBO has no TotalAmt on it)."""

    credit_card_account_qb_id = qb_ref("credit card account (QBO Id)")
    bank_account_qb_id = qb_ref("bank account (QBO Id)")
    vendor_qb_id = qb_ref("vendor (QBO Id)", index=False)

    Meta = _meta("ccpayment", ordering=("-txn_date",))


class TimeActivity(SyncedRecord):
    """Time worked by an employee or vendor; hard-deleted in QBO, not served by CDC."""

    txn_date = models.DateField(null=True, blank=True, db_index=True)
    name_of = models.CharField(max_length=16, blank=True, help_text="Employee or Vendor")
    employee_qb_id = qb_ref("employee (QBO Id)")
    vendor_qb_id = qb_ref("vendor (QBO Id)")
    customer_qb_id = qb_ref("customer (QBO Id)")
    item_qb_id = qb_ref("item (QBO Id)", index=False)
    class_qb_id = qb_ref("class (QBO Id)", index=False)
    department_qb_id = qb_ref("department (QBO Id)", index=False)
    billable_status = models.CharField(max_length=32, blank=True)
    taxable = models.BooleanField(default=False)
    hourly_rate = models.DecimalField(**RATE)
    hours = models.IntegerField(null=True, blank=True)
    minutes = models.IntegerField(null=True, blank=True)
    description = models.TextField(blank=True)

    Meta = _meta("timeactivity", ordering=("-txn_date",), verbose_name_plural="time activities")

    def __str__(self) -> str:
        return f"Time {self.txn_date}: {self.hours or 0}h{self.minutes or 0:02d}"


# --- tax lines and custom fields ----------------------------------------------------------


class TaxLineBase(models.Model):
    """One ``TxnTaxDetail.TaxLine[]`` item (its ``TaxLineDetail``)."""

    realm_id = models.CharField(max_length=32)
    position = models.PositiveIntegerField()
    amount = models.DecimalField("tax amount", **MONEY)
    tax_rate_qb_id = qb_ref("tax rate (QBO Id)")
    percent_based = models.BooleanField(null=True, blank=True)
    tax_percent = models.DecimalField(**RATE)
    net_amount_taxable = models.DecimalField(**MONEY)
    tax_inclusive_amount = models.DecimalField(**MONEY)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"tax {self.tax_rate_qb_id}: {self.amount}"


class CustomFieldBase(models.Model):
    """One legacy ``CustomField[]`` entry (DefinitionId, Name, Type, its value)."""

    realm_id = models.CharField(max_length=32)
    position = models.PositiveIntegerField()
    definition_id = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=255, blank=True, db_index=True)
    field_type = models.CharField(max_length=32, blank=True, help_text="StringType…")
    value = models.TextField(blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


def tax_line_model(parent: type[models.Model]):
    """``<Parent>TaxLine``, reachable as ``parent.tax_lines``."""
    return lm._child_model(parent, TaxLineBase, "TaxLine", "tax_lines")


def custom_field_model(parent: type[models.Model]):
    """``<Parent>CustomField``, reachable as ``parent.custom_field_rows``."""
    return lm._child_model(parent, CustomFieldBase, "CustomField", "custom_field_rows")


EstimateLine = lm.line_model(Estimate)
EstimateLinkedTxn = lm.link_model(Estimate)
PurchaseOrderLine = lm.line_model(PurchaseOrder)
PurchaseOrderLinkedTxn = lm.link_model(PurchaseOrder)

InvoiceTaxLine = tax_line_model(Invoice)
SalesReceiptTaxLine = tax_line_model(lm.SalesReceipt)
CreditMemoTaxLine = tax_line_model(lm.CreditMemo)
RefundReceiptTaxLine = tax_line_model(lm.RefundReceipt)
EstimateTaxLine = tax_line_model(Estimate)
BillTaxLine = tax_line_model(lm.Bill)
PurchaseTaxLine = tax_line_model(lm.Purchase)
VendorCreditTaxLine = tax_line_model(lm.VendorCredit)
PurchaseOrderTaxLine = tax_line_model(PurchaseOrder)
JournalEntryTaxLine = tax_line_model(lm.JournalEntry)
DepositTaxLine = tax_line_model(lm.Deposit)

InvoiceCustomField = custom_field_model(Invoice)
SalesReceiptCustomField = custom_field_model(lm.SalesReceipt)
CreditMemoCustomField = custom_field_model(lm.CreditMemo)
RefundReceiptCustomField = custom_field_model(lm.RefundReceipt)
EstimateCustomField = custom_field_model(Estimate)
PurchaseOrderCustomField = custom_field_model(PurchaseOrder)
