"""Every declared view over sample payloads of every entity: exact columns and types, the
values the package compares, lines against parents, and a trial balance that sums to zero."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from quickbooks_sync.analytics.columns import source_tables
from quickbooks_sync.analytics.service import (
    Target,
    analytics_views_apply,
    analytics_views_check,
    our_views,
    view_columns,
)
from quickbooks_sync.analytics.trial_balance import postings_sql, trial_balance_sql
from tests.analytics.conftest import SCHEMA

pytestmark = pytest.mark.usefixtures("postgres")

ALL_REALMS = [Target(SCHEMA, None)]
R1 = [Target(SCHEMA, "R1")]

# Line/linked views and the header column that holds their parent's id.
CHILDREN = {
    "invoice_line": ("invoice", "invoice_id"),
    "invoice_linked_txn": ("invoice", "invoice_id"),
    "invoice_line_bundle": ("invoice", "invoice_id"),
    "invoice_tax_line": ("invoice", "invoice_id"),
    "payment_line": ("payment", "payment_id"),
    "bill_line": ("bill", "bill_id"),
    "bill_linked_txn": ("bill", "bill_id"),
    "bill_tax_line_detail": ("bill", "bill_id"),
    "bill_payment_line": ("bill_payment", "bill_payment_id"),
    "journal_entry_line": ("journal_entry", "journal_entry_id"),
    "purchase_line": ("purchase", "purchase_id"),
    "deposit_line": ("deposit", "deposit_id"),
    "sales_receipt_line": ("sales_receipt", "sales_receipt_id"),
    "credit_memo_line": ("credit_memo", "credit_memo_id"),
    "refund_receipt_line": ("refund_receipt", "refund_id"),
    "vendor_credit_line": ("vendor_credit", "vendor_credit_id"),
    "estimate_line": ("estimate", "estimate_id"),
    "purchase_order_line": ("purchase_order", "purchase_order_id"),
    "purchase_order_linked_txn": ("purchase_order", "purchase_order_id"),
    "bundle_item": ("bundle", "bundle_id"),
}
SAMPLED = {c for c in CHILDREN if "tax_line" not in c} | {"invoice_tax_line"}


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def one(sql, params=()):
    (row,) = rows(sql, params)
    return row


@pytest.fixture
def built(sample_tables):
    report = analytics_views_apply(tables=sample_tables, targets=R1)
    return report


def test_every_package_table_is_built_with_exactly_its_columns_and_types(built):
    assert not built.plan.skipped
    with connection.cursor() as cursor:
        for table, source in source_tables().items():
            expected = [(c.name, c.pg_type) for c in source.columns]
            assert view_columns(cursor, SCHEMA, table) == expected, table
        assert {t for s, t in our_views(cursor) if s == SCHEMA} == set(source_tables())
    assert analytics_views_check(tables=built_tables(built), targets=R1) == []


def built_tables(report):
    return {spec.entity: db for _t, parts in report.plan.views for spec, db in parts}


def test_the_two_package_type_fixes_are_applied(built):
    types = {
        (r["table_name"], r["column_name"]): r["data_type"]
        for r in rows(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s",
            [SCHEMA],
        )
    }
    assert {v for (t, c), v in types.items() if c == "index"} == {"integer"}
    assert types["vendor_credit_line", "item_expense_quantity"] == "double precision"
    assert one(
        f"SELECT item_expense_quantity FROM {SCHEMA}.vendor_credit_line WHERE index = 1"
    ) == {"item_expense_quantity": 2.0}


def test_exact_values_the_package_compares(built):
    s = SCHEMA
    ar = one(f"SELECT * FROM {s}.account WHERE id = '4'")
    assert ar["account_type"] == "Accounts Receivable"
    assert ar["classification"] == "Asset"
    assert ar["account_sub_type"] == "AccountsReceivable"
    assert (ar["active"], ar["sub_account"], ar["currency_id"]) == (True, False, "USD")
    assert one(f"SELECT parent_account_id FROM {s}.account WHERE id = '80'") == {
        "parent_account_id": "79"
    }
    inv = one(f"SELECT * FROM {s}.invoice WHERE id = '130'")
    assert inv["transaction_date"] == dt.date(2025, 1, 2)
    assert inv["due_date"] == dt.date(2025, 2, 1)
    assert inv["created_at"] == dt.datetime(2025, 1, 2, 18, 0)  # -08:00 -> UTC, no zone
    assert inv["updated_at"] == dt.datetime(2025, 3, 5, 7, 30)
    assert inv["_fivetran_synced"] == dt.datetime(2025, 3, 5, 12, 0)
    assert (inv["customer_id"], inv["currency_id"], inv["exchange_rate"]) == ("1", "USD", None)
    assert (inv["total_amount"], inv["balance"], inv["total_tax"]) == (148.0, 0.0, 8.0)
    assert (inv["billing_address_id"], inv["department_id"]) == ("94", "1")
    assert inv["_fivetran_deleted"] is False
    assert one(f"SELECT exchange_rate FROM {s}.invoice WHERE id = '131'") == {"exchange_rate": 1.08}
    lines = rows(f"SELECT * FROM {s}.invoice_line WHERE invoice_id = '130' ORDER BY index")
    assert [(ln["index"], ln["detail_type"]) for ln in lines] == [
        (0, "SalesItemLineDetail"),
        (1, "DiscountLineDetail"),
        (2, "GroupLineDetail"),
        (3, "DescriptionOnly"),
        (4, "SubTotalLineDetail"),
    ]
    assert lines[0]["sales_item_item_id"] == "1"
    assert lines[0]["sales_item_account_id"] == "79"
    assert (lines[0]["sales_item_quantity"], lines[0]["sales_item_unit_price"]) == (2.0, 50.0)
    assert (lines[1]["discount_account_id"], lines[1]["amount"]) == ("86", 10.0)
    assert (lines[2]["bundle_id"], lines[2]["bundle_quantity"]) == ("9", 1.0)
    bundle = rows(f"SELECT * FROM {s}.invoice_line_bundle ORDER BY index")
    assert [(b["invoice_line_index"], b["index"], b["item_id"]) for b in bundle] == [
        ("2", 0, "1"),
        ("2", 1, "2"),
    ]
    links = rows(f"SELECT * FROM {s}.invoice_linked_txn ORDER BY index")
    assert [(x["estimate_id"], x["payment_id"]) for x in links] == [("500", None), (None, "300")]
    assert one(f"SELECT invoice_id, amount FROM {s}.payment_line") == {
        "invoice_id": "130",
        "amount": 148.0,
    }
    assert one(f"SELECT bill_payment_id FROM {s}.bill_linked_txn") == {"bill_payment_id": "410"}
    assert one(f"SELECT bill_id FROM {s}.bill_payment_line") == {"bill_id": "400"}
    assert one(f"SELECT check_bank_account_id, pay_type FROM {s}.bill_payment") == {
        "check_bank_account_id": "35",
        "pay_type": "Check",
    }
    je = rows(f"SELECT * FROM {s}.journal_entry_line ORDER BY index")
    assert [(x["posting_type"], x["customer_id"], x["vendor_id"]) for x in je] == [
        ("Debit", "1", None),
        ("Credit", None, "30"),
    ]
    dep = rows(f"SELECT * FROM {s}.deposit_line ORDER BY index")
    assert [(d["deposit_account_id"], d["deposit_customer_id"], d["payment_id"]) for d in dep] == [
        ("79", "1", None),
        (None, None, "300"),
    ]
    assert one(f"SELECT vendor_id, credit FROM {s}.purchase WHERE id = '700'") == {
        "vendor_id": "30",
        "credit": False,
    }
    bill_lines = rows(f"SELECT * FROM {s}.bill_line ORDER BY index")
    assert bill_lines[0]["account_expense_account_id"] == "60"
    assert bill_lines[1]["item_expense_item_id"] == "2"
    assert one(f"SELECT tax_rate_id, tax_percent FROM {s}.invoice_tax_line") == {
        "tax_rate_id": "7",
        "tax_percent": 8.0,
    }
    assert one(f"SELECT id, print_grouped_items FROM {s}.bundle") == {
        "id": "9",
        "print_grouped_items": True,
    }
    assert rows(f"SELECT item_id, item_quantity FROM {s}.bundle_item ORDER BY item_id") == [
        {"item_id": "1", "item_quantity": 2.0},
        {"item_id": "2", "item_quantity": 1.0},
    ]
    assert one(f"SELECT vendor_1099, web_url FROM {s}.vendor") == {
        "vendor_1099": True,
        "web_url": "https://paper.example",
    }
    addresses = rows(f"SELECT id, line_1 FROM {s}.address ORDER BY id")
    assert [a["id"] for a in addresses] == ["91", "92", "93", "94"]
    assert one(f"SELECT expiration_date FROM {s}.estimate") == {
        "expiration_date": dt.datetime(2025, 1, 20)
    }


def test_deleted_rows_are_flagged_and_the_realm_filter_keeps_one_company(built):
    flags = dict(
        (r["id"], r["_fivetran_deleted"])
        for r in rows(f"SELECT id, _fivetran_deleted FROM {SCHEMA}.invoice")
    )
    assert flags == {"130": False, "131": False, "132": True}  # R2's "130" is not here


def test_lines_join_their_parents_and_index_is_unique_per_parent(built):
    for child, (parent, key) in CHILDREN.items():
        orphans = one(
            f"SELECT count(*) AS n FROM {SCHEMA}.{child} c "
            f"LEFT JOIN {SCHEMA}.{parent} p ON p.id = c.{key} WHERE p.id IS NULL"
        )
        assert orphans["n"] == 0, child
        if child in SAMPLED:
            assert one(f"SELECT count(*) AS n FROM {SCHEMA}.{child}")["n"] > 0, child
        if "index" not in source_tables()[child].column_names:
            continue
        extra = ", invoice_line_index" if child == "invoice_line_bundle" else ""
        dupes = rows(
            f"SELECT {key}{extra}, index FROM {SCHEMA}.{child} "
            f"GROUP BY {key}{extra}, index HAVING count(*) > 1"
        )
        assert dupes == [], child


def test_trial_balance_over_every_transaction_type_sums_to_zero(built):
    views = set(source_tables())
    sources = {r["source"] for r in rows(postings_sql(SCHEMA, views))}
    assert sources >= {
        "invoice",
        "invoice tax",
        "payment",
        "bill",
        "bill_payment",
        "journal_entry",
        "purchase",
        "deposit",
        "sales_receipt",
        "credit_memo",
        "refund_receipt",
        "vendor_credit",
        "transfer",
        "credit_card_payment",
    }
    periods = rows(trial_balance_sql(SCHEMA, views))
    assert [p["period"] for p in periods] == [
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
        dt.date(2025, 3, 1),
    ]
    for p in periods:
        assert p["debits"] == p["credits"], p
    per_txn = rows(
        f"SELECT source, transaction_id, sum(debit) - sum(credit) AS off "
        f"FROM ({postings_sql(SCHEMA, views)}) p GROUP BY 1, 2"
    )
    # Tax lines are their own source; fold them into their transaction before judging.
    folded = {}
    for r in per_txn:
        key = (r["source"].removesuffix(" tax"), r["transaction_id"])
        folded[key] = folded.get(key, 0) + r["off"]
    assert {k: v for k, v in folded.items() if abs(v) > 0.005} == {}


def test_the_trial_balance_catches_lines_that_do_not_add_up(sample_tables):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {sample_tables['Invoice']} SET raw_data = jsonb_set(raw_data, "
            "'{TotalAmt}', '41') WHERE qb_id = '131' AND realm_id = 'R1'"
        )
    analytics_views_apply(tables=sample_tables, targets=R1)
    feb = [
        p for p in rows(trial_balance_sql(SCHEMA, set(source_tables()))) if p["period"].month == 2
    ]
    assert feb[0]["debits"] - feb[0]["credits"] == 1


def test_unregistered_entities_are_skipped_and_their_old_views_dropped(sample_tables):
    analytics_views_apply(tables=sample_tables, targets=R1)
    only_invoices = {"Invoice": sample_tables["Invoice"], "Customer": sample_tables["Customer"]}
    report = analytics_views_apply(tables=only_invoices, targets=R1)
    made = {t for t, _ in report.plan.views}
    assert made == {
        "invoice",
        "invoice_line",
        "invoice_linked_txn",
        "invoice_line_bundle",
        "invoice_tax_line",
        "customer",
        "address",
    }
    assert f"{SCHEMA}.bill" in report.dropped
    with connection.cursor() as cursor:
        assert {t for s, t in our_views(cursor) if s == SCHEMA} == made
    # address is a union: it still reads Customer and Invoice, not the missing Vendor
    assert [a["id"] for a in rows(f"SELECT id FROM {SCHEMA}.address ORDER BY id")] == [
        "91",
        "92",
        "94",
    ]
