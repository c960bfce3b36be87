"""Declarations against the package's column list and the entity registry (any database)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from quickbooks_sync import registry
from quickbooks_sync.analytics.columns import PACKAGE_VERSION, SOURCES_FILE, source_tables
from quickbooks_sync.analytics.declarations import DeclarationError, _checked, views_by_table
from quickbooks_sync.analytics.service import analytics_views_apply, plan_views

# Which QBO entity feeds each package table (Fivetran's connector, one table per entity and
# one per nested array), written independently of the declarations.
FEEDS = {
    "account": "Account",
    "address": "Customer",
    "bill": "Bill",
    "bill_line": "Bill",
    "bill_linked_txn": "Bill",
    "bill_payment": "BillPayment",
    "bill_payment_line": "BillPayment",
    "bill_tax_line_detail": "Bill",
    "bundle": "Item",
    "bundle_item": "Item",
    "credit_card_payment_txn": "CreditCardPayment",
    "credit_memo": "CreditMemo",
    "credit_memo_line": "CreditMemo",
    "credit_memo_tax_line_detail": "CreditMemo",
    "customer": "Customer",
    "customer_type": "CustomerType",
    "department": "Department",
    "deposit": "Deposit",
    "deposit_line": "Deposit",
    "deposit_tax_line_detail": "Deposit",
    "estimate": "Estimate",
    "estimate_line": "Estimate",
    "estimate_tax_line": "Estimate",
    "invoice": "Invoice",
    "invoice_line": "Invoice",
    "invoice_line_bundle": "Invoice",
    "invoice_linked_txn": "Invoice",
    "invoice_tax_line": "Invoice",
    "item": "Item",
    "journal_entry": "JournalEntry",
    "journal_entry_line": "JournalEntry",
    "journal_entry_tax_line": "JournalEntry",
    "payment": "Payment",
    "payment_line": "Payment",
    "purchase": "Purchase",
    "purchase_line": "Purchase",
    "purchase_order": "PurchaseOrder",
    "purchase_order_line": "PurchaseOrder",
    "purchase_order_linked_txn": "PurchaseOrder",
    "purchase_tax_line": "Purchase",
    "refund_receipt": "RefundReceipt",
    "refund_receipt_line": "RefundReceipt",
    "refund_receipt_tax_line": "RefundReceipt",
    "sales_receipt": "SalesReceipt",
    "sales_receipt_line": "SalesReceipt",
    "sales_receipt_tax_line": "SalesReceipt",
    "tax_agency": "TaxAgency",
    "tax_rate": "TaxRate",
    "transfer": "Transfer",
    "vendor": "Vendor",
    "vendor_credit": "VendorCredit",
    "vendor_credit_line": "VendorCredit",
}


def test_the_kept_column_list_is_the_package_version_it_names():
    assert SOURCES_FILE.name == f"dbt_quickbooks-{PACKAGE_VERSION}-sources.json"
    tables = source_tables()
    assert len(tables) == 52
    assert set(tables) == set(FEEDS)
    assert {t for t, s in tables.items() if s.always_required} == {
        "account",
        "customer",
        "item",
        "purchase",
        "purchase_line",
        "vendor",
    }


@pytest.mark.parametrize("entity", sorted(registry.ENTITIES))
def test_every_registered_entity_that_feeds_the_package_has_its_views(entity):
    """Registering a QBO entity (e.g. BillPayment) without declaring its views fails here."""
    declared = {(s.table, s.entity) for specs in views_by_table().values() for s in specs}
    missing = [t for t, e in FEEDS.items() if e == entity and (t, entity) not in declared]
    assert missing == [], f"{entity} is synced but these package tables have no view: {missing}"


def test_every_package_table_has_a_declaration_and_registered_entities_get_built():
    assert set(views_by_table()) == set(source_tables())
    plan = plan_views()
    built = {table for table, _ in plan.views}
    for table, entity in FEEDS.items():
        if entity in registry.ENTITIES:
            assert table in built


def test_a_declared_column_the_package_lacks_is_refused():
    with pytest.raises(DeclarationError, match="invoice: no such package columns"):
        _checked("invoice", {"invoice_total": "1"})


def test_on_sqlite_nothing_is_made_and_the_command_says_why(db):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite behaviour")
    assert analytics_views_apply().supported is False
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("analytics_views")
