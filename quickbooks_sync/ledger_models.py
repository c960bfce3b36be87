"""The rest of the QBO ledger: name lists, transactions, and their lines and links.

Every model keeps the public contract of ``SyncedRecord`` (``realm_id``, ``qb_id``,
``sync_token``, ``raw_data``, ``deleted_at``, ``live()``/``deleted()``) and promotes to columns
only what accountants filter, sort and join on. References to other QBO records are stored
as QBO Ids (``customer_qb_id`` …), not foreign keys: QBO sends them in any order, a
referenced record may not be synced yet, and a deleted one stays referenced.

Decision (child tables): one line table and one linked-transaction table **per parent
entity** (``InvoiceLine``, ``PaymentLinkedTxn`` …), all generated from the shared abstract
bases below by ``line_model``/``link_model``. Rather than one ``TransactionLine`` keyed by
(entity, id), because a real foreign key gives ``invoice.lines.all()`` and cascades, each
table stays as small as its parent, an index on ``item_qb_id`` serves one entity's
question, and Fivetran's layout (``invoice_line``, ``bill_line`` …) maps table for table.
A parent's children are replaced in the same transaction as the parent row (see
``sync.writer``) and left alone when the parent is soft-deleted, so a deleted transaction
keeps its last lines.
"""

from __future__ import annotations

from django.db import models

from quickbooks_sync.models import Invoice, SyncedRecord

MONEY = {"max_digits": 18, "decimal_places": 2, "null": True, "blank": True}
RATE = {"max_digits": 24, "decimal_places": 6, "null": True, "blank": True}


def qb_ref(verbose_name: str, *, index: bool = True) -> models.CharField:
    return models.CharField(verbose_name, max_length=64, blank=True, db_index=index)


def _meta(name: str, *, ordering: tuple[str, ...] = (), **extra) -> type:
    return type(
        "Meta",
        (),
        {
            "constraints": [
                models.UniqueConstraint(fields=["realm_id", "qb_id"], name=f"{name}_realm_qb_id")
            ],
            "indexes": [
                models.Index(fields=["realm_id", "qb_updated_at"], name=f"{name}_realm_updated")
            ],
            "ordering": list(ordering),
            **extra,
        },
    )


# --- name lists (soft delete: Active=false) ------------------------------------------------


class NameListRecord(SyncedRecord):
    active = models.BooleanField(default=True, help_text="False: made inactive in QBO.")

    class Meta:
        abstract = True


class Account(NameListRecord):
    name = models.CharField(max_length=255, blank=True, db_index=True)
    fully_qualified_name = models.CharField(max_length=1000, blank=True)
    acct_num = models.CharField("account number", max_length=32, blank=True)
    classification = models.CharField(
        max_length=32, blank=True, db_index=True, help_text="Asset, Liability, Equity, Revenue…"
    )
    account_type = models.CharField(max_length=64, blank=True, db_index=True)
    account_sub_type = models.CharField(max_length=64, blank=True)
    sub_account = models.BooleanField(default=False)
    parent_qb_id = qb_ref("parent account (QBO Id)")
    current_balance = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=8, blank=True)

    Meta = _meta("account", ordering=("fully_qualified_name",))

    def __str__(self) -> str:
        return self.fully_qualified_name or self.name or f"Account {self.qb_id}"


class Item(NameListRecord):
    name = models.CharField(max_length=255, blank=True, db_index=True)
    fully_qualified_name = models.CharField(max_length=1000, blank=True)
    sku = models.CharField("SKU", max_length=100, blank=True)
    item_type = models.CharField(
        max_length=32, blank=True, db_index=True, help_text="QBO Type: Service, Inventory…"
    )
    income_account_qb_id = qb_ref("income account (QBO Id)")
    expense_account_qb_id = qb_ref("expense account (QBO Id)")
    asset_account_qb_id = qb_ref("asset account (QBO Id)")
    unit_price = models.DecimalField(**RATE)
    purchase_cost = models.DecimalField(**RATE)
    qty_on_hand = models.DecimalField(**RATE)

    Meta = _meta("item", ordering=("fully_qualified_name",))

    def __str__(self) -> str:
        return self.fully_qualified_name or self.name or f"Item {self.qb_id}"


class Vendor(NameListRecord):
    display_name = models.CharField(max_length=500, blank=True, db_index=True)
    company_name = models.CharField(max_length=500, blank=True)
    email = models.CharField(max_length=254, blank=True)
    balance = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=8, blank=True)
    vendor_1099 = models.BooleanField("1099 vendor", default=False)

    Meta = _meta("vendor", ordering=("display_name",))

    def __str__(self) -> str:
        return self.display_name or f"Vendor {self.qb_id}"


# --- transactions (hard-deleted in QBO; soft-deleted here) ---------------------------------


class TransactionRecord(SyncedRecord):
    doc_number = models.CharField(max_length=64, blank=True, db_index=True)
    txn_date = models.DateField(null=True, blank=True, db_index=True)
    total_amt = models.DecimalField(**MONEY)
    home_total_amt = models.DecimalField(
        **MONEY, help_text="Total in the home currency (multi-currency companies)."
    )
    currency = models.CharField(max_length=8, blank=True)
    exchange_rate = models.DecimalField(**RATE)
    private_note = models.TextField(blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self)._meta.verbose_name.capitalize()} {self.doc_number or self.qb_id}"


class Payment(TransactionRecord):
    customer_qb_id = qb_ref("customer (QBO Id)")
    ar_account_qb_id = qb_ref("A/R account (QBO Id)", index=False)
    deposit_to_account_qb_id = qb_ref("deposit-to account (QBO Id)")
    payment_method_qb_id = qb_ref("payment method (QBO Id)", index=False)
    payment_ref_num = models.CharField("reference no.", max_length=64, blank=True)
    unapplied_amt = models.DecimalField(**MONEY)
    voided = models.BooleanField(default=False)

    Meta = _meta("payment", ordering=("-txn_date",))


class Bill(TransactionRecord):
    vendor_qb_id = qb_ref("vendor (QBO Id)")
    ap_account_qb_id = qb_ref("A/P account (QBO Id)", index=False)
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    due_date = models.DateField(null=True, blank=True)
    balance = models.DecimalField(**MONEY, help_text="Amount still owed.")

    Meta = _meta("bill", ordering=("-txn_date",))


class BillPayment(TransactionRecord):
    vendor_qb_id = qb_ref("vendor (QBO Id)")
    ap_account_qb_id = qb_ref("A/P account (QBO Id)", index=False)
    pay_type = models.CharField(max_length=16, blank=True, help_text="Check or CreditCard")
    bank_account_qb_id = qb_ref("bank account (QBO Id)", index=False)
    cc_account_qb_id = qb_ref("credit card account (QBO Id)", index=False)
    voided = models.BooleanField(default=False)

    Meta = _meta("billpayment", ordering=("-txn_date",))


class JournalEntry(TransactionRecord):
    adjustment = models.BooleanField(default=False)

    Meta = _meta("journalentry", ordering=("-txn_date",), verbose_name_plural="journal entries")


class Purchase(TransactionRecord):
    payment_type = models.CharField(max_length=16, blank=True, help_text="Cash, Check, CreditCard")
    account_qb_id = qb_ref("paid from account (QBO Id)")
    entity_type = models.CharField("payee type", max_length=32, blank=True)
    entity_qb_id = qb_ref("payee (QBO Id)")
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    credit = models.BooleanField(default=False, help_text="A credit card credit (refund).")

    Meta = _meta("purchase", ordering=("-txn_date",))


class Deposit(TransactionRecord):
    deposit_to_account_qb_id = qb_ref("deposit-to account (QBO Id)")
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)

    Meta = _meta("deposit", ordering=("-txn_date",))


class SalesReceipt(TransactionRecord):
    customer_qb_id = qb_ref("customer (QBO Id)")
    deposit_to_account_qb_id = qb_ref("deposit-to account (QBO Id)")
    payment_method_qb_id = qb_ref("payment method (QBO Id)", index=False)
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    balance = models.DecimalField(**MONEY)
    voided = models.BooleanField(default=False)
    custom_fields = models.JSONField(
        default=dict, blank=True, help_text="CustomField[] as {Name: value}, for filtering."
    )

    Meta = _meta("salesreceipt", ordering=("-txn_date",))


class CreditMemo(TransactionRecord):
    customer_qb_id = qb_ref("customer (QBO Id)")
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    balance = models.DecimalField(**MONEY)
    remaining_credit = models.DecimalField(**MONEY)
    custom_fields = models.JSONField(
        default=dict, blank=True, help_text="CustomField[] as {Name: value}, for filtering."
    )

    Meta = _meta("creditmemo", ordering=("-txn_date",))


class RefundReceipt(TransactionRecord):
    customer_qb_id = qb_ref("customer (QBO Id)")
    deposit_to_account_qb_id = qb_ref("refunded from account (QBO Id)")
    payment_method_qb_id = qb_ref("payment method (QBO Id)", index=False)
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    balance = models.DecimalField(**MONEY)
    custom_fields = models.JSONField(
        default=dict, blank=True, help_text="CustomField[] as {Name: value}, for filtering."
    )

    Meta = _meta("refundreceipt", ordering=("-txn_date",))


class VendorCredit(TransactionRecord):
    vendor_qb_id = qb_ref("vendor (QBO Id)")
    ap_account_qb_id = qb_ref("A/P account (QBO Id)", index=False)
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    balance = models.DecimalField(**MONEY)

    Meta = _meta("vendorcredit", ordering=("-txn_date",))


class Transfer(TransactionRecord):
    """``total_amt`` holds the transfer's ``Amount`` (QBO has no TotalAmt on a Transfer)."""

    from_account_qb_id = qb_ref("from account (QBO Id)")
    to_account_qb_id = qb_ref("to account (QBO Id)")

    Meta = _meta("transfer", ordering=("-txn_date",))


# --- children: lines and linked transactions ----------------------------------------------


class TransactionLineBase(models.Model):
    """One ``Line[]`` item; the detail object's typed fields, whichever detail it is."""

    realm_id = models.CharField(max_length=32)
    position = models.PositiveIntegerField(help_text="0-based index in the parent's Line[].")
    line_id = models.CharField(
        "QBO line Id", max_length=64, blank=True, help_text="Empty on sub-total lines."
    )
    line_num = models.IntegerField(null=True, blank=True)
    detail_type = models.CharField(max_length=64, blank=True, db_index=True)
    amount = models.DecimalField(**MONEY)
    description = models.TextField(blank=True)
    item_qb_id = qb_ref("item (QBO Id)")
    account_qb_id = qb_ref("account (QBO Id)")
    class_qb_id = qb_ref("class (QBO Id)", index=False)
    department_qb_id = qb_ref("location/department (QBO Id)", index=False)
    customer_qb_id = qb_ref("customer (QBO Id)", index=False)
    tax_code = models.CharField("tax code (QBO Id)", max_length=64, blank=True)
    qty = models.DecimalField("quantity", **RATE)
    unit_price = models.DecimalField(**RATE)
    service_date = models.DateField(null=True, blank=True)
    billable_status = models.CharField(max_length=32, blank=True)
    posting_type = models.CharField(max_length=16, blank=True, help_text="Debit or Credit")
    entity_type = models.CharField(max_length=32, blank=True)
    entity_qb_id = qb_ref("entity (QBO Id)", index=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"line {self.position + 1}: {self.detail_type or 'payment'} {self.amount}"


class LinkedTxnBase(models.Model):
    """One ``LinkedTxn``: of the parent itself (``line_position`` null) or of one of its
    lines, where ``amount`` is that line's amount (what a payment applied)."""

    realm_id = models.CharField(max_length=32)
    position = models.PositiveIntegerField()
    line_position = models.PositiveIntegerField(null=True, blank=True)
    txn_id = models.CharField("linked txn (QBO Id)", max_length=64, db_index=True)
    txn_type = models.CharField(max_length=64, help_text="Invoice, Payment, Bill…")
    txn_line_id = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(**MONEY)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.txn_type} {self.txn_id}"


def _child_model(parent: type[models.Model], base: type, suffix: str, related_name: str):
    name = f"{parent.__name__}{suffix}"
    table_key = name.lower()
    meta = type(
        "Meta",
        (),
        {
            "constraints": [
                models.UniqueConstraint(fields=["parent", "position"], name=f"{table_key}_pos")
            ],
            "ordering": ["parent", "position"],
            "verbose_name": f"{parent._meta.verbose_name} {suffix.lower().replace('txn', ' txn')}",
        },
    )
    return type(
        name,
        (base,),
        {
            "__module__": __name__,
            "parent": models.ForeignKey(
                parent, on_delete=models.CASCADE, related_name=related_name
            ),
            "Meta": meta,
        },
    )


def line_model(parent: type[models.Model]) -> type[TransactionLineBase]:
    """``<Parent>Line``, reachable as ``parent.lines``."""
    return _child_model(parent, TransactionLineBase, "Line", "lines")


def link_model(parent: type[models.Model]) -> type[LinkedTxnBase]:
    """``<Parent>LinkedTxn``, reachable as ``parent.linked_txns``."""
    return _child_model(parent, LinkedTxnBase, "LinkedTxn", "linked_txns")


InvoiceLine = line_model(Invoice)
InvoiceLinkedTxn = link_model(Invoice)
PaymentLine = line_model(Payment)
PaymentLinkedTxn = link_model(Payment)
BillLine = line_model(Bill)
BillLinkedTxn = link_model(Bill)
BillPaymentLine = line_model(BillPayment)
BillPaymentLinkedTxn = link_model(BillPayment)
JournalEntryLine = line_model(JournalEntry)
PurchaseLine = line_model(Purchase)
PurchaseLinkedTxn = link_model(Purchase)
DepositLine = line_model(Deposit)
DepositLinkedTxn = link_model(Deposit)
SalesReceiptLine = line_model(SalesReceipt)
SalesReceiptLinkedTxn = link_model(SalesReceipt)
CreditMemoLine = line_model(CreditMemo)
CreditMemoLinkedTxn = link_model(CreditMemo)
RefundReceiptLine = line_model(RefundReceipt)
RefundReceiptLinkedTxn = link_model(RefundReceipt)
VendorCreditLine = line_model(VendorCredit)
VendorCreditLinkedTxn = link_model(VendorCredit)
