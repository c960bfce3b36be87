"""The admin in accountants' words: currency, thousands separators, their labels, their
time zone, the realm only when it tells rows apart, business data apart from machinery."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from quickbooks_sync.display import format_money
from quickbooks_sync.models import Company, Customer, Invoice
from quickbooks_sync.registry import customer_fields, invoice_fields

pytestmark = pytest.mark.django_db

REALM, OTHER = "4620816365", "9341453172"


def test_currency_comes_from_currency_ref():
    raw = {"Id": "1", "TotalAmt": 5, "CurrencyRef": {"value": "eur", "name": "Euro"}}
    assert invoice_fields(raw)["currency"] == "EUR"
    assert invoice_fields({"Id": "1"})["currency"] == ""  # single-currency companies
    assert customer_fields({"Id": "1", "CurrencyRef": {"value": "GBP"}})["currency"] == "GBP"


def test_format_money():
    assert format_money(Decimal("1234567.5"), "CAD") == "CAD 1,234,567.50"
    assert format_money(Decimal("0"), "") == "0.00"
    assert format_money(None, "EUR") == "-"


@pytest.fixture
def books():
    Company.objects.create(realm_id=REALM, name="Craig's Design")
    acme = Customer.objects.create(
        realm_id=REALM,
        qb_id="1",
        sync_token="0",
        qb_updated_at=datetime(2025, 1, 15, 23, 30, tzinfo=UTC),
        raw_data={"Id": "1"},
        display_name="Acme GmbH",
        balance=Decimal("12345.60"),
        currency="EUR",
    )
    for qb_id, voided in (("10", False), ("11", True)):
        Invoice.objects.create(
            realm_id=REALM,
            qb_id=qb_id,
            sync_token="0",
            qb_updated_at=timezone.now(),
            raw_data={"Id": qb_id},
            doc_number=f"INV-{qb_id}",
            customer_qb_id="1",
            total_amt=Decimal("0") if voided else Decimal("12345.60"),
            balance=Decimal("0") if voided else Decimal("2000"),
            currency="EUR",
            voided=voided,
        )
    return acme


def test_invoice_list_speaks_accounting(admin_client, books):
    page = admin_client.get(reverse("admin:quickbooks_sync_invoice_changelist")).content.decode()
    for label in ("Invoice no.", "Customer", "Date", "Due date", "Total", "Balance", "Status"):
        assert f">{label}<" in page or f">{label}</a>" in page, label
    assert "EUR 12,345.60" in page and "EUR 2,000.00" in page
    assert "Txn date" not in page and "Total amt" not in page and "Doc number" not in page
    assert "qbo-badge--void" in page  # voided is its own, unmistakable badge


def test_realm_column_only_with_several_companies(admin_client, books):
    url = reverse("admin:quickbooks_sync_invoice_changelist")
    assert "column-realm_id" not in admin_client.get(url).content.decode()
    Company.objects.create(realm_id=OTHER, name="Other Co")
    assert "column-realm_id" in admin_client.get(url).content.decode()


def test_invoice_and_customer_link_both_ways(admin_client, books):
    invoice = Invoice.objects.get(qb_id="10")
    page = admin_client.get(
        reverse("admin:quickbooks_sync_invoice_change", args=[invoice.pk])
    ).content.decode()
    assert reverse("admin:quickbooks_sync_customer_change", args=[books.pk]) in page
    assert "EUR 12,345.60" in page
    customer_page = admin_client.get(
        reverse("admin:quickbooks_sync_customer_change", args=[books.pk])
    ).content.decode()
    assert "customer_qb_id=1" in customer_page and "EUR 12,345.60" in customer_page


def test_voided_detail_says_so_in_words(admin_client, books):
    invoice = Invoice.objects.get(qb_id="11")
    page = admin_client.get(
        reverse("admin:quickbooks_sync_invoice_change", args=[invoice.pk])
    ).content.decode()
    assert "Voided in QuickBooks" in page


def test_times_are_shown_in_the_company_time_zone(admin_client, books, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    page = admin_client.get(
        reverse("admin:quickbooks_sync_customer_change", args=[books.pk])
    ).content.decode()
    assert "Jan. 15, 2025, 3:30 p.m." in page  # 23:30 UTC


def test_index_groups_business_data_apart_from_operations(admin_client, books):
    apps = admin_client.get(reverse("admin:index")).context["app_list"]
    names = [app["name"] for app in apps]
    assert names[:2] == ["Accounting data (from QuickBooks)", "Sync operations"]
    data = {m["object_name"] for m in apps[0]["models"]}
    ops = {m["object_name"] for m in apps[1]["models"]}
    assert data == {"Customer", "Invoice"}
    assert {"Token", "SyncState", "Company", "WebhookDelivery"} <= ops
